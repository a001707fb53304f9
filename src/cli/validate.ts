import chalk from 'chalk';
import { EXIT, formatProblem } from '../errors.js';
import { loadLabFile } from '../lab/load.js';
import { checkLab } from '../lab/resolve.js';
import { labFiles } from './common.js';

export async function run(args: string[]): Promise<number> {
  let bad = 0;
  for (const file of labFiles(args)) {
    const { model, problems } = checkLab(loadLabFile(file));
    if (!model) {
      bad++;
      for (const p of problems) process.stderr.write(formatProblem(p) + '\n');
      continue;
    }
    const tests = model.stages.reduce((n, s) => n + s.tests.length, 0);
    process.stdout.write(
      `${chalk.green('ok')} ${file}: ${model.nodes.length} nodes, ${model.links.length} links, ${model.stages.length} stages, ${tests} tests\n`,
    );
  }
  return bad ? EXIT.usage : EXIT.ok;
}

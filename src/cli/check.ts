import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import { loadLab } from '../lab/resolve.js';
import { testLine } from '../report/console.js';
import { checkStage } from '../run/suite.js';
import { findInstance } from './common.js';
import { exitFor, report, testPreflight, type TestOpts } from './test.js';

/**
 * The workshop grader: runs one stage's tests against a lab that is already up,
 * applying nothing. Default stage: the last one applied (by `up --stage`), else the first.
 */
export async function run(labArg: string, opts: Pick<TestOpts, 'stage' | 'artifacts' | 'reporter' | 'html'>): Promise<number> {
  testPreflight();
  const state = await findInstance(labArg);
  const model = loadLab(state.file);
  const stage = opts.stage ?? state.stages.at(-1) ?? model.stages[0]?.name;
  if (!stage) throw new UsageError(`lab '${model.name}' has no stages, so there are no tests to check`);
  if (!model.stages.some((s) => s.name === stage)) throw new UsageError(`lab '${model.name}' has no stage '${stage}'`, `stages: ${model.stages.map((s) => `'${s.name}'`).join(', ')}`);
  const reporter = opts.reporter ?? 'console';
  if (reporter === 'console') process.stdout.write(chalk.bold(`checking '${state.instance}' against the tests of stage '${stage}'\n`));
  const started = new Date();
  const lab = Lab.attach(state.instance, model);
  const run = await withSignals((signal) => checkStage(lab, model, stage, {
    artifacts: opts.artifacts, signal, onResult: reporter === 'console' ? (r) => process.stdout.write(testLine(r) + '\n') : undefined,
  }));
  await report([run], reporter, { html: opts.html, artifacts: opts.artifacts, started, applied: { stage: state.stages.at(-1) } });
  return exitFor([run]);
}

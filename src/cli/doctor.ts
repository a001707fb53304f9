import chalk from 'chalk';
import { EXIT } from '../errors.js';
import { isRoot, kernelFeatures, toolVersion, TOOLS } from '../engine/capabilities.js';
import { stateDir } from '../engine/state.js';

export async function run(opts: { json?: boolean }): Promise<number> {
  const root = isRoot();
  const tools = Object.fromEntries(await Promise.all(Object.entries(TOOLS).map(async ([t, argv]) => [t, (await toolVersion(argv)) ?? null] as const)));
  const qdiscs = await kernelFeatures();
  const ok = root && !!tools.ip && !!tools.nsenter;
  if (opts.json) {
    process.stdout.write(JSON.stringify({ root, tools, qdiscs, stateDir: stateDir(), node: process.version, ok }, null, 2) + '\n');
    return ok ? EXIT.ok : EXIT.environment;
  }
  const mark = (b: boolean) => (b ? chalk.green('yes') : chalk.red('no'));
  const lines = [`root:        ${mark(root)}${root ? '' : '  (up, test and cleanup need root)'}`, `node:        ${process.version}`];
  for (const [t, v] of Object.entries(tools)) lines.push(`${(t + ':').padEnd(12)} ${v ?? chalk.red('missing')}`);
  for (const [q, v] of Object.entries(qdiscs)) lines.push(`${('qdisc ' + q + ':').padEnd(12)} ${mark(v)}${v ? '' : `  (labs and tests needing ${q} are skipped)`}`);
  if (!root) lines.push('(qdiscs are only probed as root; without it only loaded modules are seen)');
  lines.push(`state dir:   ${stateDir()}`);
  process.stdout.write(lines.join('\n') + '\n');
  return ok ? EXIT.ok : EXIT.environment;
}

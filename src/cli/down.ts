import { UsageError } from '../errors.js';
import { RealRunner } from '../engine/runner.js';
import { listStates } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { findInstance } from './common.js';

export async function run(lab: string | undefined, opts: { all?: boolean }): Promise<number> {
  if (!lab && !opts.all) throw new UsageError('name the lab to take down, or use --all', "'nslab ls' lists the running labs");
  const states = opts.all ? listStates() : [await findInstance(lab!)];
  const runner = new RealRunner();
  for (const s of states) {
    await teardown(s, runner);
    process.stdout.write(`down lab '${s.instance}' (${s.namespaces.length} namespaces)\n`);
  }
  if (opts.all && !states.length) process.stdout.write('no labs are up\n');
  return 0;
}

import { UsageError } from '../errors.js';
import { requireRoot } from '../engine/capabilities.js';
import { RealRunner } from '../engine/runner.js';
import { listStates, ownerAlive } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { findInstance } from './common.js';

export async function run(lab: string | undefined, opts: { all?: boolean }): Promise<number> {
  if (!lab && !opts.all)
    throw new UsageError('name the lab to take down, or use --all', "'nslab ls' lists the running labs");
  requireRoot('taking a lab down');
  let states = opts.all ? listStates() : [await findInstance(lab!)];
  if (opts.all) {
    // --all means the labs left up, and those whose owner is gone; never a lab a live run is using
    for (const s of states.filter((x) => x.status !== 'up' && ownerAlive(x)))
      process.stdout.write(`left alone: lab '${s.instance}' (${s.status} by pid ${s.owner.pid}, which is running)\n`);
    states = states.filter((x) => x.status === 'up' || !ownerAlive(x));
  }
  const runner = new RealRunner();
  for (const s of states) {
    await teardown(s, runner);
    process.stdout.write(`down lab '${s.instance}' (${s.namespaces.length} namespaces)\n`);
  }
  if (opts.all && !states.length) process.stdout.write('no labs are up\n');
  return 0;
}

import { UsageError } from '../errors.js';
import { requireRoot } from '../engine/capabilities.js';
import { RealRunner } from '../engine/runner.js';
import { listStates, ownerAlive } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { findInstance } from './common.js';
import { downRootless, rootlessGone, rootlessHere } from './rootless.js';

export async function run(lab: string | undefined, opts: { all?: boolean }): Promise<number> {
  if (!lab && !opts.all)
    throw new UsageError('name the lab to take down, or use --all', "'nslab ls' lists the running labs");
  const rootless = rootlessHere();
  if (!rootless) requireRoot('taking a lab down');
  let states = opts.all ? listStates() : [await findInstance(lab!)];
  if (opts.all) {
    // --all means the labs left up, and those whose owner is gone; never a lab a live run is using
    for (const s of states.filter((x) => x.status !== 'up' && ownerAlive(x)))
      process.stdout.write(`left alone: lab '${s.instance}' (${s.status} by pid ${s.owner.pid}, which is running)\n`);
    states = states.filter((x) => x.status === 'up' || !ownerAlive(x));
  }
  const runner = new RealRunner();
  for (const s of states) {
    if (rootless) {
      // its namespaces are in its holder alone: ending the holder ends them (src/engine/holder.ts)
      const gone = rootlessGone(s);
      await downRootless(s);
      process.stdout.write(
        gone
          ? `removed the record of lab '${s.instance}' (its holder had already ended, and its namespaces with it)\n`
          : `down lab '${s.instance}' (${s.namespaces.length} namespaces)\n`,
      );
      continue;
    }
    await teardown(s, runner);
    process.stdout.write(`down lab '${s.instance}' (${s.namespaces.length} namespaces)\n`);
  }
  if (opts.all && !states.length) process.stdout.write('no labs are up\n');
  return 0;
}

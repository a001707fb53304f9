import { UsageError } from '../errors.js';
import { requireRoot } from '../engine/capabilities.js';
import { RealRunner } from '../engine/runner.js';
import { listStates, ownerAlive } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { findInstance, findInstances } from './common.js';
import { downRootless, rootlessGone, rootlessHere } from './rootless.js';
import { downStudents, requireTrainer, studentLabs } from './trainer.js';

export async function run(
  lab: string | undefined,
  opts: { all?: boolean; instance?: string; user?: string },
): Promise<number> {
  if (!lab && !opts.all && opts.instance === undefined && opts.user === undefined)
    throw new UsageError('name the lab to take down, or use --all', "'nslab ls' lists the running labs");
  requireTrainer(opts.user, 'down');
  const rootless = rootlessHere();
  if (!rootless) requireRoot('taking a lab down');
  // as root with --instance or --user: other users' rootless labs too, each taken down as its user (trainer.ts)
  const students =
    !rootless && (opts.instance !== undefined || opts.user !== undefined)
      ? await studentLabs(lab, opts.instance, opts.user)
      : [];
  if (opts.user !== undefined && !students.length)
    throw new UsageError(
      `user '${opts.user}' has no lab left up${lab !== undefined ? ` matching '${lab}'` : ''}${opts.instance !== undefined ? ` with an instance matching '${opts.instance}'` : ''}`,
      "'nslab ls --all-users' lists every user's labs",
    );
  if (opts.user !== undefined && opts.instance === undefined && students.length > 1)
    throw new UsageError(
      `user '${opts.user}' has ${students.length} labs matching '${lab ?? ''}': ${students.map((s) => s.state.instance).join(', ')}`,
      `name the instance, or take them all down with --instance '*'`,
    );
  let states =
    opts.user !== undefined
      ? []
      : opts.instance !== undefined
        ? await findInstances(lab, opts.instance).catch((e: unknown) => {
            if (students.length && e instanceof UsageError) return [];
            throw e;
          })
        : opts.all
          ? listStates()
          : [await findInstance(lab!)];
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
  return students.length ? downStudents(students) : 0;
}

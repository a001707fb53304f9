import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { RealRunner } from '../engine/runner.js';
import { ownerAlive, type LabState } from '../engine/state.js';
import { withSignals } from '../engine/signals.js';
import { privateArtifacts } from '../run/artifacts.js';
import { teardown } from '../engine/teardown.js';
import { stagesUpTo } from '../plan/build.js';
import { loadLab } from '../lab/resolve.js';
import type { LabModel } from '../lab/model.js';
import { isFile } from './common.js';
import { rootlessHere, rootlessOne, sameInside } from './rootless.js';
import { labsToActOn, requireTrainer, resetStudents } from './trainer.js';

/**
 * `nslab reset LAB [--stage S]`: the lab as `up --stage S` makes it, under the
 * same instance name. Hand-made changes cannot be undone one by one (nslab
 * does not know them), so the lab is taken down and brought up again: shells
 * and programs inside its nodes end. Without --stage, the stages it was up at.
 * With --instance PATTERN, every lab left up whose instance matches (as check
 * grades them), one after the other.
 */
export async function run(
  labArg: string | undefined,
  opts: { stage?: string; instance?: string; user?: string },
): Promise<number> {
  if (labArg === undefined && opts.instance === undefined && opts.user === undefined)
    throw new UsageError(
      'name the lab to reset, or the instances with --instance PATTERN',
      "'nslab ls' lists the running labs",
    );
  requireTrainer(opts.user, 'reset');
  // without privilege: by the nslab inside the lab's holder, which takes the lab down and up in there
  if (rootlessHere()) return sameInside(await rootlessOne(labArg, opts.instance, 'reset'));
  requireRoot('resetting a lab');
  // as root with --instance or --user: other users' rootless labs too, each reset as its user (trainer.ts)
  const { students, states } = await labsToActOn(labArg, opts);
  // every lab file and stage is checked before anything is taken down
  const given = labArg !== undefined && isFile(labArg) ? labArg : undefined;
  const jobs = states.map((state) => ({ state, ...resettable(state, given, opts.stage) }));
  for (const { state, model, stage } of jobs) {
    const id = state.instance === state.lab ? undefined : state.instance.slice(state.lab.length + 1);
    await teardown(state, new RealRunner());
    const lab = await withSignals((signal) => Lab.up(model, { id, stage, signal, artifacts: privateArtifacts }));
    process.stdout.write(
      `${chalk.green('reset')} lab '${lab.instance}'${lab.state.stages.length ? `, stages applied: ${lab.state.stages.join(', ')}` : ' to its base (no stage applied)'}\n`,
    );
  }
  return students.length ? resetStudents(students, opts.stage) : 0;
}

/** The model and stage a lab is reset to; a usage error, before anything changes, where it cannot be. */
function resettable(
  state: LabState,
  file: string | undefined,
  wanted: string | undefined,
): { model: LabModel; stage: string | undefined } {
  if (state.status !== 'up' && ownerAlive(state))
    throw new UsageError(
      `lab '${state.instance}' is ${state.status} by pid ${state.owner.pid}, which is running`,
      'reset only a lab left up with nslab up',
    );
  const model = loadLab(file ?? state.file);
  if (model.name !== state.lab) throw new UsageError(`${model.file} is lab '${model.name}', not '${state.lab}'`);
  const stage = wanted ?? state.stages.at(-1);
  stagesUpTo(model, stage); // an unknown stage is a usage error, here
  return { model, stage };
}

import chalk from 'chalk';
import { existsSync, statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { RealRunner } from '../engine/runner.js';
import { ownerAlive } from '../engine/state.js';
import { withSignals } from '../engine/signals.js';
import { teardown } from '../engine/teardown.js';
import { stagesUpTo } from '../plan/build.js';
import { loadLab } from '../lab/resolve.js';
import { findInstance } from './common.js';

/**
 * `nslab reset LAB [--stage S]`: the lab as `up --stage S` makes it, under the
 * same instance name. Hand-made changes cannot be undone one by one (nslab
 * does not know them), so the lab is taken down and brought up again: shells
 * and programs inside its nodes end. Without --stage, the stages it was up at.
 */
export async function run(labArg: string, opts: { stage?: string }): Promise<number> {
  requireRoot('resetting a lab');
  const state = await findInstance(labArg);
  if (state.status !== 'up' && ownerAlive(state))
    throw new UsageError(`lab '${state.instance}' is ${state.status} by pid ${state.owner.pid}, which is running`, 'reset only a lab left up with nslab up');
  // the lab file is checked, and the stage found, before anything is taken down
  const model = loadLab(existsSync(labArg) && statSync(labArg).isFile() ? labArg : state.file);
  if (model.name !== state.lab) throw new UsageError(`${model.file} is lab '${model.name}', not '${state.lab}'`);
  const stage = opts.stage ?? state.stages.at(-1);
  stagesUpTo(model, stage); // an unknown stage is a usage error, here
  const id = state.instance === state.lab ? undefined : state.instance.slice(state.lab.length + 1);
  await teardown(state, new RealRunner());
  const lab = await withSignals((signal) => Lab.up(model, { id, stage, signal }));
  process.stdout.write(`${chalk.green('reset')} lab '${lab.instance}'${lab.state.stages.length ? `, stages applied: ${lab.state.stages.join(', ')}` : ' to its base (no stage applied)'}\n`);
  return 0;
}

// A rootless lab brought up from outside its holder, through the holder's channel (holder-channel.ts): the same
// plan and the same steps as root's `up` (Lab.up), run by the same executeSteps, with the holder's PID 1 starting
// each program inside. Only for labs without services or files (wantsInnerNslab): a service must be a child of the
// holder's PID namespace that an nslab inside watches, and files per node need root. Nothing here unwinds a
// failure: the caller ends the holder, and everything of the lab ends with it.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { LabModel } from '../lab/model.js';
import type { Plan } from '../plan/step.js';
import { executeSteps } from './apply.js';
import { writeTableNames } from './etc-netns.js';
import { HOLDER_STATE_DIR, type Holder } from './holder.js';
import { preflight } from './lab.js';
import { wantsOwnMounts } from './node-mounts.js';
import type { Runner } from './runner.js';
import { claim, creatingState, inStateDir, type LabState } from './state.js';

/** What root's `up` checks before it creates anything (its programs, the kernel's features), but root itself. */
export const preflightInHolder = (model: LabModel, plan: Plan) => preflight(model, plan.steps, false);

/**
 * Whether a lab needs an nslab inside its holder to come up: a node of it would get a mount namespace of its own as
 * root (node-mounts.ts), for its services or files.
 */
export const wantsInnerNslab = (model: LabModel): boolean => model.nodes.some((n) => wantsOwnMounts(model, n.name));

/**
 * Brings the planned lab up inside `holder` through `runner` (the holder's channel; checked with preflightInHolder
 * once the holder runs), then writes the lab's record inside the holder (its /run/nslab, where the nslab that
 * `check`, `explain` and `reset` run inside finds it), as the nslab inside would have. Returns that record.
 */
export async function upInHolder(
  model: LabModel,
  plan: Plan,
  holder: Holder,
  runner: Runner,
  signal: AbortSignal,
): Promise<LabState> {
  const names = plan.tableNames ?? [];
  const state: LabState = {
    ...creatingState(model, plan),
    logDir: join(HOLDER_STATE_DIR, 'logs', plan.instance),
    ...(names.length ? { etc: names.map((t) => t.ns) } : {}),
  };
  // the holder's own /etc/netns (holder.ts), seen from here
  for (const t of names) writeTableNames(t, () => {}, `/proc/${holder.pid}/root`);
  await executeSteps(plan.steps, runner, availableParallelism(), signal, new Set());
  signal.throwIfAborted();
  state.status = 'up';
  inStateDir(`/proc/${holder.pid}/root${HOLDER_STATE_DIR}`, () => claim(state));
  return state;
}

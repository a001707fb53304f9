// Labs whose probing has ended (closeProbes: before down, or when a run hands
// the lab back to the user). Nothing of nslab's starts in them any more: a
// capture or agent started after that would keep a kept lab's run from exiting,
// or hold a namespace that down has just deleted.
import type { Lab } from '../engine/lab.js';

const closed = new WeakSet<Lab>();

/** From now on, no capture or probe agent starts in this lab (this handle of it: `Lab.attach` gives a fresh one). */
export function markClosed(lab: Lab): void {
  closed.add(lab);
}

/** Throws if the lab's probing has ended: `what` is what was about to start there. */
export function refuseIfClosed(lab: Lab, what: string): void {
  if (closed.has(lab))
    throw new Error(
      `${what} not started: the probes of lab '${lab.instance}' are closed (the lab is being taken down or handed back)`,
    );
}

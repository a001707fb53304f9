// Starting the reapers of this process's labs (reaper.ts is the reaper itself).
//
// A reaper is detached: in a session of its own, so neither a Ctrl-C at the
// terminal nor a signal to the run's process group reaches it. Except in one
// window: between the fork and the child's setsid() the child is still in this
// process's group, and a loaded machine may not run it for milliseconds. A
// signal to the group then ends the new reaper too (seen in 1 of 23 interrupts
// that fell while a lab was being created). So when this process exits (vitest
// ends a worker so, mid-bring-up or mid-teardown), every lab of it that still
// has a record gets a new reaper if its own is not running: the signal that
// ends this process has been delivered by then, and reaches no process made
// after it.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isRunning, startTime } from '../engine/proc.js';
import { readState } from '../engine/state.js';

/** dist/api/reaper.js, found from src/api and dist/api alike (as the probe helper is). */
const REAPER = fileURLToPath(new URL('../../dist/api/reaper.js', import.meta.url));

interface Owner {
  pid: number;
  start?: string;
}

/** instance -> its lab's owner (this process) and its reaper. */
const reapers = new Map<string, { owner: Owner; pid: number; start?: string }>();

function launch(owner: Owner, instance: string): { pid: number; start?: string } {
  const child = spawn(process.execPath, [REAPER, String(owner.pid), owner.start ?? '', instance], {
    detached: true,
    stdio: 'ignore',
  });
  child.on('error', () => {
    /* no reaper: `nslab cleanup` still removes the lab once this process is gone */
  });
  child.unref();
  return { pid: child.pid ?? -1, start: child.pid ? startTime(child.pid) : undefined };
}

function atExit(): void {
  for (const [instance, r] of reapers) {
    if (r.pid > 0 && isRunning(r.pid, r.start)) continue;
    const s = readState(instance);
    if (s && s.owner.pid === r.owner.pid && s.owner.start === r.owner.start) launch(r.owner, instance);
  }
}

/** Starts the reaper of a lab whose record was just written. */
export function startReaper(owner: Owner, instance: string): void {
  if (!reapers.size) process.on('exit', atExit);
  reapers.set(instance, { owner, ...launch(owner, instance) });
}

/** The lab is down, or its bring-up unwound: its reaper exits by itself (no record), and none is needed at exit. */
export function reaped(instance: string): void {
  if (reapers.delete(instance) && !reapers.size) process.off('exit', atExit);
}

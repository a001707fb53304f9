// Processes nslab started, identified by pid and start time so that a reused
// pid is never mistaken for ours (and never killed).
import { readFileSync } from 'node:fs';

/** The kernel's start time of a process (clock ticks since boot), or undefined if it is gone. */
export function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces and parentheses: fields start after the last ')'
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isSame(pid: number, start: string | undefined): boolean {
  return start !== undefined && startTime(pid) === start;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a process we started: SIGTERM, then SIGKILL after a grace period. Only if it is still the same process. */
export async function stopProcess(pid: number, start: string | undefined, graceMs = 1000): Promise<void> {
  if (!isSame(pid, start)) return;
  try { process.kill(pid, 'SIGTERM'); } catch { return; }
  for (let t = 0; t < graceMs; t += 20) {
    await sleep(20);
    if (!isSame(pid, start)) return;
  }
  if (isSame(pid, start)) try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

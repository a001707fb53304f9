// Processes: those nslab started itself, identified by pid and start time so
// that a reused pid is never mistaken for ours; and the processes of a lab,
// which are exactly the processes inside its namespaces (what `ip netns pids`
// reports), found through /proc without spawning anything.
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/** The kernel's start time of a process (clock ticks since boot) and its state letter, or undefined if it is gone. */
function stat(pid: number): { start: string; state: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name may contain spaces and parentheses: fields start after the last ')'
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, start: f[19]! };
  } catch {
    return undefined;
  }
}

export function startTime(pid: number): string | undefined {
  return stat(pid)?.start;
}

export function isSame(pid: number, start: string | undefined): boolean {
  return start !== undefined && startTime(pid) === start;
}

/** The same process, and not a zombie (one that has ended, its parent not having collected it yet). */
export function isRunning(pid: number, start: string | undefined): boolean {
  const s = stat(pid);
  return !!s && start !== undefined && s.start === start && s.state !== 'Z';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Proc {
  pid: number;
  start: string | undefined;
}

let nsfsDev: number | undefined;
/**
 * The inode of a named network namespace (/run/netns/NAME), or undefined if it does not exist or is no namespace (not
 * on nsfs).
 */
export function netnsInode(ns: string): number | undefined {
  try {
    nsfsDev ??= statSync('/proc/self/ns/net').dev;
    const st = statSync(`/run/netns/${ns}`);
    return st.dev === nsfsDev ? st.ino : undefined;
  } catch {
    return undefined;
  }
}

/** Every process whose network namespace is one of these (by inode), with its start time. */
export function processesIn(inodes: Set<number>): Proc[] {
  if (!inodes.size) return [];
  const out: Proc[] = [];
  const inside = (pid: string) => {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/ns/net`));
      return !!m && inodes.has(Number(m[1]));
    } catch {
      return false;
    } // gone, or a kernel thread
  };
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid || !inside(d)) continue;
    // a match is looked at again between two readings of its start time: a pid reused meanwhile is not taken for it
    const start = startTime(Number(d));
    if (start !== undefined && inside(d) && startTime(Number(d)) === start) out.push({ pid: Number(d), start });
  }
  return out;
}

/**
 * Stops processes: SIGTERM to all, then SIGKILL to those still there after the
 * grace period. A process is only signalled while its pid still has the start
 * time it had when it was found.
 */
export async function stopAll(procs: Proc[], graceMs = 1000): Promise<void> {
  // a zombie has already let go of its namespace; only its parent can reap it
  const live = () =>
    procs.filter((p) => {
      const s = stat(p.pid);
      return !!s && s.start === p.start && s.state !== 'Z';
    });
  let left = live();
  if (!left.length) return;
  for (const p of left)
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      /* gone */
    }
  for (let t = 0; t < graceMs && (left = live()).length; t += 20) await sleep(20);
  for (const p of live())
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  // a SIGKILLed process is gone from /proc once reaped; wait briefly so the namespace is free when we return
  for (let t = 0; t < 1000 && live().length; t += 10) await sleep(10);
}

// Whether a lab's services are alive. A service that dies mid-run (a daemon
// with no error handler dies of the reset that ends a tcp probe) would
// otherwise show only as later tests timing out or refused, in an order that
// looks flaky. The engine asks at every test's end and at every stage
// boundary; a death is described with how the service ended (the exit status
// or signal is known to the process that started it; another only sees that
// the process is gone), when, and how its log ends.
import { isRunning } from './proc.js';
import { describeExit, type Exit } from './service-logs.js';
import type { ServiceState } from './state.js';

/** A service found dead: which, how it ended, when (ISO time). */
export interface Death {
  node: string;
  service: string;
  pid: number;
  /** How it ended, when this process started it (undefined: another process did; only its absence is known). */
  exit?: Exit;
  /** When it ended (its exit seen), or when it was first found gone. */
  at: string;
  /** The lab's log of the service (gone with the lab: keep a copy before citing it). */
  log: string;
}

/**
 * What the engine knows about its services beyond the state file: the exits it saw, the services stopped on purpose
 * (a stage's `stop`: marked in the state), and the deaths found but not yet reported by a test.
 */
export class Liveness {
  /** Exits seen, by pid. */
  private exits = new Map<number, { exit: Exit; at: string }>();
  /** Deaths found, by pid (a pid is one run of one service). */
  private found = new Map<number, { death: Death; reported: boolean }>();

  /** The pids this process started, and how each ends. */
  private watched = new Map<number, Promise<unknown>>();

  /** Remembers how a started service ends. */
  watch(pid: number, exited: Promise<Exit>): void {
    this.watched.set(
      pid,
      exited.then((exit) => this.exits.set(pid, { exit, at: new Date().toISOString() })),
    );
  }

  /** Waits at most `ms` for a service of ours to end (after a signal: one that dies of it is then seen dead). */
  async settle(pid: number, ms: number): Promise<void> {
    const w = this.watched.get(pid);
    if (w) await Promise.race([w, new Promise((r) => setTimeout(r, ms))]);
  }

  /** The services that should run and do not, as of now. */
  async dead(services: ServiceState[]): Promise<Death[]> {
    // a service of ours that is gone from /proc (or a zombie) has its exit event on the way: wait for it, briefly
    const ending = services
      .filter((s) => this.watched.has(s.pid) && !this.exits.has(s.pid) && !isRunning(s.pid, s.start))
      .map((s) => this.watched.get(s.pid)!);
    if (ending.length) await Promise.race([Promise.all(ending), new Promise((r) => setTimeout(r, 500))]);
    const out: Death[] = [];
    for (const s of services) {
      if (s.stopped) continue;
      const seen = this.exits.get(s.pid);
      if (!seen && isRunning(s.pid, s.start)) continue;
      let f = this.found.get(s.pid);
      if (f && seen && !f.death.exit) Object.assign(f.death, { exit: seen.exit, at: seen.at });
      if (!f) {
        f = {
          death: {
            node: s.node,
            service: s.name,
            pid: s.pid,
            ...(seen ? { exit: seen.exit } : {}),
            at: seen?.at ?? new Date().toISOString(),
            log: s.log,
          },
          reported: false,
        };
        this.found.set(s.pid, f);
      }
      out.push(f.death);
    }
    return out;
  }

  /** For a test that just ended: the services dead now, and those found dead earlier that no test has reported yet. */
  async forTest(services: ServiceState[]): Promise<Death[]> {
    const now = await this.dead(services);
    const earlier = [...this.found.values()].filter((f) => !f.reported && !now.includes(f.death)).map((f) => f.death);
    for (const f of this.found.values()) f.reported = true;
    return [...earlier, ...now];
  }
}

/** One line: `service 'svcd' of node 'server' exited (exit status 1) at 2026-...Z`. */
export function deathLine(d: Death): string {
  const how = d.exit ? `exited (${describeExit(d.exit)})` : 'is no longer running (another nslab process started it)';
  return `service '${d.service}' of node '${d.node}' ${how} at ${d.at}`;
}

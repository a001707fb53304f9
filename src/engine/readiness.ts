// A service's `ready`: when a service started by the lab can be met. Without
// it a test may run before the daemon has bound its port and read "refused"
// or "no reply" (tests passed only because probes happened to run late
// enough). nslab waits, at most the timeout, for one condition, checked every
// READY_POLL_MS: a TCP port listening or a UDP port bound in the node (read
// from /proc/PID/net/*: the service's own network namespace), a line of its
// log matching a regular expression, or a command that exits 0 in the node.
// The wait is measured; a service that exits meanwhile, or is not ready in
// time, fails the bring-up (or the stage) with its log.
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import type { ReadyModel } from '../lab/model.js';
import type { Runner } from './runner.js';

const READY_POLL_MS = 50;
/** How much of the end of a log a `log:` condition reads each time. */
const LOG_BYTES = 1 << 20;

/** The local ports of a /proc/net/{tcp,tcp6,udp,udp6} table; tcp: the listening ones only. */
export function portsOf(table: string, kind: 'tcp' | 'udp'): number[] {
  const out: number[] = [];
  for (const line of table.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 4 || (kind === 'tcp' && cols[3] !== '0A')) continue; // 0A: TCP_LISTEN
    const port = parseInt(cols[1]!.split(':').pop()!, 16);
    if (Number.isInteger(port)) out.push(port);
  }
  return out;
}

/** Whether the port is bound in the network namespace of a process; undefined when its tables cannot be read. */
export function portBound(pid: number, kind: 'tcp' | 'udp', port: number): boolean | undefined {
  let read = false;
  for (const f of kind === 'tcp' ? ['tcp', 'tcp6'] : ['udp', 'udp6']) {
    try {
      if (portsOf(readFileSync(`/proc/${pid}/net/${f}`, 'utf8'), kind).includes(port)) return true;
      read = true;
    } catch {
      /* no IPv6 in the kernel, or the process is gone */
    }
  }
  return read ? false : undefined;
}

function logEnd(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, LOG_BYTES);
    const buf = Buffer.alloc(n);
    const got = readSync(fd, buf, 0, n, size - n);
    return buf.subarray(0, got).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** What the condition is, for messages: `tcp port 7000 listening`. */
export function readyText(r: ReadyModel): string {
  switch (r.kind) {
    case 'tcp':
      return `tcp port ${r.port} listening`;
    case 'udp':
      return `udp port ${r.port} bound`;
    case 'log':
      return `a log line matching /${r.pattern}/`;
    case 'command':
      return `'${r.argv.join(' ')}' exiting 0`;
  }
}

export interface ReadyOutcome {
  ready: boolean;
  ms: number;
}

/**
 * Waits until the service is ready, it has exited (`exited` resolves), or the timeout passes. Returns whether it became
 * ready and the time waited.
 */
export async function waitReady(
  r: ReadyModel,
  svc: { pid: number; ns: string; log: string },
  runner: Runner,
  exited: Promise<unknown>,
  signal?: AbortSignal,
): Promise<ReadyOutcome> {
  const t0 = performance.now();
  let gone = false;
  void exited.then(() => (gone = true));
  const re = r.kind === 'log' ? new RegExp(r.pattern, 'm') : undefined;
  const check = async (): Promise<boolean> => {
    switch (r.kind) {
      case 'tcp':
      case 'udp':
        return portBound(svc.pid, r.kind, r.port) === true;
      case 'log':
        try {
          return re!.test(logEnd(svc.log));
        } catch {
          return false;
        }
      case 'command': {
        const left = r.timeoutMs - (performance.now() - t0);
        const res = await runner.run({ argv: r.argv, ns: svc.ns, etc: true, timeoutMs: Math.max(100, left) });
        return res.exitCode === 0;
      }
    }
  };
  for (;;) {
    if (await check()) return { ready: true, ms: performance.now() - t0 };
    if (gone || signal?.aborted || performance.now() - t0 >= r.timeoutMs)
      return { ready: false, ms: performance.now() - t0 };
    await new Promise((res) => setTimeout(res, READY_POLL_MS));
  }
}

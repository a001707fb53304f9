// A test that addresses a lab's own service (`listen: false`) may run before
// that service has bound its port: `up` starts the services and gives them
// 150 ms to fail, and a program can take longer than that to start on a busy
// machine. Seen in a container running the suite: node's UDP echo bound its
// socket after the test's datagram had come and gone, and the test read "no
// reply". So such a test first waits, at most START_MS, until the port is
// bound (tcp: listening) in the node that owns the target, or until every
// service of that node holds a socket (they are up, and none takes this port:
// a test expecting "refused" is not kept waiting), or until they have exited.
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import { portBound } from '../engine/readiness.js';
import type { ServiceState } from '../engine/state.js';

export { portsOf } from '../engine/readiness.js';

export const START_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function holdsSocket(pid: number): boolean {
  try {
    return readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/** Waits until a test of a node's own service can meet it (see above); returns how long it waited, in ms. */
export async function serviceReady(
  services: ServiceState[],
  kind: 'tcp' | 'udp',
  port: number,
  signal?: AbortSignal,
): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < START_MS && !signal?.aborted) {
    const alive = services.filter((s) => existsSync(`/proc/${s.pid}`));
    if (!alive.length) break;
    const bound = portBound(alive[0]!.pid, kind, port);
    if (bound !== false || alive.every((s) => holdsSocket(s.pid))) break;
    await sleep(20);
  }
  return performance.now() - t0;
}

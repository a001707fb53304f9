// throughput: iperf3 through the lab (server started on the target's node);
// the rate the receiver measured, against bounds. No packet capture here:
// capturing every packet of a bulk transfer would disturb what it measures.
import { rateBits } from '../plan/shaping.js';
import { ownerOf, randomPort, startListener, target } from './targets.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

/** Pure: bits per second the receiver saw, from `iperf3 -J` output. */
export function parseIperf(json: string): number | undefined {
  try {
    const j = JSON.parse(json) as { end?: { sum_received?: { bits_per_second?: number }; sum?: { bits_per_second?: number } } };
    return j.end?.sum_received?.bits_per_second ?? j.end?.sum?.bits_per_second;
  } catch {
    return undefined;
  }
}

const mbit = (bps: number) => `${(bps / 1e6).toFixed(2)}mbit`;

export const throughput: Probe = async ({ lab, model, test }) => {
  const s = test.spec as { from: string; to: string; seconds?: number; proto?: 'tcp' | 'udp'; ipv6?: boolean };
  const to = target(model, s.to, s.ipv6);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`throughput probe: ${to} is no address of a lab node`);
  const port = randomPort();
  const server = await startListener(lab, owner, ['iperf3', '-s', '-1', '--forceflush', '-p', String(port)], /Server listening/);
  let bps: number | undefined;
  let raw = '';
  try {
    // bounded: where the path is broken, iperf3 would otherwise wait for TCP's connect retries (minutes)
    const seconds = s.seconds ?? 2;
    const r = await lab.exec(s.from, ['iperf3', '-c', to, '-p', String(port), '-t', String(seconds), '-J', '--connect-timeout', '3000', ...(s.proto === 'udp' ? ['-u', '-b', '10G'] : [])], { timeoutMs: (seconds + 10) * 1000 });
    raw = r.stdout;
    bps = parseIperf(r.stdout);
  } finally {
    await server.stop();
  }
  const got = bps === undefined ? `no measurement (${raw.slice(0, 200)})` : mbit(bps);
  const judge = (e: ExpectT) => {
    const checks = [];
    if (e.rate?.min) checks.push(check('rate min', `>= ${e.rate.min}`, got, bps !== undefined && bps >= rateBits(e.rate.min)));
    if (e.rate?.max) checks.push(check('rate max', `<= ${e.rate.max}`, got, bps !== undefined && bps <= rateBits(e.rate.max)));
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, bps !== undefined && bps > 0));
    return checks;
  };
  return { checks: judge(test.expect), judge, facts: { rate: got } };
};

// throughput: a bulk transfer through the lab, from the source node's agent to
// a sink on the target's node; the rate the receiver measured (bytes from the
// first to the last that arrived, its first quarter left out), against bounds. No packet capture here:
// capturing every packet of a bulk transfer would disturb what it measures.
// Not iperf3: its 3.12 takes whole seconds only (`seconds: 0.5` became 0),
// and a test of a shaped link needs a fraction of one.
import { rateBits } from '../plan/shaping.js';
import { stopWatch } from '../capture/watch.js';
import { agentOf, randomPort } from './agent.js';
import { ownerOf, target } from './targets.js';
import { waitFor } from './wait.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

const mbit = (bps: number) => `${(bps / 1e6).toFixed(2)}mbit`;

/** Pure: bits per second from a receiver's count, if anything was measured. */
export function rateOf(bytes: number, seconds: number): number | undefined {
  return bytes > 0 && seconds > 0 ? (bytes * 8) / seconds : undefined;
}

export const throughput: Probe = async ({ lab, model, test }) => {
  const s = test.spec as { from: string; to: string; seconds?: number; proto?: 'tcp' | 'udp'; ipv6?: boolean };
  const to = target(model, s.to, s.ipv6);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`throughput probe: ${to} is no address of a lab node`);
  const proto = s.proto ?? 'tcp';
  const seconds = s.seconds ?? 1;
  await stopWatch(lab, { whenIdle: true }); // a bulk transfer is not captured: recording it would slow what it measures
  const wait = await waitFor(lab, model, s.from, proto);
  const [server, client] = await Promise.all([agentOf(lab, owner), agentOf(lab, s.from)]);
  const port = randomPort();
  await server.request('sink', { proto, port });
  const sent = await client.request<{ outcome: string; bytes: number; error?: string }>('bulk', {
    proto,
    host: to,
    port,
    ms: seconds * 1000,
    timeout: wait.ms,
  });
  // udp: the datagrams still queued on the way arrive within the lab's wait rule; it is waited for after the last
  const got = await server.request<{ bytes: number; seconds: number; total: number }>('sunk', {
    proto,
    port,
    timeout: proto === 'udp' ? 4 * wait.ms : wait.ms,
    quiet: wait.ms,
  });
  const bps = rateOf(got.bytes, got.seconds);
  const rate =
    bps === undefined
      ? `no measurement (sender: ${sent.outcome}${sent.error ? ` ${sent.error}` : ''}, ${got.bytes} bytes received)`
      : mbit(bps);
  const judge = (e: ExpectT) => {
    const checks = [];
    if (e.rate?.min)
      checks.push(check('rate min', `>= ${e.rate.min}`, rate, bps !== undefined && bps >= rateBits(e.rate.min)));
    if (e.rate?.max)
      checks.push(check('rate max', `<= ${e.rate.max}`, rate, bps !== undefined && bps <= rateBits(e.rate.max)));
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, bps !== undefined && bps > 0));
    return checks;
  };
  return {
    checks: judge(test.expect),
    judge,
    facts: {
      rate,
      sent:
        sent.outcome === 'sent'
          ? `${(sent.bytes / 1e6).toFixed(2)} MB in ${seconds} s`
          : `nothing: ${sent.outcome}${sent.error ? ` (${sent.error})` : ''}`,
      received: `${(got.total / 1e6).toFixed(2)} MB; rated on ${(got.bytes / 1e6).toFixed(2)} MB over ${got.seconds.toFixed(3)} s (the first quarter left out)`,
    },
  };
};

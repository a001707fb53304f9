// How long a probe waits before it may say "no reply": long enough that a
// reply the lab can deliver at all has arrived. Inside a lab a reply takes well
// under a millisecond; what can make it late is the lab's own shaping and a
// busy machine. The rule (docs/performance.md):
//
//   wait = 100 ms
//        + 10 x the slowest round trip measured in this lab so far
//        + for every link, both directions: its netem delay, and with a rate its
//          tbf queue bound (50 ms, tbf drops what would wait longer) plus one
//          full frame's time at that rate
//        + tcp over a lab with loss: 3 s, TCP's first two SYN retransmissions
//
// Every link counts, not only those on the expected path: the packet may take
// another (that is often the bug), and a request and its reply each cross a
// link at most once unless they loop, when no reply comes back at all.
// A test's own `timeout:` overrides the rule (an application's answer, a
// qdisc the lab's commands add, are beyond what the lab file declares).
import type { Lab } from '../engine/lab.js';
import { durationMs, rateBits } from '../lab/grammar.js';
import type { LabModel, LinkModel } from '../lab/model.js';
import { TBF_LATENCY_MS } from '../plan/shaping.js';

export const FLOOR_MS = 100;
export const RTT_FACTOR = 10;
const FRAME_BITS = 1514 * 8;
const SYN_RETRIES_MS = 3000;

export interface Wait {
  ms: number;
  why: string;
}

/** Pure: the wait for a lab's links and the slowest round trip measured in it. */
export function negativeWait(
  links: Pick<LinkModel, 'rate' | 'delay' | 'loss'>[],
  rttMs: number,
  kind: 'ping' | 'tcp' | 'udp',
): Wait {
  let shaping = 0;
  for (const l of links) {
    const oneWay =
      (l.delay ? durationMs(l.delay) : 0) + (l.rate ? TBF_LATENCY_MS + (FRAME_BITS / rateBits(l.rate)) * 1000 : 0);
    shaping += 2 * oneWay;
  }
  const lossy = kind === 'tcp' && links.some((l) => l.loss && parseFloat(l.loss) > 0);
  const ms = Math.ceil(FLOOR_MS + RTT_FACTOR * rttMs + shaping + (lossy ? SYN_RETRIES_MS : 0));
  const parts = [`${FLOOR_MS} ms`, `${RTT_FACTOR} x ${rttMs.toFixed(2)} ms measured`];
  if (shaping) parts.push(`${Math.ceil(shaping)} ms of link shaping`);
  if (lossy) parts.push(`${SYN_RETRIES_MS} ms for SYN retransmissions (lossy links)`);
  return { ms, why: `waited ${ms} ms (${parts.join(' + ')})` };
}

/** The wait a test sets itself (`timeout:`), which replaces the rule. */
export function givenWait(timeout: string): Wait {
  return { ms: durationMs(timeout), why: `waited ${timeout} (the test's timeout)` };
}

const slowest = new WeakMap<Lab, number>();

/** A round trip measured in the lab (an answered probe's). */
export function noteRtt(lab: Lab, ms: number): void {
  if (Number.isFinite(ms)) slowest.set(lab, Math.max(slowest.get(lab) ?? 0, ms));
}

/** The slowest round trip measured in the lab so far, if any. */
export function measuredRtt(lab: Lab): number | undefined {
  return slowest.get(lab);
}

/** Pure: the slowest round trip in ping's summary (`rtt min/avg/max/mdev = a/b/c/d ms`), in ms. */
export function parseRttMax(output: string): number | undefined {
  const m = /= [\d.]+\/[\d.]+\/([\d.]+)\/[\d.]+ ms/.exec(output);
  return m ? Number(m[1]) : undefined;
}

/**
 * How long a packet sent now may still be on its way: the wait rule without its floor (the links' shaping, the measured
 * round trips).
 */
export async function inFlightMs(lab: Lab, model: LabModel, node: string): Promise<number> {
  return (await waitFor(lab, model, node, 'udp')).ms - FLOOR_MS;
}

/**
 * The wait for a probe from `node`: from the slowest round trip measured in the
 * lab, else from one measured now (three echoes to the node's own loopback:
 * what the machine's load adds to any packet's trip).
 */
export async function waitFor(lab: Lab, model: LabModel, node: string, kind: 'ping' | 'tcp' | 'udp'): Promise<Wait> {
  let rtt = measuredRtt(lab);
  if (rtt === undefined) {
    const r = await lab.exec(node, ['ping', '-n', '-q', '-c', '3', '-i', '0.002', '127.0.0.1']);
    rtt = parseRttMax(r.stdout) ?? 0;
    noteRtt(lab, rtt);
  }
  return negativeWait(model.links, rtt, kind);
}

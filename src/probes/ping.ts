// ping: echo requests carrying a random payload pattern (ping -p), which
// survives NAT where the ICMP id may not; replies and paths from the captures.
// Echoes go 2 ms apart (root may send that fast; a reply inside a lab is back
// in well under a millisecond), and ping waits for missing replies as long as
// the lab's wait rule says (wait.ts), not a fixed second.
import { Evidence } from '../capture/evidence.js';
import { randomPattern, type NodePacket } from '../capture/tcpdump.js';
import { pathChecks } from './judge-paths.js';
import { labTraces, ownerOf, target } from './targets.js';
import { givenWait, noteRtt, parseRttMax, waitFor } from './wait.js';
import ipaddr from 'ipaddr.js';
import type { LabModel } from '../lab/model.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

interface PingSpec {
  from: string;
  to: string;
  count?: number;
  source?: string;
  interface?: string;
  timeout?: string;
  ipv6?: boolean;
}

/** Pure: transmitted and received counts from ping's summary line. */
export function parsePing(output: string): { transmitted: number; received: number } | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  return m ? { transmitted: Number(m[1]), received: Number(m[2]) } : undefined;
}

/**
 * Where `to` is the broadcast address of a subnet of one of the sender's interfaces (IPv4): that interface, and the
 * node at the other end of its link, which is the one the broadcast reaches (a link is a veth pair).
 */
export function broadcastTo(model: LabModel, from: string, to: string): { iface: string; peer?: string } | undefined {
  if (to.includes(':')) return undefined;
  const n = model.nodes.find((x) => x.name === from);
  for (const i of n?.interfaces ?? [])
    for (const c of i.addresses)
      if (
        c.family === 4 &&
        c.prefix < 31 &&
        ipaddr.IPv4.broadcastAddressFromCIDR(`${c.address}/${c.prefix}`).toString() === to
      ) {
        const l = model.links.find(
          (x) => (x.a.node === from && x.a.iface === i.name) || (x.b.node === from && x.b.iface === i.name),
        );
        const peer = l && (l.a.node === from && l.a.iface === i.name ? l.b.node : l.a.node);
        return { iface: i.name, ...(peer ? { peer } : {}) };
      }
  return undefined;
}

export const ping: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as PingSpec;
  const to = target(model, spec.to, spec.ipv6);
  // a ping to a subnet's broadcast address (ping -b): the neighbour on that link is the one that answers
  const broadcast = broadcastTo(model, spec.from, to);
  const owner = ownerOf(model, to) ?? broadcast?.peer ?? '(no lab node)';
  const v6 = to.includes(':');
  const count = spec.count ?? 3;
  const pattern = randomPattern(12);
  const via = spec.source ?? spec.interface;
  const wait = spec.timeout ? givenWait(spec.timeout) : await waitFor(lab, model, spec.from, 'ping');
  // no -w: with it, -c counts replies and an unanswered ping keeps sending; -W: the wait after the last echo
  const argv = [
    'ping',
    '-n',
    '-c',
    String(count),
    '-i',
    '0.002',
    '-W',
    (wait.ms / 1000).toFixed(3),
    '-p',
    pattern,
    ...(via ? ['-I', via] : []),
    ...(broadcast ? ['-b'] : []),
    ...(v6 ? ['-6'] : []),
    to,
  ];
  const { result, evidence } = await Evidence.during(lab, () => lab.exec(spec.from, argv));
  const marker = Buffer.from(pattern, 'hex');
  const ours = (p: NodePacket) => p.proto === 'icmp' && p.payload.includes(marker);
  const isRequest = (p: NodePacket) => ours(p) && p.icmpType === (v6 ? 128 : 8);
  const isReply = (p: NodePacket) => ours(p) && p.icmpType === (v6 ? 129 : 0);
  // what the source received is what ping counted: a reply the capture saw arrive may still have been
  // dropped on the way in (rp_filter, the firewall), and that is not a reply
  const received = parsePing(result.stdout)?.received ?? 0;
  const rtt = parseRttMax(result.stdout);
  if (rtt !== undefined) noteRtt(lab, rtt);
  const firstSeq = (f: (p: NodePacket) => boolean) => Math.min(...evidence.packets(f).map((p) => p.icmpSeq!));
  const qSeq = firstSeq(isRequest);
  const rSeq = firstSeq(isReply);
  const request = evidence.path((p) => isRequest(p) && p.icmpSeq === qSeq);
  const reply = evidence.path((p) => isReply(p) && p.icmpSeq === rSeq);
  const seen = new Set(evidence.packets(ours).map((p) => `${p.node}:${p.iface}`));
  const judge = (e: ExpectT) => {
    const checks = [];
    if (e.replies !== undefined) checks.push(check('replies', e.replies, received));
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, received > 0));
    checks.push(...pathChecks(e, request, reply, seen, owner));
    return checks;
  };
  // the statistics, and what ping said on stderr (why it could not send: "connect: Network is unreachable")
  const stats = /packets transmitted/.test(result.stdout) ? result.stdout.trim().split('\n').slice(-2).join(' | ') : '';
  const summary = [stats, result.stderr.trim().split('\n')[0]].filter(Boolean).join(' | ') || result.stdout.trim();
  return {
    checks: judge(test.expect),
    judge,
    evidence,
    request,
    reply,
    traces: labTraces(model, {
      request,
      reply,
      origin: spec.from,
      target: owner,
      to,
      expect: test.expect,
      ...(broadcast ? { broadcast: true } : {}),
    }),
    tracesFor: (expect) =>
      labTraces(model, {
        request,
        reply,
        origin: spec.from,
        target: owner,
        to,
        expect,
        ...(broadcast ? { broadcast: true } : {}),
      }),
    facts: { ping: summary, ...(received < count ? { wait: wait.why } : {}) },
  };
};

// ping: echo requests carrying a random payload pattern (ping -p), which
// survives NAT where the ICMP id may not; replies and paths from the captures.
import { Evidence } from '../capture/evidence.js';
import { randomPattern, type NodePacket } from '../capture/tcpdump.js';
import { pathChecks } from './judge-paths.js';
import { traces } from './traces.js';
import { ownerOf, target } from './targets.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

interface PingSpec { from: string; to: string; count?: number; source?: string; interface?: string; ipv6?: boolean }

/** Pure: transmitted and received counts from ping's summary line. */
export function parsePing(output: string): { transmitted: number; received: number } | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(output);
  return m ? { transmitted: Number(m[1]), received: Number(m[2]) } : undefined;
}

export const ping: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as PingSpec;
  const to = target(model, spec.to, spec.ipv6);
  const owner = ownerOf(model, to) ?? '(no lab node)';
  const v6 = to.includes(':');
  const count = spec.count ?? 3;
  const pattern = randomPattern(12);
  const via = spec.source ?? spec.interface;
  const argv = ['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '1', '-p', pattern, // no -w: with it, -c counts replies and an unanswered ping keeps sending
   
    ...(via ? ['-I', via] : []), ...(v6 ? ['-6'] : []), to];
  const { result, evidence } = await Evidence.during(lab, () => lab.exec(spec.from, argv));
  const counts = parsePing(result.stdout);
  const received = counts?.received ?? 0;
  const marker = Buffer.from(pattern, 'hex');
  const ours = (p: NodePacket) => p.proto === 'icmp' && p.payload.includes(marker);
  const isRequest = (p: NodePacket) => ours(p) && p.icmpType === (v6 ? 128 : 8);
  const isReply = (p: NodePacket) => ours(p) && p.icmpType === (v6 ? 129 : 0);
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
  return { checks: judge(test.expect), judge, evidence, request, reply, traces: traces({ request, reply, origin: spec.from, target: owner, expect: test.expect }), facts: { ping: result.stdout.trim().split('\n').slice(-2).join(' | ') || result.stderr.trim() } };
};

// udp: a responder nslab starts on the target's node echoes one datagram back.
import type { NodePacket } from '../capture/tcpdump.js';
import { exchange, type L4Spec } from './exchange.js';
import { pathChecks } from './judge-paths.js';
import { check, type Probe } from './types.js';

export const udp: Probe = async ({ lab, model, test }) => {
  const { port, outcome, evidence, owner } = await exchange(lab, model, 'udp', test.spec as unknown as L4Spec, 1500);
  // this exchange's datagrams: the responder's port AND the client's own (see tcp.ts)
  const lport = outcome.lport;
  const ours = (p: NodePacket) => p.proto === 'udp' && (lport
    ? (p.dport === port && p.sport === lport) || (p.sport === port && p.dport === lport)
    : p.dport === port || p.sport === port);
  const request = evidence.path((p) => ours(p) && p.dport === port);
  const reply = evidence.path((p) => ours(p) && p.sport === port);
  const seen = new Set(evidence.packets(ours).map((p) => `${p.node}:${p.iface}`));
  const e = test.expect;
  const answered = outcome.outcome === 'answered';
  const checks = [];
  if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, answered));
  if (e.replies !== undefined) checks.push(check('replies', e.replies, answered ? 1 : 0));
  checks.push(...pathChecks(e, request, reply, seen, owner));
  return { checks, evidence, request, reply, facts: { outcome: outcome.outcome } };
};

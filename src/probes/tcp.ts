// tcp: a listener nslab starts on the node that owns the target address, and a
// connect from the source node (optionally bound to a source address). The
// outcome (connected / refused / timeout) comes from the client; the paths and
// the source the far end saw come from the captures.
import type { NodePacket } from '../capture/tcpdump.js';
import { exchange, type L4Spec } from './exchange.js';
import { pathChecks } from './judge-paths.js';
import { check, type Probe } from './types.js';

const SYN = 0x02, ACK = 0x10, RST = 0x04;

export const tcp: Probe = async ({ lab, model, test }) => {
  const { port, outcome, evidence, peers, owner } = await exchange(lab, model, 'tcp', test.spec as unknown as L4Spec, 2000);
  // this connection's packets: the server's port AND the client's own (a fixed port such as 25 is shared
  // with the previous test's connection, whose late packets must not pass for this one's reply)
  const lport = outcome.lport;
  const ours = (p: NodePacket) => p.proto === 'tcp' && (lport
    ? (p.dport === port && p.sport === lport) || (p.sport === port && p.dport === lport)
    : p.dport === port || p.sport === port);
  const request = evidence.path((p) => ours(p) && p.dport === port && (p.tcpFlags! & (SYN | ACK)) === SYN);
  const reply = evidence.path((p) => ours(p) && p.sport === port && ((p.tcpFlags! & (SYN | ACK)) === (SYN | ACK) || (p.tcpFlags! & RST) !== 0));
  const seen = new Set(evidence.packets(ours).map((p) => `${p.node}:${p.iface}`));
  const e = test.expect;
  const checks = [];
  if (e.connected !== undefined) {
    const want = typeof e.connected === 'boolean' ? (e.connected ? 'connected' : 'not connected') : e.connected;
    const ok = typeof e.connected === 'boolean' ? (outcome.outcome === 'connected') === e.connected : outcome.outcome === e.connected;
    checks.push(check('connected', want, outcome.outcome, ok));
  }
  if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, outcome.outcome === 'connected'));
  checks.push(...pathChecks(e, request, reply, seen, owner));
  return { checks, evidence, request, reply, facts: { outcome: `${outcome.outcome}${outcome.local ? ` from ${outcome.local}` : ''}${outcome.error ? ` (${outcome.error})` : ''}`, peers: peers.join(' ') } };
};

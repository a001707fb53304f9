// tcp: a listener nslab starts on the node that owns the target address, and a
// connect from the source node (optionally bound to a source address). The
// outcome (connected / refused / timeout) comes from the client; the paths and
// the source the far end saw come from the captures.
import { Evidence } from '../capture/evidence.js';
import type { NodePacket } from '../capture/tcpdump.js';
import { pathChecks } from './judge-paths.js';
import { durationMs, HELPER, ownerOf, randomPort, startListener, target } from './targets.js';
import { check, type Probe } from './types.js';

interface L4Spec { from: string; to: string; port?: number; bind?: string; timeout?: string; listen?: boolean }

const SYN = 0x02, ACK = 0x10, RST = 0x04;

export const tcp: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as L4Spec;
  const to = target(model, spec.to);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`tcp probe: ${to} is no address of a lab node, so nslab cannot start a listener for it`);
  const port = spec.port ?? randomPort();
  if (spec.listen === false && spec.port === undefined) throw new Error('tcp probe: listen: false needs the port the lab\'s service listens on');
  const listener = spec.listen === false ? { lines: () => [], stop: async () => {} } : await startListener(lab, owner, ['node', HELPER, 'listen', 'tcp', String(port)], /^ready$/m);
  let outcome: { outcome: string; local?: string; error?: string } = { outcome: 'error' };
  let evidence: Evidence;
  try {
    const r = await Evidence.during(lab, () => lab.exec(spec.from, ['node', HELPER, 'connect', to, String(port), spec.bind ?? '-', String(durationMs(spec.timeout, 2000))]));
    evidence = r.evidence;
    try { outcome = JSON.parse(r.result.stdout.trim().split('\n').pop()!); } catch { outcome = { outcome: 'error', error: r.result.stderr.trim() }; }
  } finally {
    await listener.stop();
  }
  const ours = (p: NodePacket) => p.proto === 'tcp' && (p.dport === port || p.sport === port);
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
  checks.push(...pathChecks(e, request, reply, seen));
  return { checks, evidence, request, reply, facts: { outcome: `${outcome.outcome}${outcome.local ? ` from ${outcome.local}` : ''}${outcome.error ? ` (${outcome.error})` : ''}`, peers: listener.lines().join(' ') } };
};

// udp: a responder nslab starts on the target's node echoes one datagram back.
import { Evidence } from '../capture/evidence.js';
import type { NodePacket } from '../capture/tcpdump.js';
import { pathChecks } from './judge-paths.js';
import { durationMs, HELPER, ownerOf, randomPort, startListener, target } from './targets.js';
import { check, type Probe } from './types.js';

interface L4Spec { from: string; to: string; port?: number; bind?: string; timeout?: string; listen?: boolean }

export const udp: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as L4Spec;
  const to = target(model, spec.to);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`udp probe: ${to} is no address of a lab node, so nslab cannot start a responder for it`);
  const port = spec.port ?? randomPort();
  if (spec.listen === false && spec.port === undefined) throw new Error('udp probe: listen: false needs the port the lab\'s service listens on');
  const listener = spec.listen === false ? { lines: () => [], stop: async () => {} } : await startListener(lab, owner, ['node', HELPER, 'listen', 'udp', String(port)], /^ready$/m);
  let outcome: { outcome: string; error?: string } = { outcome: 'error' };
  let evidence: Evidence;
  try {
    const r = await Evidence.during(lab, () => lab.exec(spec.from, ['node', HELPER, 'udp', to, String(port), spec.bind ?? '-', String(durationMs(spec.timeout, 1500))]));
    evidence = r.evidence;
    try { outcome = JSON.parse(r.result.stdout.trim().split('\n').pop()!); } catch { outcome = { outcome: 'error', error: r.result.stderr.trim() }; }
  } finally {
    await listener.stop();
  }
  const ours = (p: NodePacket) => p.proto === 'udp' && (p.dport === port || p.sport === port);
  const request = evidence.path((p) => ours(p) && p.dport === port);
  const reply = evidence.path((p) => ours(p) && p.sport === port);
  const seen = new Set(evidence.packets(ours).map((p) => `${p.node}:${p.iface}`));
  const e = test.expect;
  const answered = outcome.outcome === 'answered';
  const checks = [];
  if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, answered));
  if (e.replies !== undefined) checks.push(check('replies', e.replies, answered ? 1 : 0));
  checks.push(...pathChecks(e, request, reply, seen));
  return { checks, evidence, request, reply, facts: { outcome: outcome.outcome } };
};

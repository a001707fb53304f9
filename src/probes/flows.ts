// flows: many concurrent flows (distinct source ports, one or more
// destinations); at the `via` node, which egress interface each flow left by.
import { Evidence } from '../capture/evidence.js';
import { HELPER, ownerOf, randomPort, startListener, target } from './targets.js';
import { check, type Check, type Probe } from './types.js';

interface FlowsSpec { from: string; to: string | string[]; count?: number; proto?: 'tcp' | 'udp'; via?: string }

/** Pure: per-interface shares of flows against weights, within an absolute tolerance. */
export function spreadChecks(perIface: Map<string, number>, total: number, weights: Record<string, number>, tolerance: number): Check[] {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0) || 1;
  return Object.entries(weights).map(([ref, w]) => {
    const share = total ? (perIface.get(ref) ?? 0) / total : 0;
    const want = w / sum;
    return check(`spread ${ref}`, `${(want * 100).toFixed(0)}% ±${(tolerance * 100).toFixed(0)}`, `${(share * 100).toFixed(0)}% (${perIface.get(ref) ?? 0} of ${total} flows)`, Math.abs(share - want) <= tolerance);
  });
}

export const flows: Probe = async ({ lab, model, test }) => {
  const s = test.spec as unknown as FlowsSpec;
  const targets = (Array.isArray(s.to) ? s.to : [s.to]).map((t) => target(model, t));
  const proto = s.proto ?? 'udp';
  const count = s.count ?? 32;
  const via = s.via ?? s.from;
  const port = randomPort();
  const listeners = proto === 'tcp'
    ? await Promise.all([...new Set(targets.map((t) => ownerOf(model, t)).filter((n): n is string => !!n))].map((n) => startListener(lab, n, ['node', HELPER, 'listen', 'tcp', String(port)], /^ready$/m)))
    : [];
  let evidence: Evidence;
  try {
    evidence = (await Evidence.during(lab, () => lab.exec(s.from, ['node', HELPER, 'flows', proto, String(port), String(count), targets.join(',')], { timeoutMs: 30_000 }))).evidence;
  } finally {
    await Promise.all(listeners.map((l) => l.stop()));
  }
  // a flow, as the via node sees it leave: its 5-tuple there (after any NAT before it)
  const out = evidence.packets((p) => p.node === via && p.dir === 'out' && p.proto === proto && p.dport === port);
  const byFlow = new Map<string, Set<string>>();
  for (const p of out) {
    const key = `${p.src}:${p.sport}>${p.dst}`;
    (byFlow.get(key) ?? byFlow.set(key, new Set()).get(key)!).add(`${via}:${p.iface}`);
  }
  const perIface = new Map<string, number>();
  for (const ifs of byFlow.values()) for (const i of ifs) perIface.set(i, (perIface.get(i) ?? 0) + 1);
  const e = test.expect;
  const checks: Check[] = [];
  if (e.spread) checks.push(...spreadChecks(perIface, byFlow.size, e.spread, e.tolerance ?? 0.15));
  if (e.sticky !== undefined) {
    const split = [...byFlow.values()].filter((ifs) => ifs.size > 1).length;
    checks.push(check('sticky', e.sticky, split === 0 ? 'true' : `false (${split} flows used more than one interface)`, (split === 0) === e.sticky));
  }
  const summary = [...perIface].map(([i, n]) => `${i}: ${n}`).join(', ') || 'no flow seen leaving';
  return { checks, evidence, facts: { flows: `${byFlow.size} of ${count} flows seen at ${via}; ${summary}` } };
};

// flows: many concurrent flows (distinct source ports, one or more
// destinations); at the `via` node, which egress interface each flow left by,
// and at the destination nodes, which flows arrived. The spread is that of the
// flows DELIVERED, over all the flows sent: a flow that left by an interface
// and died on the way counts for no interface (a multipath route with a dead
// gateway must not read as "failover works").
import { Evidence } from '../capture/evidence.js';
import { agentOf, randomPort } from './agent.js';
import { ownerOf, target } from './targets.js';
import { inFlightMs } from './wait.js';
import type { NodePacket } from '../capture/tcpdump.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Check, type Probe } from './types.js';

interface FlowsSpec {
  from: string;
  to: string | string[];
  count?: number;
  proto?: 'tcp' | 'udp';
  via?: string;
  ipv6?: boolean;
}

/** Pure: per-interface shares of the delivered flows, over all `sent`, against weights within an absolute tolerance. */
export function spreadChecks(
  delivered: Map<string, number>,
  sent: number,
  weights: Record<string, number>,
  tolerance: number,
): Check[] {
  const sum = Object.values(weights).reduce((a, b) => a + b, 0) || 1;
  const arrived = [...delivered.values()].reduce((a, b) => a + b, 0);
  return Object.entries(weights).map(([ref, w]) => {
    const share = sent ? (delivered.get(ref) ?? 0) / sent : 0;
    const want = w / sum;
    const lost = sent - arrived ? `; ${sent - arrived} of ${sent} flows not delivered` : '';
    return check(
      `spread ${ref}`,
      `${(want * 100).toFixed(0)}% ±${(tolerance * 100).toFixed(0)}`,
      `${(share * 100).toFixed(0)}% (${delivered.get(ref) ?? 0} of ${sent} flows delivered through it${lost})`,
      Math.abs(share - want) <= tolerance,
    );
  });
}

/** The datagrams the agent sends per udp flow (helper.ts), so that each flow's stickiness can be seen. */
const UDP_PER_FLOW = 3;

export const flows: Probe = async ({ lab, model, test }) => {
  const s = test.spec as unknown as FlowsSpec;
  const targets = (Array.isArray(s.to) ? s.to : [s.to]).map((t) => target(model, t, s.ipv6));
  const proto = s.proto ?? 'udp';
  const count = s.count ?? 32;
  const via = s.via ?? s.from;
  const port = randomPort();
  // a port of the probe's own, opened for it on every target's node and closed after
  const servers =
    proto === 'tcp'
      ? await Promise.all(
          [...new Set(targets.map((t) => ownerOf(model, t)).filter((n): n is string => !!n))].map((n) =>
            agentOf(lab, n),
          ),
        )
      : [];
  await Promise.all(servers.map((a) => a.request('listen', { proto, port })));
  // a flow's packet arriving at the node that owns its destination
  const owners = new Set(targets.map((t) => ownerOf(model, t)));
  const arriving = (p: NodePacket) => owners.has(p.node) && p.dir === 'in' && p.proto === proto && p.dport === port;
  let evidence: Evidence;
  try {
    const client = await agentOf(lab, s.from);
    // udp: the last datagrams may still be on a delayed or shaped link when the sender is done; the window
    // stays open until every datagram of every flow has arrived (stickiness is judged on all three), or
    // until they all can have (tcp flows were delivered once connected)
    const late = proto === 'udp' ? await inFlightMs(lab, model, s.from) : 0;
    evidence = (
      await Evidence.during(lab, async (seen) => {
        const sent = await client.request<{ flows: unknown[] }>('flows', {
          proto,
          port,
          count,
          hosts: targets,
          timeout: 2000,
        });
        const arrived = () => seen().filter(arriving).length;
        for (
          const until = performance.now() + late;
          performance.now() < until && arrived() < UDP_PER_FLOW * sent.flows.length;
        )
          await new Promise((res) => setTimeout(res, 5));
      })
    ).evidence;
  } finally {
    await Promise.all(servers.map((a) => a.request('unlisten', { proto, port })));
  }
  // a flow, as the via node sees it leave: its 5-tuple there (after any NAT before it)
  const key = (p: NodePacket) => `${p.src}:${p.sport}>${p.dst}`;
  const out = evidence.packets((p) => p.node === via && p.dir === 'out' && p.proto === proto && p.dport === port);
  const byFlow = new Map<string, Set<string>>();
  for (const p of out) (byFlow.get(key(p)) ?? byFlow.set(key(p), new Set()).get(key(p))!).add(`${via}:${p.iface}`);
  // delivered: the same 5-tuple arriving at the node that owns its destination
  const arrived = new Set(evidence.packets(arriving).map(key));
  const perIface = new Map<string, number>();
  for (const [k, ifs] of byFlow) if (arrived.has(k)) for (const i of ifs) perIface.set(i, (perIface.get(i) ?? 0) + 1);
  const judge = (e: ExpectT) => {
    const checks: Check[] = [];
    if (e.spread) checks.push(...spreadChecks(perIface, count, e.spread, e.tolerance ?? 0.15));
    if (e.sticky !== undefined) {
      const split = [...byFlow.values()].filter((ifs) => ifs.size > 1).length;
      checks.push(
        check(
          'sticky',
          e.sticky,
          split === 0 ? 'true' : `false (${split} flows used more than one interface)`,
          (split === 0) === e.sticky,
        ),
      );
    }
    return checks;
  };
  const summary = [...perIface].map(([i, n]) => `${i}: ${n}`).join(', ') || 'none delivered';
  const delivered = [...byFlow.keys()].filter((k) => arrived.has(k)).length;
  return {
    checks: judge(test.expect),
    judge,
    evidence,
    facts: {
      flows: `${byFlow.size} of ${count} flows seen leaving ${via}, ${delivered} delivered; delivered by interface: ${summary}`,
    },
  };
};

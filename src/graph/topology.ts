// A lab's topology at a stage, as plain data for the renderers (DOT, Mermaid):
// nodes with their interfaces and addresses, routes, rules and NAT; links with
// their shaping. What the chosen stage itself changes is marked, so a picture of
// a fix stage shows the fix. Pure: nothing is brought up.
import type { LabModel, Line, LinkModel, NodeConfig } from '../lab/model.js';
import { stagesUpTo } from '../plan/build.js';

/** A line of configuration; `added` when the chosen stage wrote it. */
export interface Item {
  text: string;
  added: boolean;
}

export interface TopoIface {
  name: string;
  addresses: Item[];
  /** down after the stages applied so far */
  down: boolean;
  /** the chosen stage took it down or brought it up */
  changed?: 'down' | 'up';
}

export interface TopoNode {
  name: string;
  kind: 'host' | 'bridge';
  forwarding: boolean;
  ifaces: TopoIface[];
  routes: Item[];
  rules: Item[];
  /** masquerade, nftables: one line each */
  filters: Item[];
}

export interface TopoLink {
  /** stable id: a-node:a-iface--b-node:b-iface, as written in the lab */
  id: string;
  a: { node: string; iface: string };
  b: { node: string; iface: string };
  /** rate, delay, loss (and mtu), as written */
  shaping: string[];
  /** either end is down */
  down: boolean;
}

export interface Topology {
  lab: string;
  description?: string;
  stage?: string;
  /** the chosen stage's description */
  stageDescription?: string;
  nodes: TopoNode[];
  links: TopoLink[];
}

export const linkId = (l: Pick<LinkModel, 'a' | 'b'>) => `${l.a.node}:${l.a.iface}--${l.b.node}:${l.b.iface}`;

/**
 * Which earlier line a stage's route replaces: the plan applies stage routes with
 * `ip route replace`, which keys on destination, table and family (metric aside).
 */
function routeKey(l: Line): string {
  const table = l.args[l.args.indexOf('table') + 1];
  return `${l.family} ${l.args[0] === 'default' ? (l.family === 6 ? '::/0' : '0.0.0.0/0') : l.args[0]} ${l.args.includes('table') ? table : 'main'}`;
}

/** The topology after the stages up to `stage` (none: the base lab). */
export function topology(lab: LabModel, stage?: string): Topology {
  const stages = stagesUpTo(lab, stage);
  const last = stages.at(-1);
  const nodes = lab.nodes.map((n): TopoNode => {
    const applied: { c: NodeConfig; added: boolean }[] = [{ c: n.config, added: false }];
    for (const s of stages) {
      const c = s.apply.get(n.name);
      if (c) applied.push({ c, added: s === last });
    }
    const ifaces = n.interfaces
      .filter((i) => i.name !== 'lo' || i.addresses.length)
      .map((i): TopoIface => {
        let down = !i.up;
        let changed: TopoIface['changed'];
        for (const { c, added } of applied.slice(1)) {
          if (c.down.includes(i.name)) {
            down = true;
            if (added) changed = 'down';
          }
          if (c.up.includes(i.name)) {
            down = false;
            if (added) changed = 'up';
          }
        }
        const addresses = applied.flatMap(({ c, added }) =>
          c.addresses.filter((a) => a.iface === i.name).map((a) => ({ text: a.cidr.text, added })),
        );
        return { name: i.name, addresses, down, ...(changed ? { changed } : {}) };
      });
    const routes = new Map<string, Item>();
    for (const { c, added } of applied)
      for (const r of c.routes) {
        const k = routeKey(r);
        routes.delete(k);
        routes.set(k, { text: r.text, added });
      }
    const rules = applied.flatMap(({ c, added }) => c.rules.map((r) => ({ text: r.text, added })));
    const filters = applied.flatMap(({ c, added }) => [
      ...(c.masquerade.length ? [{ text: `masquerade out of ${c.masquerade.join(', ')}`, added }] : []),
      ...(c.nftables
        ? [{ text: `nftables ruleset (${c.nftables.text.split('\n').filter((l) => l.trim()).length} lines)`, added }]
        : []),
    ]);
    const forwarding = applied.reduce(
      (f, { c }) =>
        c.sysctl.find(([k]) => k === 'net.ipv4.ip_forward')?.[1] === '1'
          ? true
          : c.sysctl.some(([k]) => k === 'net.ipv4.ip_forward')
            ? false
            : f,
      false,
    );
    return { name: n.name, kind: n.kind, forwarding, ifaces, routes: [...routes.values()], rules, filters };
  });
  const isDown = (node: string, iface: string) =>
    nodes.find((n) => n.name === node)?.ifaces.find((i) => i.name === iface)?.down ?? false;
  const links = lab.links.map((l): TopoLink => ({
    id: linkId(l),
    a: l.a,
    b: l.b,
    shaping: [
      l.rate && `rate ${l.rate}`,
      l.delay && `delay ${l.delay}`,
      l.loss && `loss ${l.loss}`,
      l.mtu && `mtu ${l.mtu}`,
    ].filter((x): x is string => !!x),
    down: isDown(l.a.node, l.a.iface) || isDown(l.b.node, l.b.iface),
  }));
  return {
    lab: lab.name,
    ...(lab.description ? { description: lab.description } : {}),
    ...(last ? { stage: last.name, ...(last.description ? { stageDescription: last.description } : {}) } : {}),
    nodes,
    links,
  };
}

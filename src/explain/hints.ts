// Hints: a fix for what went wrong, in the lab's own terms. Preferably the lines
// of a stage not yet applied that bear on the packet at that node (written as the
// commands nslab runs for them); else a generic fix with the lab's addresses.
import { inSubnet, parsePrefix, type Cidr } from '../lab/addr.js';
import type { LabModel, Line } from '../lab/model.js';
import { family, within, type RouteGot, type Selectors, type WhyContext } from './kernel.js';
import type { Disposition, Trace } from '../traces/trace.js';

const arg = (l: Line, k: string) => {
  const i = l.args.indexOf(k);
  return i >= 0 ? l.args[i + 1] : undefined;
};
const ruleText = (l: Line) =>
  `ip ${l.family === 6 && !/^-6\b/.test(l.text) ? '-6 ' : ''}rule add ${l.text}`
    .replace('rule add -6 ', '-6 rule add ')
    .replace(/^ip -6 -6/, 'ip -6');
const routeText = (l: Line) =>
  `ip ${l.family === 6 && !/^-6\b/.test(l.text) ? '-6 ' : ''}route replace ${l.text}`
    .replace('route replace -6 ', '-6 route replace ')
    .replace(/^ip -6 -6/, 'ip -6');

function routePrefix(l: Line): string {
  const a = l.args.filter((x) => x !== '-6' && x !== '-4');
  const i = a[0] === 'to' ? 1 : ['unicast', 'blackhole', 'unreachable', 'prohibit', 'local'].includes(a[0]!) ? 1 : 0;
  return a[i]!;
}

/** The lines of one stage's apply for this node that bear on this packet. */
function relevantLines(model: LabModel, stage: string, node: string, s: Selectors, cause?: Disposition): string[] {
  const cfg = model.stages.find((x) => x.name === stage)?.apply.get(node);
  if (!cfg) return [];
  const base = model.nodes.find((n) => n.name === node)?.config;
  const fam6 = family(s.to);
  const rules = cfg.rules.filter(
    (l) =>
      l.family === fam6 &&
      (arg(l, 'from') || arg(l, 'to')) &&
      within(s.from, arg(l, 'from'), undefined) &&
      within(s.to, arg(l, 'to'), undefined) &&
      !l.args.includes('not'),
  );
  const tables = new Set(rules.map((l) => arg(l, 'table') ?? arg(l, 'lookup')));
  const inTable = (l: Line) => {
    const t = arg(l, 'table');
    return t && t !== '254' && t !== 'main' ? t : undefined;
  };
  const main = cfg.routes.filter(
    (l) =>
      l.family === fam6 &&
      !inTable(l) &&
      !base?.routes.some((b) => b.text === l.text) && // already there: not what changes
      within(s.to, routePrefix(l), undefined) &&
      within(s.from, arg(l, 'from'), undefined),
  );
  // of the main routes, only those that would win for this packet: the longest prefix
  const len = (l: Line) => (routePrefix(l) === 'default' ? 0 : (parsePrefix(routePrefix(l))?.prefix ?? 0));
  const best = Math.max(-1, ...main.map(len));
  const routes = cfg.routes.filter(
    (l) => l.family === fam6 && (inTable(l) ? tables.has(inTable(l)) : main.includes(l) && len(l) === best),
  );
  const key = cause === 'dropped-rp-filter' ? /rp_filter/ : cause === 'dropped-no-route' ? /forward/ : undefined;
  const sysctl = key ? cfg.sysctl.filter(([k]) => key.test(k)).map(([k, v]) => `sysctl -w ${k}=${v}`) : [];
  return [...rules.map(ruleText), ...routes.map(routeText), ...sysctl];
}

export function stageHint(ctx: WhyContext, node: string, s: Selectors, cause?: Disposition): string | undefined {
  for (const st of ctx.model.stages) {
    if (ctx.applied.includes(st.name)) continue;
    const lines = relevantLines(ctx.model, st.name, node, s, cause);
    if (lines.length) return `on ${node}: ${lines.join('; ')} (as stage '${st.name}' applies)`;
  }
  return undefined;
}

/** A router on an interface's subnet: another node with an address there that forwards. */
function gatewayOn(model: LabModel, node: string, iface: string, fam6: 4 | 6): string | undefined {
  const mine =
    model.nodes
      .find((n) => n.name === node)
      ?.interfaces.find((i) => i.name === iface)
      ?.addresses.filter((a) => a.family === fam6) ?? [];
  for (const n of model.nodes) {
    if (n.name === node || !n.config.sysctl.some(([k, v]) => /ip_forward|forwarding/.test(k) && v === '1')) continue;
    for (const i of n.interfaces)
      for (const a of i.addresses)
        if (mine.some((m) => m.prefix === a.prefix && inSubnet(a.address, m))) return a.address;
  }
  return undefined;
}

/** A directly linked node that has an address on `net`: its address on the shared link, the next hop toward it. */
export function neighbourToward(model: LabModel, node: string, net: Cidr): string | undefined {
  for (const l of model.links) {
    const [mine, other] = l.a.node === node ? [l.a, l.b] : l.b.node === node ? [l.b, l.a] : [];
    if (!mine || !other) continue;
    const peer = model.nodes.find((n) => n.name === other.node);
    if (
      !peer?.interfaces.some((i) =>
        i.addresses.some((a) => a.family === net.family && a.prefix === net.prefix && inSubnet(a.address, net)),
      )
    )
      continue;
    const hop = peer.interfaces.find((i) => i.name === other.iface)?.addresses.find((a) => a.family === net.family);
    if (hop) return hop.address;
  }
  return undefined;
}

export function genericHint(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  t: Trace,
  want: string | undefined,
  noRuleFrom: boolean,
  got: RouteGot,
): string | undefined {
  const fam6 = family(s.to) === 6 ? 6 : 4;
  const ip = fam6 === 6 ? 'ip -6' : 'ip';
  if (t.direction === 'reply' && want && s.from) {
    const gw = gatewayOn(ctx.model, node, want, fam6) ?? `<gateway on ${want}>`;
    return noRuleFrom
      ? `on ${node}: add a table for ${want} and a rule for ${s.from}: ${ip} route replace default via ${gw} dev ${want} table <id>; ${ip} rule add from ${s.from} table <id>`
      : `on ${node}: the table the rule for ${s.from} selects should route ${s.to} via ${gw} dev ${want}`;
  }
  if (t.disposition === 'wrong-source' && ctx.expect.source)
    return `on ${node}: give the route to ${s.to} the source: ${ip} route replace <its prefix> ${got.gateway ? `via ${got.gateway} ` : ''}dev ${got.dev ?? '?'} src ${ctx.expect.source}`;
  return undefined;
}

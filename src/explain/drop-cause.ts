// Where a packet died, the likely cause, asked in the kernel's own order: the
// reverse-path filter (the input route lookup with the packet's iif), the route,
// the neighbour entry, the firewall (a drop rule whose counter moved, else the
// drop rules on the hook the packet crossed).
import { counterName, nftLines, type NftLine } from '../capture/counters.js';
import { networkOf } from '../lab/addr.js';
import { neighbourToward } from './hints.js';
import { family, routeGet, sysctl, type Selectors, type WhyContext } from './kernel.js';
import type { Disposition, TraceHop } from '../traces/trace.js';

type Hook = 'input' | 'forward' | 'output';
/** The hooks a packet crosses on its way in (input), through (forward) or out (output) of a node, netdev's included. */
const CROSSED: Record<Hook, string[]> = {
  input: ['ingress', 'prerouting', 'input'],
  forward: ['ingress', 'prerouting', 'forward', 'postrouting', 'egress'],
  output: ['output', 'postrouting', 'egress'],
};
const crosses = (hooks: Set<string> | undefined, hook: Hook) => !!hooks && CROSSED[hook].some((h) => hooks.has(h));

/**
 * The node's ruleset, each line with the hooks its chain is reached from: a base
 * chain's own, and for a regular chain those of every chain that jumps or goes to
 * it (iptables-nft's and firewalld's user chains are regular chains).
 */
async function ruleset(ctx: WhyContext, node: string): Promise<(NftLine & { hooks: Set<string> })[]> {
  const r = await ctx.ask(node, ['nft', 'list', 'ruleset']);
  const lines = r.exitCode === 0 ? nftLines(r.stdout) : [];
  const key = (table: string, chain: string) => `${table}\0${chain}`;
  const hooks = new Map<string, Set<string>>();
  const of = (k: string) => hooks.get(k) ?? hooks.set(k, new Set()).get(k)!;
  for (const l of lines) if (l.hook) of(key(l.table, l.chain)).add(l.hook);
  const edges = lines.flatMap((l) => {
    const m = /\b(?:jump|goto) (\S+)/.exec(l.line);
    return m ? [[key(l.table, l.chain), key(l.table, m[1]!)] as const] : [];
  });
  for (let changed = true; changed;) {
    changed = false;
    for (const [from, to] of edges)
      for (const h of of(from))
        if (!of(to).has(h)) {
          of(to).add(h);
          changed = true;
        }
  }
  return lines.map((l) => ({ ...l, hooks: of(key(l.table, l.chain)) }));
}

/** Drop rules and drop policies in a ruleset, on the hook the packet crossed. */
function firewallDrops(lines: (NftLine & { hooks: Set<string> })[], hook: Hook): string[] {
  const out: string[] = [];
  for (const { table, chain, hooks, line } of lines) {
    if (!crosses(hooks, hook)) continue;
    if (/hook \w+/.test(line)) {
      if (/policy drop/.test(line)) out.push(`table ${table} chain ${chain}: policy drop`);
    } else if (/\b(drop|reject)\b/.test(line)) out.push(`table ${table} chain ${chain}: ${line}`);
  }
  return out;
}

/**
 * Whether a rule may match a packet of this protocol: it names none, or this one (icmp as
 * icmp, icmpv6 or ipv6-icmp). What follows `reject` is the answer it sends
 * (`reject with icmp port-unreachable`, `tcp reset`), not what it matches.
 */
function protoMayMatch(rule: string, proto: WhyContext['proto']): boolean {
  const named = rule.replace(/\breject\b.*$/, 'reject').match(/\b(tcp|udp|icmpv6|ipv6-icmp|icmp)\b/g);
  if (!proto || !named) return true;
  return named.some((p) => (proto === 'icmp' ? /icmp/.test(p) : p === proto));
}

export interface Death {
  disposition: Disposition;
  cause: string;
  hint?: string;
  sel: Selectors;
  /** proven by a drop rule's counter that moved during the probe (else read from the rules) */
  counted?: boolean;
  /** without a counter: the drop rules on the hook it crossed that the cause names */
  suspects?: string[];
}

/** A route lookup that leads nowhere: no route, or a route that refuses. */
const noRoute = (g: { error?: string; route?: { type?: string } }) =>
  !!g.error || ['unreachable', 'blackhole', 'prohibit', 'throw'].includes(g.route?.type ?? '');

/**
 * The fix for a missing route from `node` to `dst`: the prefix it lives on in the lab, via the neighbour that leads
 * there.
 */
function routeHint(ctx: WhyContext, node: string, dst: string): string {
  const net = ctx.model.nodes.flatMap((n) => n.interfaces.flatMap((i) => i.addresses)).find((a) => a.address === dst);
  const prefix = net ? networkOf(net) : dst.includes(':') ? `${dst}/128` : `${dst}/32`;
  const via = net ? neighbourToward(ctx.model, node, net) : undefined;
  return `on ${node}: ${family(dst) === 6 ? 'ip -6' : 'ip'} route add ${prefix} via ${via ?? `<next hop toward ${dst}>`}`;
}

/** Asks the node where a packet was last seen why it went no further. */
export async function death(ctx: WhyContext, h: TraceHop, origin: boolean): Promise<Death> {
  const s: Selectors = { to: h.dst, from: h.src, ...(h.in && !origin ? { iif: h.in } : {}) };
  const v6 = family(h.dst) === 6;
  const g = await routeGet(ctx, h.node, s);
  const local = g.route?.type === 'local';
  if (g.error && h.in && !origin && !v6) {
    // a refused source: rp_filter (EXDEV, or EINVAL on kernels that report drop reasons) when the route back leaves
    // elsewhere
    const [one, all] = await Promise.all([
      sysctl(ctx, h.node, `net.ipv4.conf.${h.in.replace(/\./g, '/')}.rp_filter`),
      sysctl(ctx, h.node, 'net.ipv4.conf.all.rp_filter'),
    ]);
    const rp = Math.max(Number(one ?? 0), Number(all ?? 0));
    const back = await routeGet(ctx, h.node, { to: h.src });
    if (rp > 0 && (rp === 1 ? back.route?.dev !== h.in : !back.route))
      return {
        disposition: 'dropped-rp-filter',
        sel: s,
        cause: `${h.node}: the reverse-path filter on ${h.in} refused source ${h.src} (rp_filter ${h.in}=${one ?? '?'}, all=${all ?? '?'}, ${rp === 1 ? 'strict' : 'loose'}): the route back to ${h.src} leaves through ${back.route?.dev ?? '(no route)'}, not ${h.in}`,
        hint: `on ${h.node}: route ${h.src} back through ${h.in}, or loosen the filter: sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.${h.in}.rp_filter=2`,
      };
  }
  if (noRoute(g)) {
    const fwd =
      h.in && !origin ? await sysctl(ctx, h.node, v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward') : '1';
    if (fwd === '0')
      return {
        disposition: 'dropped-no-route',
        sel: s,
        cause: `${h.node} does not forward (${v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward'}=0) and ${h.dst} is not its own`,
        hint: `on ${h.node}: forwarding: true`,
      };
    return {
      disposition: 'dropped-no-route',
      sel: s,
      cause: `${h.node}: no route to ${h.dst}${s.iif ? ` for a packet from ${h.src} in on ${s.iif}` : ''} (${g.error ?? g.route?.type})`,
      hint: routeHint(ctx, h.node, h.dst),
    };
  }
  const route = g.route!;
  const hook = local ? 'input' : origin ? 'output' : 'forward';
  if (!local && !h.out) {
    const nh = route.gateway ?? h.dst;
    const n = await ctx.ask(h.node, ['ip', '-j', 'neigh', 'show', 'to', nh, ...(route.dev ? ['dev', route.dev] : [])]);
    const rows = n.exitCode === 0 ? (JSON.parse(n.stdout || '[]') as { state?: string[] }[]) : [];
    if (rows.some((x) => x.state?.some((st) => st === 'FAILED' || st === 'INCOMPLETE')))
      return {
        disposition: 'dropped-no-neighbour',
        sel: s,
        cause: `${h.node}: ${nh} does not answer ${v6 ? 'neighbour discovery' : 'ARP'} on ${route.dev}`,
        hint: `on ${h.node}: check that ${nh} is up and on ${route.dev}'s link, or route ${h.dst} via another next hop`,
      };
  }
  // a drop rule whose counter moved during the probe, on the hook this packet crossed, took it (of several,
  // those naming its addresses: another rule's counter may have moved for other traffic, a reply's say)
  // the ruleset, read once: for the hooks of the counters that moved, else for the drop rules
  const lines = await ruleset(ctx, h.node);
  let moved = (ctx.counters ?? []).filter((c) => c.node === h.node && /\b(drop|reject)\b/.test(c.rule));
  if (moved.length) {
    const hooks = new Map(lines.map((l) => [counterName(l), l.hooks]));
    moved = moved.filter((c) => crosses(hooks.get(c.rule), hook));
  }
  const movedNamed = moved.filter((c) => c.rule.includes(h.dst) || c.rule.includes(h.src));
  const counted = movedNamed.length ? movedNamed : moved;
  if (counted.length)
    return {
      disposition: 'dropped-filtered',
      sel: s,
      counted: true,
      cause: `${h.node}: the firewall dropped it: ${counted.map((c) => `${c.rule} (its counter moved by ${c.packets} packet${c.packets > 1 ? 's' : ''} during the probe)`).join('; ')}`,
      hint: `on ${h.node}: let ${h.src} → ${h.dst} through (${counted[0]!.rule})`,
    };
  const all = firewallDrops(lines, hook).filter(
    (d) => !(v6 ? /\bip (saddr|daddr)\b/ : /\bip6 (saddr|daddr)\b/).test(d) && protoMayMatch(d, ctx.proto),
  );
  // without counters, a drop rule that names this packet's addresses on the hook it crossed (and
  // nothing else found) is the cause; other drop rules there only may be: that is said, not claimed
  const named = all.filter((d) => d.includes(h.dst) || d.includes(h.src));
  if (named.length)
    return {
      disposition: 'dropped-filtered',
      sel: s,
      suspects: named,
      cause: `${h.node}: the firewall's ${hook} hook drops it: ${named.join('; ')}`,
      hint: `on ${h.node}: let ${h.src} → ${h.dst} through (${named[0]})`,
    };
  if (all.length)
    return {
      disposition: 'dropped',
      sel: s,
      suspects: all,
      cause: `${h.node}: not established; the firewall's ${hook} hook has drop rules that may take it: ${all.join('; ')}`,
      hint: `on ${h.node}: add \`counter\` to those rules and run the test again: the one whose counter moves took it`,
    };
  return {
    disposition: 'dropped',
    sel: s,
    cause: `${h.node}: routed ${local ? 'locally' : `to ${route.dev ?? '?'}`}, no rp_filter, neighbour or firewall drop found`,
  };
}

/** An address of this family on the node, at the start or from a stage already applied. */
function hasFamily(ctx: WhyContext, node: string, fam: 4 | 6): boolean {
  const n = ctx.model.nodes.find((x) => x.name === node);
  const staged = ctx.model.stages
    .filter((st) => ctx.applied.includes(st.name))
    .flatMap((st) => st.apply.get(node)?.addresses ?? [])
    .map((a) => a.cidr);
  return [...(n?.interfaces.flatMap((i) => i.addresses) ?? []), ...staged].some(
    (a) => a.family === fam && !(fam === 6 && a.address.toLowerCase().startsWith('fe80:')),
  );
}

/**
 * Nothing left the sender: its kernel's route to where it was sent. No route
 * (often: the node has no address of that family at all) is said as such; a
 * route gives the drop causes of the node's output (neighbour, firewall).
 */
export async function unsent(ctx: WhyContext, node: string, to: string): Promise<Death> {
  const v6 = family(to) === 6;
  const s: Selectors = { to };
  const g = await routeGet(ctx, node, s);
  if (noRoute(g)) {
    const cause = `${node}: no route to ${to} (${g.error ?? g.route?.type}): the kernel refused to send`;
    if (!hasFamily(ctx, node, v6 ? 6 : 4))
      return {
        disposition: 'not-sent',
        sel: s,
        cause: `${cause}; ${node} has no IPv${v6 ? 6 : 4} address`,
        hint: `give ${node} an IPv${v6 ? 6 : 4} address on a link toward ${to} (interfaces: { NAME: [..., ADDRESS/LEN] }) and a route to it`,
      };
    return { disposition: 'not-sent', sel: s, cause, hint: routeHint(ctx, node, to) };
  }
  const d = await death(ctx, { node, src: g.route!.prefsrc ?? to, dst: to, evidence: [] }, true);
  return { ...d, disposition: 'not-sent', cause: d.cause.replace(/^[^:]+: /, `${node}: nothing left it: `) };
}

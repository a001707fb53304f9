// Where a packet died, the cause, asked in the kernel's own order: a firewall counter
// that moved on a hook it crossed (proof), the hooks before the routing decision
// (ingress, prerouting), the input route lookup (a source refused by the reverse-path
// filter or because it is the node's own; no route; a node or interface that does not
// forward), the hooks after it (forward or input, postrouting), the next hop's
// neighbour entry (and why that neighbour is silent: arp_ignore, arp_filter, an
// interface down). The firewall is walked rule by rule with the packet (nft.ts): the
// first rule that drops it, or the policy that does, is the cause; where a rule cannot
// be evaluated, the drop rules that may still take it are named as suspects.
import { counterName } from '../capture/counters.js';
import type { Disposition, Trace, TraceHop } from '../traces/trace.js';
import type { Lookup, RouteRow, RuleRow, Selectors } from './fib.js';
import { addressesOf, checkRouting, neighbours, noFix, ownerOf, routeTo, stageHint, type Hint } from './hints.js';
import {
  agreedLookup,
  describeRoute,
  family,
  ifKey,
  refuses,
  routeGet,
  rulesetOf,
  sysctl,
  tableName,
  type RouteGot,
  type WhyContext,
} from './kernel.js';
import {
  chainName,
  hooksOf,
  ruleName,
  walk,
  withException,
  type NftChain,
  type NftPacket,
  type NftRule,
  type Ruleset,
} from './nft.js';
import { connMark, markWords, nftPacket, packetAt, UID_UNKNOWN, uidWords, type AtHop } from './packet.js';

export interface Finding {
  disposition: Disposition;
  node: string;
  cause: string;
  hint?: Hint;
  /** proven by a drop rule's counter that moved during the probe */
  counted?: boolean;
  /** without proof: the drop rules that may have taken it */
  suspects?: string[];
}

type Path = 'forward' | 'input' | 'output';
/** The hooks a packet crosses, in order, before and after its routing decision. */
const BEFORE: Record<Path, string[]> = {
  forward: ['ingress', 'prerouting'],
  input: ['ingress', 'prerouting'],
  output: [],
};
const AFTER: Record<Path, string[]> = {
  forward: ['forward', 'postrouting', 'egress'],
  input: ['input'],
  output: ['output', 'postrouting', 'egress'],
};

type Dropper = { rule: NftRule } | { policy: NftChain };
const dropperName = (d: Dropper) => ('rule' in d ? ruleName(d.rule) : `${chainName(d.policy)}: policy drop`);

interface Through {
  drop?: { hook: string; by: Dropper };
  may: { hook: string; by: Dropper }[];
  packet: NftPacket;
  uncertain?: string;
}

/** Walks the packet through a list of hooks: the first that drops it, or what may. */
function through(rs: Ruleset, hooks: string[], p: NftPacket): Through {
  const may: { hook: string; by: Dropper }[] = [];
  let why: string | undefined;
  for (const hook of hooks) {
    const w = walk(rs, hook, p);
    if (w.verdict === 'drop' && w.by) return { drop: { hook, by: w.by }, may, packet: w.packet };
    may.push(...w.mayDrop.map((by) => ({ hook, by })));
    if (w.uncertain) why ??= `${ruleName(w.uncertain.rule)} matches on ${w.uncertain.why}, which nslab cannot tell`;
    p = w.packet;
  }
  return { may, packet: p, ...(why ? { uncertain: why } : {}) };
}

/** An exception for the packet before the rule (or policy) that drops it, checked by walking the hooks again. */
function firewallFix(rs: Ruleset, node: string, hooks: string[], p: NftPacket, by: Dropper): Hint {
  const fam = 'rule' in by ? by.rule.family : by.policy.family;
  if (!['ip', 'ip6', 'inet', 'netdev', 'bridge'].includes(fam))
    return noFix(`nslab writes no exception for a table of family ${fam}`);
  const { rs: after, command } = withException(rs, by, p.src, p.dst, true);
  const again = through(after, hooks, p);
  if (again.drop) return noFix(`with an exception before it, ${dropperName(again.drop.by)} would still take it`);
  return { fix: { node, commands: [command] } };
}

/** The first hop's drop rules whose counters moved during the probe, on a hook this packet crosses. */
function counted(ctx: WhyContext, rs: Ruleset, node: string, hooks: string[], p: NftPacket) {
  const moved = (ctx.counters ?? []).filter((c) => c.node === node && /\b(drop|reject)\b/.test(c.rule));
  if (!moved.length) return [];
  const reach = hooksOf(rs);
  const rules = rs.chains.flatMap((c) => c.rules);
  const crossed = moved.flatMap((c) => {
    const r = rules.find(
      (x) => counterName({ table: `${x.family} ${x.table}`, chain: x.chain, line: x.text }) === c.rule,
    );
    const hs = r ? reach.get(`${r.family} ${r.table} ${r.chain}`) : undefined;
    return r && hs && hooks.some((h) => hs.has(h)) ? [{ ...c, r }] : [];
  });
  // of several, those naming its addresses: another rule's counter may have moved for other traffic
  const named = crossed.filter((c) => c.rule.includes(p.dst) || c.rule.includes(p.src));
  return named.length ? named : crossed;
}

const plural = (n: number) => `${n} packet${n > 1 ? 's' : ''}`;

/** A firewall verdict as a finding: a counter that moved, the rule (or policy) the walk stops at, or suspects. */
function firewallFinding(
  ctx: WhyContext,
  rs: Ruleset,
  node: string,
  hooks: string[],
  p: NftPacket,
  walked: Through,
): Finding | undefined {
  const c = counted(ctx, rs, node, hooks, p);
  if (c.length)
    return {
      disposition: 'dropped-filtered',
      node,
      counted: true,
      cause: `${node}: the firewall dropped it: ${c.map((x) => `${x.rule} (its counter moved by ${plural(x.packets)} during the probe)`).join('; ')}`,
      hint: firewallFix(rs, node, hooks, p, { rule: c[0]!.r }),
    };
  if (walked.drop)
    return {
      disposition: 'dropped-filtered',
      node,
      cause: `${node}: the firewall's ${walked.drop.hook} hook drops it: ${dropperName(walked.drop.by)}`,
      hint: firewallFix(rs, node, hooks, p, walked.drop.by),
    };
  const may = walked.may.map((m) => dropperName(m.by));
  if (!may.length) return undefined;
  // without proof: a rule naming its addresses, or the only one that may, is the cause; others only may be
  const named = may.filter((d) => d.includes(p.dst) || d.includes(p.src));
  const one = named.length ? named : may.length === 1 ? may : [];
  if (one.length)
    return {
      disposition: 'dropped-filtered',
      node,
      suspects: one,
      cause: `${node}: the firewall's ${walked.may[0]!.hook} hook drops it: ${one.join('; ')} (${walked.uncertain ?? 'the only rule that may'})`,
      hint:
        one.length === 1
          ? firewallFix(rs, node, hooks, p, walked.may[may.indexOf(one[0]!)]!.by)
          : noFix('several rules may take it'),
    };
  return {
    disposition: 'dropped',
    node,
    suspects: may,
    cause: `${node}: not established; the firewall's ${walked.may[0]!.hook} hook has drop rules that may take it (${walked.uncertain ?? 'nslab cannot tell which'}): ${may.join('; ')}`,
    // adding counters to tell them apart is a diagnostic step, not a fix: none is offered
    hint: noFix(
      'more than one drop rule may take it, and an exception before one of them is not known to let it through',
    ),
  };
}

/** A stage's fix where one bears on this, else the generic one. */
async function preferStage(
  ctx: WhyContext,
  node: string,
  s: Selectors | undefined,
  cause: string,
  generic: Hint | (() => Promise<Hint>),
  check?: Parameters<typeof stageHint>[4],
  usedTable?: string,
): Promise<Hint> {
  const st = await stageHint(ctx, node, s, cause, check, usedTable);
  if (st) return { fix: st };
  return typeof generic === 'function' ? generic() : generic;
}

const sysctlFix = (node: string, sets: [string, string][]): Hint => ({
  fix: { node, commands: [`sysctl -w ${sets.map(([k, v]) => `${k}=${v}`).join(' ')}`] },
});

/** The input route lookup refused the packet: why (the source refused, forwarding off, no route), as a finding. */
async function refused(
  ctx: WhyContext,
  at: AtHop,
  h: TraceHop,
  g: { route?: RouteGot; error?: string },
): Promise<Finding> {
  const node = h.node;
  const s = at.sel;
  const v6 = family(s.to) === 6;
  const iif = h.in;
  const withMark = markWords(at);
  if (g.error && iif && !v6) {
    // a source the input lookup refuses: the node's own address (a martian unless accept_local), or rp_filter
    const own = await routeGet(ctx, node, { to: h.src });
    const accept = await sysctl(ctx, node, `net.ipv4.conf.${ifKey(iif)}.accept_local`);
    if (own.route?.type === 'local' && accept !== '1')
      return {
        disposition: 'dropped-rp-filter',
        node,
        cause: `${node}: its source ${h.src} is ${node}'s own address, and a packet from it coming in on ${iif} is a martian (net.ipv4.conf.${iif}.accept_local=${accept ?? '?'})`,
        hint: await preferStage(
          ctx,
          node,
          s,
          'rp-filter',
          sysctlFix(node, [[`net.ipv4.conf.${ifKey(iif)}.accept_local`, '1']]),
        ),
      };
    const [one, all] = await Promise.all([
      sysctl(ctx, node, `net.ipv4.conf.${ifKey(iif)}.rp_filter`),
      sysctl(ctx, node, 'net.ipv4.conf.all.rp_filter'),
    ]);
    const rp = Math.max(Number(one ?? 0), Number(all ?? 0));
    const back = await routeGet(ctx, node, { to: h.src, ...(s.mark ? { mark: s.mark } : {}) });
    if (rp > 0 && (rp === 1 ? back.route?.dev !== iif : !back.route)) {
      // loose mode lets it in wherever a route back exists; without one, only no filter does (the larger of all and
      // the interface's own applies)
      const sets: [string, string][] = back.route
        ? [[`net.ipv4.conf.${ifKey(iif)}.rp_filter`, '2']]
        : [
            ['net.ipv4.conf.all.rp_filter', '0'],
            [`net.ipv4.conf.${ifKey(iif)}.rp_filter`, '0'],
          ];
      if (back.route && Number(all ?? 0) > 2) sets.unshift(['net.ipv4.conf.all.rp_filter', '2']);
      return {
        disposition: 'dropped-rp-filter',
        node,
        cause: `${node}: the reverse-path filter on ${iif} refused source ${h.src} (rp_filter ${iif}=${one ?? '?'}, all=${all ?? '?'}, ${rp === 1 ? 'strict' : 'loose'}): the route back to ${h.src} leaves through ${back.route?.dev ?? '(no route)'}, not ${iif}`,
        hint: await preferStage(ctx, node, s, 'rp-filter', sysctlFix(node, sets)),
      };
    }
  }
  if (iif && !v6) {
    const [all, one] = await Promise.all([
      sysctl(ctx, node, 'net.ipv4.ip_forward'),
      sysctl(ctx, node, `net.ipv4.conf.${ifKey(iif)}.forwarding`),
    ]);
    if (all === '0' || one === '0') {
      const key = all === '0' ? 'net.ipv4.ip_forward' : `net.ipv4.conf.${ifKey(iif)}.forwarding`;
      return {
        disposition: 'dropped-no-route',
        node,
        cause: `${node} does not forward ${all === '0' ? 'IPv4' : `IPv4 that comes in on ${iif}`} (${key}=0) and ${s.to} is not its own`,
        hint: await preferStage(ctx, node, s, 'forwarding', sysctlFix(node, [[key, '1']])),
      };
    }
  }
  const refusal = await agreedLookup(ctx, node, s, g);
  const how = refusalWords(ctx, node, refusal);
  const kernel = g.error ?? g.route?.type;
  const check = (add: { rules: RuleRow[]; routes: RouteRow[] }) =>
    checkRouting(ctx, node, s, g, add, (l) => l.type === 'unicast');
  return {
    disposition: 'dropped-no-route',
    node,
    cause: `${node}: no route to ${s.to}${s.from && iif ? ` for a packet from ${s.from} in on ${iif}` : ''}${withMark} (${kernel})${how}`,
    hint: await preferStage(ctx, node, s, 'no-route', () => routeTo(ctx, node, s, g, refusal), check, refusal?.table),
  };
}

/** The rule and entry that refused a packet, where nslab's lookup agrees with the kernel: `: rule 500 (t) → ...`. */
function refusalWords(ctx: WhyContext, node: string, refusal: Lookup | undefined): string {
  return refusal?.rule
    ? `: rule ${refusal.rule.priority} (${tableName(
        ctx.model.nodes.find((n) => n.name === node),
        refusal.table ?? '254',
      )})${refusal.route ? ` → ${describeRoute(refusal.route)}` : ` ${refusal.type}`}`
    : '';
}

/** Why a next hop does not answer: no node has it, its interface is down, or arp_ignore/arp_filter silence it. */
async function silentNeighbour(
  ctx: WhyContext,
  node: string,
  nh: string,
  dev: string,
  s: Selectors,
  g: { route?: RouteGot; error?: string },
): Promise<{ why: string; hint: Hint }> {
  const v6 = family(nh) === 6;
  // the neighbour on that link that has the address: the one that should answer
  const nb = neighbours(ctx.model, node)
    .filter((x) => x.iface === dev)
    .find((x) => addressesOf(ctx, x.node).some((a) => a.cidr.address === nh));
  const o = nb && { node: nb.node, iface: nb.peerIface };
  const mine = addressesOf(ctx, node).find((a) => a.iface === dev && a.cidr.family === (v6 ? 6 : 4));
  if (!o) {
    // a gateway nobody on that link has: a route through the neighbour that does lead to the destination
    const used = await agreedLookup(ctx, node, s, g);
    const hint = ownerOf(ctx, s.to)
      ? await routeTo(ctx, node, s, g, used?.route ? { ...used, route: { ...used.route, type: 'refused' } } : undefined)
      : noFix(`${s.to} is no address of the lab's nodes, and no node on ${dev}'s link has ${nh}`);
    return { why: `no node on ${dev}'s link has ${nh}`, hint };
  }
  const up = await ctx.ask(o.node, ['ip', '-j', 'link', 'show', 'dev', o.iface]);
  const state = (JSON.parse(up.exitCode === 0 ? up.stdout || '[]' : '[]') as { flags?: string[] }[])[0]?.flags;
  if (state && !state.includes('UP'))
    return {
      why: `${nh} is ${o.node}'s, on ${o.iface}, which is down`,
      hint: { fix: { node: o.node, commands: [`ip link set dev ${o.iface} up`] } },
    };
  if (v6)
    return {
      why: `${nh} is ${o.node}'s, on ${o.iface}`,
      hint: noFix(`nslab found nothing on ${o.node} that keeps it from answering neighbour discovery`),
    };
  const k = (what: string) => `net.ipv4.conf.${ifKey(o.iface)}.${what}`;
  const [ignAll, ignOne, filAll, filOne] = await Promise.all([
    sysctl(ctx, o.node, 'net.ipv4.conf.all.arp_ignore'),
    sysctl(ctx, o.node, k('arp_ignore')),
    sysctl(ctx, o.node, 'net.ipv4.conf.all.arp_filter'),
    sysctl(ctx, o.node, k('arp_filter')),
  ]);
  const ignore = Math.max(Number(ignAll ?? 0), Number(ignOne ?? 0));
  const onIface = addressesOf(ctx, o.node).some((a) => a.iface === o.iface && a.cidr.address === nh);
  // arp_ignore 1: only for an address on the interface asked on; 2: also in the asker's subnet; 8: never
  const sameNet = !!mine && addressesOf(ctx, o.node).some((a) => a.iface === o.iface && a.cidr.address === nh);
  const silent = ignore === 8 || (ignore >= 1 && ignore <= 3 && !onIface) || (ignore === 2 && !sameNet);
  if (silent) {
    const sets: [string, string][] = [
      ...(Number(ignAll ?? 0) > 0 ? [['net.ipv4.conf.all.arp_ignore', '0'] as [string, string]] : []),
      ...(Number(ignOne ?? 0) > 0 ? [[k('arp_ignore'), '0'] as [string, string]] : []),
    ];
    const st = await stageHint(ctx, o.node, undefined, 'arp-silent');
    return {
      why: `${nh} is ${o.node}'s (on ${onIface ? o.iface : 'another interface than ' + o.iface}), and arp_ignore=${ignore} there (all=${ignAll ?? '?'}, ${o.iface}=${ignOne ?? '?'}) keeps it from answering ARP for it on ${o.iface}`,
      hint: st ? { fix: st } : sysctlFix(o.node, sets),
    };
  }
  if (filAll === '1' || filOne === '1') {
    const back = mine ? await routeGet(ctx, o.node, { to: mine.cidr.address }) : undefined;
    if (back?.route?.dev && back.route.dev !== o.iface) {
      const sets: [string, string][] = [
        ...(filAll === '1' ? [['net.ipv4.conf.all.arp_filter', '0'] as [string, string]] : []),
        ...(filOne === '1' ? [[k('arp_filter'), '0'] as [string, string]] : []),
      ];
      return {
        why: `${nh} is ${o.node}'s, and arp_filter there answers only where its route back to ${mine!.cidr.address} leaves (${back.route.dev}, not ${o.iface})`,
        hint: sysctlFix(o.node, sets),
      };
    }
  }
  return {
    why: `${nh} is ${o.node}'s, on ${o.iface}`,
    hint: noFix(
      `nslab found nothing on ${o.node} that keeps it from answering ARP (arp_ignore=${ignore}, arp_filter all=${filAll ?? '?'} ${o.iface}=${filOne ?? '?'})`,
    ),
  };
}

/** The next hop's neighbour entry, where it failed. */
async function neighbour(
  ctx: WhyContext,
  node: string,
  route: RouteGot,
  s: Selectors,
  g: { route?: RouteGot; error?: string },
): Promise<Finding | undefined> {
  const nh = route.gateway ?? s.to;
  const n = await ctx.ask(node, ['ip', '-j', 'neigh', 'show', 'to', nh, ...(route.dev ? ['dev', route.dev] : [])]);
  const rows = n.exitCode === 0 ? (JSON.parse(n.stdout || '[]') as { state?: string[] }[]) : [];
  if (!rows.some((x) => x.state?.some((st) => st === 'FAILED' || st === 'INCOMPLETE'))) return undefined;
  const v6 = family(nh) === 6;
  const silent = await silentNeighbour(ctx, node, nh, route.dev ?? '?', s, g);
  return {
    disposition: 'dropped-no-neighbour',
    node,
    cause: `${node}: ${nh} does not answer ${v6 ? 'neighbour discovery' : 'ARP'} on ${route.dev}: ${silent.why}`,
    hint: silent.hint,
  };
}

/** Nothing found: what was checked. */
const notFound = (node: string, what: string): Finding => ({
  disposition: 'dropped',
  node,
  cause: `${node}: ${what}, no rp_filter, neighbour or firewall drop found`,
  hint: noFix('nothing nslab checks (routes, rules, sysctls, the firewall, neighbours) explains it'),
});

/**
 * Asks the node where a packet was last seen why it went no further. `h` is its last hop; `origin` when it never left
 * the node that sent it.
 */
export async function death(
  ctx: WhyContext,
  h: TraceHop,
  direction: 'request' | 'reply',
  request: Trace | undefined,
): Promise<Finding> {
  const node = h.node;
  const at = await packetAt(ctx, h, direction, request);
  const rs = await rulesetOf(ctx, node);
  const local = !h.in;
  // before the routing decision: a counter or a rule on ingress/prerouting (a locally sent packet has none)
  const before = local ? [] : BEFORE.forward;
  const pre = through(rs, before, { ...at.nft, mark: 0 });
  if (pre.drop) return firewallFinding(ctx, rs, node, before, at.nft, pre)!;
  if (at.markUnknown)
    return {
      disposition: 'dropped',
      node,
      cause: `${node}: not established: a rule of ${node} selects by mark, and nslab cannot know this packet's: ${at.markUnknown}`,
      hint: noFix(`the routing decision depends on a mark nslab cannot tell`),
    };
  if (at.uidUnknown)
    return {
      disposition: 'dropped',
      node,
      cause: `${node}: not established: the uid of its socket is not known: ${at.uidUnknown}`,
      hint: noFix(UID_UNKNOWN),
    };
  const g = await routeGet(ctx, node, at.sel);
  if (refuses(g)) {
    const c = counted(ctx, rs, node, ['ingress', 'prerouting', 'forward', 'input', 'postrouting', 'egress'], at.nft);
    if (c.length) return firewallFinding(ctx, rs, node, [...before, 'forward', 'input'], at.nft, pre)!;
    return refused(ctx, at, h, g);
  }
  const route = g.route!;
  // a broadcast (or multicast) the node receives is delivered to it, as its own addresses are
  const path: Path = ['local', 'broadcast', 'multicast'].includes(route.type ?? '')
    ? 'input'
    : local
      ? 'output'
      : 'forward';
  const v6 = family(at.sel.to) === 6;
  if (path === 'forward' && v6) {
    const fwd = await sysctl(ctx, node, 'net.ipv6.conf.all.forwarding');
    const force = h.in ? await sysctl(ctx, node, `net.ipv6.conf.${ifKey(h.in)}.force_forwarding`) : undefined;
    if (fwd === '0' && force !== '1')
      return {
        disposition: 'dropped-no-route',
        node,
        cause: `${node} does not forward IPv6 (net.ipv6.conf.all.forwarding=0) and ${at.sel.to} is not its own`,
        hint: await preferStage(
          ctx,
          node,
          at.sel,
          'forwarding',
          sysctlFix(node, [['net.ipv6.conf.all.forwarding', '1']]),
        ),
      };
  }
  const after = AFTER[path];
  const hooks = [...before, ...after];
  const p = { ...at.nft, dst: at.sel.to, oif: path === 'input' ? '' : (route.dev ?? '') };
  const post = through(rs, after, p);
  const merged = { ...post, may: [...pre.may, ...post.may], uncertain: pre.uncertain ?? post.uncertain };
  const counter = counted(ctx, rs, node, hooks, p);
  if (counter.length || post.drop) return firewallFinding(ctx, rs, node, hooks, p, merged)!;
  if (path !== 'input') {
    const n = await neighbour(ctx, node, route, at.sel, g);
    if (n) return n;
  }
  return (
    firewallFinding(ctx, rs, node, hooks, p, merged) ??
    notFound(node, `routed ${path === 'input' ? 'locally' : `to ${route.dev ?? '?'}`}${markWords(at)}`)
  );
}

/** A host that has no address of this family: the usual reason in a lab for a packet it cannot send. */
function hasFamily(ctx: WhyContext, node: string, f: 4 | 6): boolean {
  return addressesOf(ctx, node).some(
    (a) => a.cidr.family === f && !(f === 6 && a.cidr.address.toLowerCase().startsWith('fe80:')),
  );
}

/**
 * Nothing left the sender: its kernel's route to where it was sent. No route (often: the node has no address of that
 * family at all) is said as such; a route gives the drop causes of the node's output (firewall, neighbour).
 */
export async function unsent(ctx: WhyContext, t: Trace): Promise<Finding> {
  const node = t.at!;
  const to = t.to!;
  const f = family(to);
  // nothing was captured: what the test sent, as far as its spec says
  const sent = ctx.proto && ctx.proto !== 'icmp' && ctx.port !== undefined ? { proto: ctx.proto, dport: ctx.port } : {};
  const h: TraceHop = { node, src: '', dst: to, ...sent, evidence: [] };
  const at = await packetAt(ctx, h, 'request', undefined, { noFrom: true });
  const g = await routeGet(ctx, node, at.sel);
  if (refuses(g)) {
    const cause = `${node}: no route to ${to} (${g.error ?? g.route?.type}): the kernel refused to send`;
    if (!hasFamily(ctx, node, f))
      return {
        disposition: 'not-sent',
        node,
        cause: `${cause}; ${node} has no IPv${f} address`,
        hint: noFix(
          `${node} has no IPv${f} address: giving it one (on a link toward ${to}, with a route back to it) is a change to the lab, not a command nslab can check`,
        ),
      };
    const refusal = await agreedLookup(ctx, node, at.sel, g);
    return {
      disposition: 'not-sent',
      node,
      cause: `${node}: no route to ${to}${uidWords(at)} (${g.error ?? g.route?.type})${refusalWords(ctx, node, refusal)}: the kernel refused to send`,
      hint: await preferStage(
        ctx,
        node,
        at.sel,
        'no-route',
        () => routeTo(ctx, node, at.sel, g, refusal),
        undefined,
        refusal?.table,
      ),
    };
  }
  const src = g.route!.prefsrc ?? '';
  const d = await death(ctx, { node, src, dst: to, ...sent, evidence: [] }, 'request', undefined);
  return { ...d, disposition: 'not-sent', cause: d.cause.replace(/^[^:]+: /, `${node}: nothing left it: `) };
}

/** An echo the target's sysctl `key` (set to 1) keeps it from answering, with the stage's or the sysctl's fix. */
async function echoIgnored(
  ctx: WhyContext,
  node: string,
  what: string,
  kind: 'echo-ignored' | 'broadcast-ignored',
  key: string,
): Promise<{ reply: Finding & { decision: string } }> {
  const cause = `${node}: ${what} (${key}=1)`;
  return {
    reply: {
      disposition: 'unanswered',
      node,
      decision: cause,
      cause,
      hint: await preferStage(ctx, node, undefined, kind, sysctlFix(node, [[key, '0']])),
    },
  };
}

/** A request that arrived and got no answer: a drop on its way in, echoes ignored, no route back, the output. */
export async function unanswered(
  ctx: WhyContext,
  request: Trace,
): Promise<{ died?: Finding; reply?: Finding & { decision: string } }> {
  const last = request.hops[request.hops.length - 1]!;
  const node = last.node;
  const d = await death(ctx, last, 'request', request);
  if (d.disposition !== 'dropped' && d.disposition !== 'dropped-no-neighbour') return { died: d };
  const f = family(last.dst);
  const dst = last.nat?.dst ?? last.dst;
  if (ctx.proto === 'icmp') {
    const key = f === 6 ? 'net.ipv6.icmp.echo_ignore_all' : 'net.ipv4.icmp_echo_ignore_all';
    if ((await sysctl(ctx, node, key)) === '1')
      return echoIgnored(ctx, node, `the request arrived; ${node} ignores echo requests`, 'echo-ignored', key);
  }
  // an echo to a broadcast address: the kernel's route for it says so (`ip route get` answers `broadcast`)
  if (ctx.proto === 'icmp' && f === 4 && last.in) {
    const b = await routeGet(ctx, node, { to: dst, from: last.src, iif: last.in });
    const key = 'net.ipv4.icmp_echo_ignore_broadcasts';
    if (b.route?.type === 'broadcast' && (await sysctl(ctx, node, key)) === '1')
      return echoIgnored(
        ctx,
        node,
        `the request arrived, to the broadcast address ${dst}; ${node} ignores echo requests to a broadcast address`,
        'broadcast-ignored',
        key,
      );
  }
  // the answer: from where the request went, back to its source, in its connection
  const answer: TraceHop = {
    node,
    src: dst,
    dst: last.src,
    ...(last.proto ? { proto: last.proto } : {}),
    ...(last.dport !== undefined ? { sport: last.nat?.dport ?? last.dport } : {}),
    ...(last.sport !== undefined ? { dport: last.sport } : {}),
    evidence: [],
  };
  const at = await packetAt(ctx, answer, 'reply', request);
  // where the answer's route depends on what nslab cannot know, it says so rather than answer for another packet
  if (at.uidUnknown || at.markUnknown) {
    const cause = `${node}: the request arrived; where its answer went is not established: ${
      at.uidUnknown
        ? `the uid of its socket is not known: ${at.uidUnknown}`
        : `a rule of ${node} selects by mark, and nslab cannot know this packet's: ${at.markUnknown}`
    }`;
    return {
      reply: {
        disposition: 'unanswered',
        node,
        decision: cause,
        cause: `its answer's ${at.uidUnknown ? 'uid' : 'mark'} is not known`,
        hint: noFix(at.uidUnknown ? UID_UNKNOWN : 'the routing decision depends on a mark nslab cannot tell'),
      },
    };
  }
  const g = await routeGet(ctx, node, at.sel);
  if (refuses(g)) {
    const refusal = await agreedLookup(ctx, node, at.sel, g);
    const cause = `${node}: no route back to ${last.src} from ${dst}${markWords(at)}${uidWords(at)} (${g.error ?? g.route?.type})`;
    return {
      reply: {
        disposition: 'unanswered',
        node,
        decision: cause,
        cause: 'no route for the reply',
        hint: await preferStage(
          ctx,
          node,
          at.sel,
          'no-route',
          () => routeTo(ctx, node, at.sel, g, refusal),
          (add) => checkRouting(ctx, node, at.sel, g, add, (l) => l.type === 'unicast'),
          refusal?.table,
        ),
      },
    };
  }
  // an answer its own output firewall takes leaves no trace: walk it out
  const rs = await rulesetOf(ctx, node);
  const hooks = AFTER.output;
  const conn = await connMark(ctx, request, node);
  const p: NftPacket = {
    ...nftPacket(ctx, answer, 'reply', {
      state: 'established',
      ...(conn.mark !== undefined ? { mark: conn.mark } : {}),
    }),
    oif: g.route!.dev ?? '',
  };
  const out = firewallFinding(ctx, rs, node, hooks, p, through(rs, hooks, p));
  if (out && out.disposition === 'dropped-filtered' && (out.counted || !out.suspects))
    return {
      reply: {
        ...out,
        decision: `${node}: the request arrived; its answer did not leave: ${out.cause.replace(/^[^:]+: /, '')}`,
      },
    };
  const suspects = out?.suspects
    ? `; the firewall's output hook has drop rules ${out.disposition === 'dropped-filtered' ? 'naming its addresses, which may take it' : 'that may take it'}: ${out.suspects.join('; ')}`
    : '';
  return {
    reply: {
      disposition: 'unanswered',
      node,
      decision: `${node}: the request arrived; nothing answered it (no listener, or the answer was not a reply nslab recognises${suspects ? ', or its firewall took it' : ''})${suspects}`,
      cause: 'no answer',
      hint:
        out?.hint && suspects
          ? out.hint
          : noFix(
              `${node} routes the answer back (${describeRoute({ dst: last.src, ...g.route! })}), and nothing nslab checks (echo sysctls, its firewall, the neighbour) keeps it`,
            ),
    },
  };
}

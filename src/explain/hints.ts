// Hints: a fix for what went wrong, as complete commands for one node, or the lines of
// a stage not yet applied that bear on the packet there. A routing fix is checked
// before it is printed: nslab's own reading of the node's rules and tables must give
// what the kernel answers for the packet now, and, with the fix's rules and routes
// added, the route the fix is for (fib.ts). Where no fix can be made or checked, the
// hint is "no fix found" and says what was checked.
import { inSubnet, networkOf, parsePrefix, type Cidr } from '../lab/addr.js';
import { tableNameOf } from '../lab/iproute.js';
import type { LabModel, Line, NodeConfig } from '../lab/model.js';
import { lookup, ruleSelects, type Lookup, type RouteRow, type RuleRow, type Selectors } from './fib.js';
import { agrees, describeRoute, family, routesOf, rulesOf, type RouteGot, type WhyContext } from './kernel.js';

/** Complete commands for one node, and the stage they come from, if they do. */
export interface Fix {
  node: string;
  commands: string[];
  stage?: string;
}
/** A fix, or why none is given. */
export type Hint = { fix: Fix } | { none: string };

export const hintText = (f: Fix) =>
  `on ${f.node}: ${f.commands.join('; ')}${f.stage ? ` (as stage '${f.stage}' applies)` : ''}`;

export const noFix = (why: string): Hint => ({ none: why });

// ---- the lab's addresses and links ----

/** Every address a node has (its interfaces', and those of the stages applied so far), with the interface. */
export function addressesOf(ctx: WhyContext, node: string): { iface: string; cidr: Cidr }[] {
  const n = ctx.model.nodes.find((x) => x.name === node);
  const base = n?.interfaces.flatMap((i) => i.addresses.map((cidr) => ({ iface: i.name, cidr }))) ?? [];
  const staged = ctx.model.stages
    .filter((st) => ctx.applied.includes(st.name))
    .flatMap((st) => st.apply.get(node)?.addresses ?? []);
  return [...base, ...staged];
}

/** The node that owns an address, and the address with its prefix. */
export function ownerOf(ctx: WhyContext, addr: string): { node: string; iface: string; cidr: Cidr } | undefined {
  for (const n of ctx.model.nodes)
    for (const a of addressesOf(ctx, n.name)) if (a.cidr.address === addr) return { node: n.name, ...a };
  return undefined;
}

/** The configuration of a node as it is now: its base settings and those of the stages applied. */
const configs = (ctx: WhyContext, node: string): NodeConfig[] => [
  ...(ctx.model.nodes.find((n) => n.name === node)?.config
    ? [ctx.model.nodes.find((n) => n.name === node)!.config]
    : []),
  ...ctx.model.stages.filter((st) => ctx.applied.includes(st.name)).flatMap((st) => st.apply.get(node) ?? []),
];

/** Whether a node forwards this family, by the lab's settings (the last one set wins). */
function forwards(ctx: WhyContext, node: string, f: 4 | 6): boolean {
  const key = f === 6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward';
  const set = configs(ctx, node).flatMap((c) => c.sysctl.filter(([k]) => k === key));
  return set.length > 0 && set[set.length - 1]![1] === '1';
}

/** Each neighbour of a node: its interface, the neighbour, and the neighbour's interface (bridges are crossed). */
export function neighbours(model: LabModel, node: string): { iface: string; node: string; peerIface: string }[] {
  const bridge = (n: string) => model.nodes.find((x) => x.name === n)?.kind === 'bridge';
  const out: { iface: string; node: string; peerIface: string }[] = [];
  for (const l of model.links) {
    const [mine, other] = l.a.node === node ? [l.a, l.b] : l.b.node === node ? [l.b, l.a] : [];
    if (!mine || !other) continue;
    if (!bridge(other.node)) out.push({ iface: mine.iface, node: other.node, peerIface: other.iface });
    else
      for (const m of model.links) {
        const [br, far] = m.a.node === other.node ? [m.a, m.b] : m.b.node === other.node ? [m.b, m.a] : [];
        if (br && far && far.node !== node) out.push({ iface: mine.iface, node: far.node, peerIface: far.iface });
      }
  }
  return out;
}

/**
 * The first hop from a node toward an address of the lab, through nodes that forward that family: the interface to
 * leave by and the neighbour's address there (none where the address is on that link itself), and the address's
 * prefix as its owner has it.
 */
export function toward(
  ctx: WhyContext,
  node: string,
  addr: string,
): { iface: string; via?: string; prefix: string; owner: string } | undefined {
  const owner = ownerOf(ctx, addr);
  if (!owner) return undefined;
  const f = family(addr);
  const prefix = owner.cidr.prefix === (f === 6 ? 128 : 32) ? addr : networkOf(owner.cidr);
  const first = new Map<string, { iface: string; node: string; peerIface: string }>();
  const queue = [node];
  const seen = new Set([node]);
  while (queue.length) {
    const n = queue.shift()!;
    if (n === owner.node) break;
    if (n !== node && !forwards(ctx, n, f)) continue;
    for (const nb of neighbours(ctx.model, n)) {
      if (seen.has(nb.node)) continue;
      seen.add(nb.node);
      first.set(nb.node, n === node ? nb : first.get(n)!);
      queue.push(nb.node);
    }
  }
  const hop = first.get(owner.node);
  if (!hop) return undefined;
  const mine = addressesOf(ctx, node).filter((a) => a.iface === hop.iface && a.cidr.family === f);
  if (mine.some((a) => inSubnet(addr, a.cidr))) return { iface: hop.iface, prefix, owner: owner.node };
  const via = addressesOf(ctx, hop.node).find(
    (a) => a.iface === hop.peerIface && a.cidr.family === f && mine.some((m) => inSubnet(a.cidr.address, m.cidr)),
  );
  return via ? { iface: hop.iface, via: via.cidr.address, prefix, owner: owner.node } : undefined;
}

/** A neighbour's address on the link into one of a node's interfaces (the gateway a reply should go back by). */
export function gatewayOn(ctx: WhyContext, node: string, iface: string, f: 4 | 6): string | undefined {
  const mine = addressesOf(ctx, node).filter((a) => a.iface === iface && a.cidr.family === f);
  for (const nb of neighbours(ctx.model, node).filter((x) => x.iface === iface))
    for (const a of addressesOf(ctx, nb.node))
      if (a.iface === nb.peerIface && a.cidr.family === f && mine.some((m) => inSubnet(a.cidr.address, m.cidr)))
        return a.cidr.address;
  return undefined;
}

// ---- rules and routes, as lines and as rows nslab can look up in ----

const arg = (args: string[], k: string) => {
  const i = args.indexOf(k);
  return i >= 0 ? args[i + 1] : undefined;
};

/** A rule's checked words (lab/iproute.ts spells them out) as `ip -j rule` would show it. */
export function ruleRowOf(args: string[], existing: RuleRow[]): RuleRow {
  const prefix = (v: string | undefined) => {
    if (!v || ['all', 'any', 'default'].includes(v)) return {};
    const p = parsePrefix(v);
    return p ? { net: p.address, len: p.prefix } : {};
  };
  const from = prefix(arg(args, 'from'));
  const to = prefix(arg(args, 'to'));
  const range = (v: string | undefined, k: 'sport' | 'dport') => {
    if (!v) return {};
    const [lo, hi] = v.split('-').map(Number);
    return hi === undefined ? { [k]: lo } : { [`${k}_start`]: lo, [`${k}_end`]: hi };
  };
  const [mark, mask] = (arg(args, 'fwmark') ?? '').split('/');
  const uid = arg(args, 'uidrange')?.split('-').map(Number);
  const prio =
    arg(args, 'priority') !== undefined
      ? Number(arg(args, 'priority'))
      : Math.min(...existing.map((r) => r.priority).filter((p) => p > 0), 32766) - 1;
  const action = ['blackhole', 'unreachable', 'prohibit', 'nop'].find((a) => args.includes(a));
  return {
    priority: prio,
    src: from.net ?? 'all',
    ...(from.len !== undefined ? { srclen: from.len } : {}),
    ...(to.net ? { dst: to.net, dstlen: to.len } : {}),
    ...(arg(args, 'iif') ? { iif: arg(args, 'iif') } : {}),
    ...(arg(args, 'oif') ? { oif: arg(args, 'oif') } : {}),
    ...(mark ? { fwmark: mark, ...(mask ? { fwmask: mask } : {}) } : {}),
    ...((arg(args, 'tos') ?? arg(args, 'dsfield')) ? { tos: arg(args, 'tos') ?? arg(args, 'dsfield') } : {}),
    ...(arg(args, 'ipproto') ? { ipproto: Number(arg(args, 'ipproto')) } : {}),
    ...range(arg(args, 'sport'), 'sport'),
    ...range(arg(args, 'dport'), 'dport'),
    ...(uid ? { uid_start: uid[0], uid_end: uid[1] ?? uid[0] } : {}),
    ...(args.includes('not') ? { not: null } : {}),
    ...(arg(args, 'goto') ? { goto: Number(arg(args, 'goto')) } : {}),
    ...(action ? { action } : { table: arg(args, 'table') ?? '254' }),
    ...(arg(args, 'suppress_prefixlength') ? { suppress_prefixlen: Number(arg(args, 'suppress_prefixlength')) } : {}),
  };
}

const ROUTE_TYPES = ['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole'];

/** A route's checked words as `ip -j route show table all` would show it. */
export function routeRowOf(args: string[]): RouteRow {
  const a = args.filter((x) => x !== '-4' && x !== '-6');
  const typed = ROUTE_TYPES.includes(a[0]!);
  const dst = a[typed ? 1 : 0]!;
  const table = arg(a, 'table');
  return {
    ...(typed && a[0] !== 'unicast' ? { type: a[0] } : {}),
    dst,
    ...(arg(a, 'from') ? { from: arg(a, 'from') } : {}),
    ...(arg(a, 'via') ? { gateway: arg(a, 'via') } : {}),
    ...(arg(a, 'dev') ? { dev: arg(a, 'dev') } : {}),
    ...(arg(a, 'src') ? { prefsrc: arg(a, 'src') } : {}),
    ...(arg(a, 'metric') ? { metric: Number(arg(a, 'metric')) } : {}),
    ...((arg(a, 'tos') ?? arg(a, 'dsfield')) ? { tos: arg(a, 'tos') ?? arg(a, 'dsfield') } : {}),
    ...(table && table !== '254' && table !== 'main' ? { table } : {}),
    ...(a.includes('nexthop') ? { nexthops: [] } : {}),
  };
}

/** What makes two routes the same entry to `ip route replace`: table, destination, source (IPv6), tos, metric. */
function sameEntry(a: RouteRow, b: RouteRow, f: 4 | 6): boolean {
  const norm = (d: string) => {
    if (d === 'default') return f === 6 ? '::/0' : '0.0.0.0/0';
    const p = parsePrefix(d);
    return p ? `${p.address}/${p.prefix}` : d;
  };
  const metric = (r: RouteRow) => r.metric ?? (f === 6 ? 1024 : 0);
  return (
    (a.table ?? '254') === (b.table ?? '254') &&
    norm(a.dst) === norm(b.dst) &&
    (a.from ?? '') === (b.from ?? '') &&
    Number(a.tos ?? 0) === Number(b.tos ?? 0) &&
    metric(a) === metric(b)
  );
}

/** The rules and routes of a node's table with a fix applied: rules added, routes added or replacing their entry. */
function withChange(rules: RuleRow[], routes: RouteRow[], add: { rules: RuleRow[]; routes: RouteRow[] }, f: 4 | 6) {
  return {
    rules: [...rules, ...add.rules],
    routes: [
      ...routes.filter((r) => !add.routes.some((x) => sameEntry(r, { ...x, table: x.table }, f))),
      ...add.routes,
    ],
  };
}

/**
 * Checks a routing fix over the node's own rules and tables: true when, with it, the packet gets what `want` asks; else
 * what was found. Only where nslab's lookup agrees with the kernel's answer for the lab as it is.
 */
export async function checkRouting(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
  add: { rules: RuleRow[]; routes: RouteRow[] },
  want: (l: Lookup) => boolean,
): Promise<true | string> {
  const f = family(s.to);
  const [rules, routes] = await Promise.all([rulesOf(ctx, node, f), routesOf(ctx, node, f)]);
  const now = lookup(rules, routes, s);
  if (!now || !agrees(now, got))
    return `nslab's reading of ${node}'s rules and tables does not give what its kernel answers for this packet, so no change to them could be checked`;
  // a route through a gateway without a device (as a lab writes it) leaves by the interface whose subnet holds it
  const onLink = (gw: string) =>
    addressesOf(ctx, node).find((a) => a.cidr.family === f && inSubnet(gw, a.cidr) && a.cidr.address !== gw)?.iface;
  const resolved = add.routes.map((r) => (r.gateway && !r.dev ? { ...r, dev: onLink(r.gateway) } : r));
  const after = withChange(rules, routes, { rules: add.rules, routes: resolved }, f);
  const l = lookup(after.rules, after.routes, s);
  if (!l) return `nslab cannot tell what ${node} would do with the change`;
  return want(l)
    ? true
    : `with the change, ${node} would still ${l.route ? `route it ${describeRoute(l.route)}` : `find ${l.type}`}`;
}

// ---- stage hints ----

const ruleText = (l: Line) => `ip ${l.family === 6 ? '-6 ' : ''}rule add ${l.text.replace(/^-[46]\s+/, '')}`;
const routeText = (l: Line) => `ip ${l.family === 6 ? '-6 ' : ''}route replace ${l.text.replace(/^-[46]\s+/, '')}`;

/** The kind of cause a stage's sysctls may fix, by key. */
const SYSCTL_FOR: Record<string, RegExp> = {
  'rp-filter': /\.rp_filter$|\.accept_local$/,
  forwarding: /ip_forward$|\.forwarding$/,
  'echo-ignored': /icmp_echo_ignore_all$|icmp\.echo_ignore_all$/,
  'broadcast-ignored': /icmp_echo_ignore_broadcasts$/,
  'arp-silent': /\.arp_(ignore|filter)$/,
};

/** The lines of one stage's apply for a node that bear on this packet: rules that select it, their tables' routes. */
function relevantLines(
  ctx: WhyContext,
  cfg: NodeConfig,
  node: string,
  s: Selectors,
  usedTable: string | undefined,
  existing: RuleRow[],
) {
  const f = family(s.to);
  const base = ctx.model.nodes.find((n) => n.name === node)?.config;
  const rules = cfg.rules
    .filter((l) => l.family === f && !l.args.includes('not'))
    .filter((l) => {
      const row = ruleRowOf(l.args, existing);
      // a rule with no selector of its own (only a table) is no answer to this packet
      return (
        (row.src !== 'all' || row.dst || row.fwmark || row.iif || row.ipproto !== undefined) && ruleSelects(row, s)
      );
    });
  const tables = new Set(rules.map((l) => arg(l.args, 'table') ?? '254'));
  if (usedTable && usedTable !== '254' && usedTable !== '255') tables.add(usedTable);
  const tableOf = (l: Line) => arg(l.args, 'table') ?? '254';
  const holds = (l: Line) => {
    const r = routeRowOf(l.args);
    const p = r.dst === 'default' ? undefined : parsePrefix(r.dst);
    return (!p || inSubnet(s.to, p)) && (!r.from || (!!s.from && inSubnet(s.from, parsePrefix(r.from)!)));
  };
  const len = (l: Line) => {
    const d = routeRowOf(l.args).dst;
    return d === 'default' ? 0 : (parsePrefix(d)?.prefix ?? 0);
  };
  const main = cfg.routes.filter(
    (l) =>
      l.family === f &&
      tableOf(l) === '254' &&
      !base?.routes.some((b) => b.text === l.text) && // already there: not what changes
      holds(l),
  );
  // of the main routes, only those that would win for this packet: the longest prefix
  const best = Math.max(-1, ...main.map(len));
  const routes = cfg.routes.filter(
    (l) =>
      l.family === f &&
      (tableOf(l) !== '254' ? tables.has(tableOf(l)) && holds(l) : main.includes(l) && len(l) === best),
  );
  return { rules, routes };
}

/**
 * The first stage not yet applied whose lines for this node bear on the packet and on this cause: routing lines
 * (checked with `check` where given: the fix must do what the hint is for), or the sysctls for a cause that is one.
 */
export async function stageHint(
  ctx: WhyContext,
  node: string,
  s: Selectors | undefined,
  cause: string,
  check?: (add: { rules: RuleRow[]; routes: RouteRow[] }) => Promise<true | string>,
  usedTable?: string,
): Promise<Fix | undefined> {
  const f = s ? family(s.to) : 4;
  const existing = s ? await rulesOf(ctx, node, f) : [];
  for (const st of ctx.model.stages) {
    if (ctx.applied.includes(st.name)) continue;
    const cfg = st.apply.get(node);
    if (!cfg) continue;
    const key = SYSCTL_FOR[cause];
    if (key) {
      const lines = cfg.sysctl
        .filter(([k]) => key.test(k) && (k.includes(f === 6 ? 'ipv6' : 'ipv4') || cause !== 'forwarding'))
        .map(([k, v]) => `sysctl -w ${k}=${v}`);
      if (lines.length) return { node, commands: [lines.join(' ').replace(/ sysctl -w /g, ' ')], stage: st.name };
      continue;
    }
    if (!s) continue;
    const { rules, routes } = relevantLines(ctx, cfg, node, s, usedTable, existing);
    if (!rules.length && !routes.length) continue;
    if (check) {
      const ok = await check({
        rules: rules.map((l) => ruleRowOf(l.args, existing)),
        routes: routes.map((l) => routeRowOf(l.args)),
      });
      if (ok !== true) continue;
    }
    return { node, commands: [...rules.map(ruleText), ...routes.map(routeText)], stage: st.name };
  }
  return undefined;
}

// ---- generic routing fixes ----

const ipCmd = (f: 4 | 6) => (f === 6 ? 'ip -6' : 'ip');

/** A table as written inside the node: its name where the lab gives it one. */
export const tableWord = (ctx: WhyContext, node: string, id: string) =>
  tableNameOf(ctx.model.nodes.find((n) => n.name === node)?.tables ?? {}, id);

/** A route's words for `ip route replace`, from a row. */
export function routeWords(ctx: WhyContext, node: string, r: RouteRow, f: 4 | 6): string {
  const table = r.table && r.table !== '254' && r.table !== 'main' ? r.table : undefined;
  return [
    r.type && r.type !== 'unicast' ? r.type : '',
    r.dst,
    r.from ? `from ${r.from}` : '',
    r.gateway ? `via ${r.gateway}` : '',
    r.dev ? `dev ${r.dev}` : '',
    r.metric !== undefined && r.metric !== (f === 6 ? 1024 : 0) ? `metric ${r.metric}` : '',
    table ? `table ${tableWord(ctx, node, table)}` : '',
    r.prefsrc ? `src ${r.prefsrc}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/** A table id no rule or route of the node uses, nor the lab names: where a fix's own table goes. */
export async function freeTable(ctx: WhyContext, node: string): Promise<string> {
  const [r4, r6, t4, t6] = await Promise.all([
    rulesOf(ctx, node, 4),
    rulesOf(ctx, node, 6),
    routesOf(ctx, node, 4),
    routesOf(ctx, node, 6),
  ]);
  const named = Object.values(ctx.model.nodes.find((n) => n.name === node)?.tables ?? {}).map(String);
  const used = new Set([
    ...[...r4, ...r6].map((r) => r.table ?? ''),
    ...[...t4, ...t6].map((r) => r.table ?? ''),
    ...named,
  ]);
  let id = 100;
  while (used.has(String(id))) id++;
  return String(id);
}

/** A fix made of routes (and rules) for one node: its commands, checked over the node's tables. */
export async function routingFix(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
  add: { rules: RuleRow[]; routes: RouteRow[]; commands: string[] },
  want: (l: Lookup) => boolean,
): Promise<Hint> {
  const ok = await checkRouting(ctx, node, s, got, add, want);
  return ok === true ? { fix: { node, commands: add.commands } } : noFix(ok);
}

/** A route to the destination (replacing the entry that refuses it, where one does), toward the node that owns it. */
export async function routeTo(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
  refusal: Lookup | undefined,
): Promise<Hint> {
  const f = family(s.to);
  const t = toward(ctx, node, s.to);
  if (!ownerOf(ctx, s.to)) return noFix(`${s.to} is no address of the lab's nodes`);
  if (!t) return noFix(`no path in the lab leads from ${node} to ${s.to} through nodes that forward IPv${f}`);
  // an entry that refuses it (unreachable, blackhole, prohibit) is replaced, in its table; else a route is added
  const entry = refusal?.route && refusal.route.type && refusal.route.type !== 'unicast' ? refusal.route : undefined;
  if (refusal?.rule && !refusal.route && refusal.type !== 'none')
    return noFix(`rule ${refusal.rule.priority} itself refuses it (${refusal.type}): a route cannot change that`);
  const row: RouteRow = {
    dst: entry ? entry.dst : t.prefix,
    ...(t.via ? { gateway: t.via } : {}),
    dev: t.iface,
    ...(entry?.table ? { table: entry.table } : {}),
    ...(entry?.metric !== undefined ? { metric: entry.metric } : {}),
  };
  const verb = entry ? 'replace' : 'add';
  const words = routeWords(ctx, node, row.gateway ? { ...row, dev: undefined } : row, f);
  return routingFix(
    ctx,
    node,
    s,
    got,
    { rules: [], routes: [{ ...row, table: row.table }], commands: [`${ipCmd(f)} route ${verb} ${words}`] },
    (l) => l.type === 'unicast' && l.route?.dev === t.iface,
  );
}

/**
 * A reply that should leave by `want`: where a rule's own table routed it, that table's entry through `want`; where main
 * did, a table of its own for the source, with the rule that selects it.
 */
export async function replyThrough(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
  used: Lookup | undefined,
  want: string,
  gw: string | undefined,
): Promise<Hint> {
  const f = family(s.to);
  if (!s.from) return noFix('the packet has no source to select it by');
  if (!gw) return noFix(`no neighbour of ${node} on ${want} has an IPv${f} address to send it back through`);
  const ip = ipCmd(f);
  const table = used?.table;
  if (used?.rule && used.route && table && !['254', '255', '253'].includes(table)) {
    const row: RouteRow = { dst: used.route.dst, gateway: gw, dev: want, table };
    if (used.route.metric !== undefined) row.metric = used.route.metric;
    return routingFix(
      ctx,
      node,
      s,
      got,
      { rules: [], routes: [row], commands: [`${ip} route replace ${routeWords(ctx, node, row, f)}`] },
      (l) => l.route?.dev === want,
    );
  }
  const id = await freeTable(ctx, node);
  const existing = await rulesOf(ctx, node, f);
  const rule = ruleRowOf(['from', s.from, 'table', id], existing);
  const link = addressesOf(ctx, node).find((a) => a.iface === want && a.cidr.family === f);
  const routes: RouteRow[] = [
    ...(link ? [{ dst: networkOf(link.cidr), dev: want, table: id }] : []),
    { dst: 'default', gateway: gw, dev: want, table: id },
  ];
  return routingFix(
    ctx,
    node,
    s,
    got,
    {
      rules: [rule],
      routes,
      commands: [
        ...routes.map((r) => `${ip} route replace ${routeWords(ctx, node, r, f)}`),
        `${ip} rule add from ${s.from} table ${id}`,
      ],
    },
    (l) => l.route?.dev === want,
  );
}

/** The route the kernel took, given the source the test expected (which must be the node's own address). */
export async function sourceByRoute(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
  used: Lookup | undefined,
  source: string,
): Promise<Hint> {
  const f = family(s.to);
  if (!addressesOf(ctx, node).some((a) => a.cidr.address === source))
    return noFix(`${source} is not an address of ${node}: the kernel refuses a route's src that is not its own`);
  if (!used?.route) return noFix(`nslab cannot tell which route of ${node} the kernel took`);
  const row: RouteRow = { ...used.route, prefsrc: source, ...(used.table !== '254' ? { table: used.table } : {}) };
  delete row.flags;
  delete row.protocol;
  delete row.scope;
  return routingFix(
    ctx,
    node,
    s,
    got,
    { rules: [], routes: [row], commands: [`${ipCmd(f)} route replace ${routeWords(ctx, node, row, f)}`] },
    (l) => l.route?.prefsrc === source,
  );
}

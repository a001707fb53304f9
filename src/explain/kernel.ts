// Asking a node's kernel: `ip route get` with the packet's selectors, its rules and
// routes (read once per node and family for one explanation), its nftables, a sysctl.
// The words of a routing decision are built here; the why (why.ts) uses them.
import type { Moved } from '../capture/counters.js';
import { inSubnet, parsePrefix } from '../lab/addr.js';
import type { LabModel, NodeModel } from '../lab/model.js';
import type { ExpectT } from '../lab/schema.js';
import { tableNameOf } from '../lab/iproute.js';
import { parseRouteGet, type RouteGet } from '../probes/route.js';
import { lookup, type Lookup, type RouteRow, type RuleRow, type Selectors } from './fib.js';
import { parseRuleset, type Ruleset } from './nft.js';

export type { RouteRow, RuleRow, Selectors } from './fib.js';

/** What the kernel answers: a command's exit status and output. */
export type Ask = (node: string, argv: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;

export interface WhyContext {
  model: LabModel;
  /** the stages applied to the lab so far: a stage not among them may hold the fix */
  applied: string[];
  expect: ExpectT;
  ask: Ask;
  /** firewall rules whose counters moved during the probe */
  counters?: Moved[];
  /** the probe's protocol: a firewall rule that names only other protocols is not a suspect */
  proto?: 'icmp' | 'tcp' | 'udp';
  /** the port the test sends to (tcp, udp), where it names one: what a packet that never left would have carried */
  port?: number;
  /**
   * who answers the request: nslab (its listener or responder, or the kernel's echo reply: uid 0), or a program of the
   * lab's (`listen: false`, http), whose socket's uid nslab does not know
   */
  answeredBy?: 'nslab' | 'lab';
  /** what was read of each node for this explanation (filled as it goes) */
  cache?: Map<string, Promise<unknown>>;
}

/** The protocol a probe's packets carry, for the why (undefined: a probe that sends none nslab follows). */
// http is tcp on the wire: its drops are the tcp rules'
export const protoOf = (probe: string): WhyContext['proto'] =>
  probe === 'ping' ? 'icmp' : probe === 'tcp' || probe === 'http' ? 'tcp' : probe === 'udp' ? 'udp' : undefined;

/** Who answers a test's request (WhyContext.answeredBy): nslab's own listener, unless the test says a lab's does. */
export const answeredBy = (probe: string, spec: unknown): WhyContext['answeredBy'] =>
  probe === 'http' || ((probe === 'tcp' || probe === 'udp') && (spec as { listen?: unknown }).listen === false)
    ? 'lab'
    : 'nslab';

/** What `ip route get` answered (the route probe's parser: table as an id). */
export type RouteGot = RouteGet;

export const family = (a: string): 4 | 6 => (a.includes(':') ? 6 : 4);
export const fam = (a: string) => (family(a) === 6 ? ['-6'] : ['-4']);

/** One read per node (and what else keys it) for one explanation: the lab does not change while it is explained. */
function once<T>(ctx: WhyContext, key: string, read: () => Promise<T>): Promise<T> {
  ctx.cache ??= new Map();
  if (!ctx.cache.has(key)) ctx.cache.set(key, read());
  return ctx.cache.get(key) as Promise<T>;
}

function json<T>(r: { exitCode: number; stdout: string }, empty: T): T {
  if (r.exitCode !== 0) return empty;
  try {
    return JSON.parse(r.stdout || 'null') as T;
  } catch {
    return empty;
  }
}

export const rulesOf = (ctx: WhyContext, node: string, f: 4 | 6) =>
  once(ctx, `rules ${node} ${f}`, async () =>
    json<RuleRow[]>(await ctx.ask(node, ['ip', '-j', `-${f}`, 'rule', 'show']), []),
  );

/** Every table's routes (`table all`: main's rows carry no table). */
export const routesOf = (ctx: WhyContext, node: string, f: 4 | 6) =>
  once(ctx, `routes ${node} ${f}`, async () =>
    json<RouteRow[]>(await ctx.ask(node, ['ip', '-j', `-${f}`, 'route', 'show', 'table', 'all']), []),
  );

/** The node's nftables: `nft -j` for what the rules mean, `nft -a` for their words (empty where nft fails). */
export const rulesetOf = (ctx: WhyContext, node: string): Promise<Ruleset> =>
  once(ctx, `nft ${node}`, async () => {
    const [j, a] = await Promise.all([
      ctx.ask(node, ['nft', '-j', 'list', 'ruleset']),
      ctx.ask(node, ['nft', '-a', 'list', 'ruleset']),
    ]);
    try {
      return j.exitCode === 0 && a.exitCode === 0 ? parseRuleset(j.stdout, a.stdout) : { chains: [], sets: new Map() };
    } catch {
      return { chains: [], sets: new Map() };
    }
  });

export async function sysctl(ctx: WhyContext, node: string, key: string): Promise<string | undefined> {
  return once(ctx, `sysctl ${node} ${key}`, async () => {
    const r = await ctx.ask(node, ['sysctl', '-n', key]);
    return r.exitCode === 0 ? r.stdout.trim() : undefined;
  });
}

/** A sysctl key for an interface: a dot in its name is written as `/`, as sysctl(8) does. */
export const ifKey = (iface: string) => iface.replace(/\./g, '/');

/** The words `ip route get` takes for these selectors. */
export function selectorArgs(s: Selectors): string[] {
  const out = [s.to];
  if (s.from) out.push('from', s.from);
  if (s.iif) out.push('iif', s.iif);
  if (s.oif) out.push('oif', s.oif);
  if (s.mark) out.push('mark', `0x${s.mark.toString(16)}`);
  if (s.tos) out.push('dsfield', `0x${s.tos.toString(16)}`);
  if (s.ipproto !== undefined) out.push('ipproto', String(s.ipproto));
  if (s.sport !== undefined) out.push('sport', String(s.sport));
  if (s.dport !== undefined) out.push('dport', String(s.dport));
  if (s.uid !== undefined) out.push('uid', String(s.uid));
  return out;
}

export async function routeGet(
  ctx: WhyContext,
  node: string,
  s: Selectors,
): Promise<{ route?: RouteGot; error?: string }> {
  const r = await ctx.ask(node, ['ip', '-j', ...fam(s.to), 'route', 'get', ...selectorArgs(s)]);
  if (r.exitCode !== 0)
    return { error: r.stderr.replace(/^RTNETLINK answers:\s*/m, '').trim() || `exit ${r.exitCode}` };
  try {
    const route = parseRouteGet(r.stdout);
    return route ? { route } : { error: 'no answer' };
  } catch {
    return { error: r.stdout.trim() };
  }
}

/** No route for it: `ip route get` fails, or the route refuses (unreachable, blackhole, prohibit, throw). */
export const refuses = (g: { error?: string; route?: { type?: string } }) =>
  !!g.error || ['unreachable', 'blackhole', 'prohibit', 'throw'].includes(g.route?.type ?? '');

export const tableName = (node: NodeModel | undefined, id: string | undefined) =>
  tableNameOf(node?.tables ?? {}, id ?? '254');

export function describeRoute(r: RouteRow): string {
  return [
    r.type && r.type !== 'unicast' ? r.type : '',
    r.dst,
    r.from ? `from ${r.from}` : '',
    r.gateway ? `via ${r.gateway}` : '',
    // a route that refuses has no device to speak of (IPv6 shows lo)
    r.dev && (r.type ?? 'unicast') === 'unicast' ? `dev ${r.dev}` : '',
    r.prefsrc ? `src ${r.prefsrc}` : '',
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * nslab's own lookup over the node's rules and tables, where it agrees with the kernel's answer: then its rule and
 * entry are the ones the kernel used. Undefined where it cannot tell or disagrees (nothing is then claimed of them).
 */
export async function agreedLookup(
  ctx: WhyContext,
  node: string,
  s: Selectors,
  got: { route?: RouteGot; error?: string },
): Promise<Lookup | undefined> {
  const f = family(s.to);
  const [rules, routes] = await Promise.all([rulesOf(ctx, node, f), routesOf(ctx, node, f)]);
  const l = lookup(rules, routes, s);
  return l && agrees(l, got) ? l : undefined;
}

/** Whether a lookup gives what the kernel answered: the same kind of answer, table, device and gateway. */
export function agrees(l: Lookup, got: { route?: RouteGot; error?: string }): boolean {
  if (!got.route) return l.type === 'none' || ['unreachable', 'blackhole', 'prohibit'].includes(l.type);
  const kernelType = got.route.type ?? 'unicast';
  if (l.type !== kernelType) return false;
  if (!l.route) return true;
  return (
    (l.table ?? '254') === (got.route.table ?? '254') &&
    (l.route.dev === undefined || got.route.dev === undefined || l.route.dev === got.route.dev) &&
    (l.route.gateway ?? '') === (got.route.gateway ?? '')
  );
}

/** One line: which rule picked which table, and what route it gave. */
export async function decision(
  ctx: WhyContext,
  node: string,
  what: string,
  s: Selectors,
  got: RouteGot,
  marks = '',
): Promise<{ text: string; noRuleFrom: boolean; tail: string; lookup?: Lookup }> {
  const n = ctx.model.nodes.find((x) => x.name === node);
  const rules = await rulesOf(ctx, node, family(s.to));
  const l = await agreedLookup(ctx, node, s, { route: got });
  const table = got.table ?? '254';
  const entry = l?.route;
  const shown = entry
    ? { ...entry, prefsrc: entry.prefsrc ?? (s.from ? undefined : got.prefsrc) }
    : { dst: s.to, gateway: got.gateway, dev: got.dev, prefsrc: got.prefsrc };
  const src = !s.from && got.prefsrc ? ` (the kernel picks source ${got.prefsrc})` : '';
  // rules that select by this source address (not `from all`)
  const noRuleFrom = !!s.from && !rules.some((r) => r.not === undefined && selectsFrom(r, s.from!));
  const by = l?.rule ? `rule ${l.rule.priority} (${tableName(n, table)})` : `table ${tableName(n, table)}`;
  const text = `${node}: ${what}${s.iif ? ` in on ${s.iif}` : ''}${marks} matched ${by} → ${describeRoute(shown)}${src}`;
  return {
    text,
    noRuleFrom,
    // said only where the main (or default) table answered: a rule that selects by something else chose another table
    tail: noRuleFrom && s.from && ['254', '253'].includes(table) ? `; no rule selects from ${s.from}` : '',
    ...(l ? { lookup: l } : {}),
  };
}

/** A rule that selects by this source address (not `from all`). */
function selectsFrom(r: RuleRow, from: string): boolean {
  if (!r.src || r.src === 'all') return false;
  const p = parsePrefix(r.srclen !== undefined ? `${r.src}/${r.srclen}` : r.src);
  return !!p && inSubnet(from, p);
}

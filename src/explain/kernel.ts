// Asking a node's kernel what it decided for a packet: `ip route get` with the
// packet's selectors, the `ip rule` that chose the table, the table's entry, a
// sysctl. The words of the decision are built here; the why (why.ts) uses them.
import type { Moved } from '../capture/counters.js';
import { inSubnet, parsePrefix } from '../lab/addr.js';
import type { LabModel, NodeModel } from '../lab/model.js';
import type { ExpectT } from '../lab/schema.js';
import { tableIdOf as tableId, tableNameOf } from '../lab/iproute.js';
import { parseRouteGet, type RouteGet } from '../probes/route.js';

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
}

/** The protocol a probe's packets carry, for the why (undefined: a probe that sends none nslab follows). */
export const protoOf = (probe: string): WhyContext['proto'] =>
  probe === 'ping' ? 'icmp' : probe === 'tcp' || probe === 'udp' ? probe : undefined;

export interface Selectors {
  to: string;
  from?: string;
  iif?: string;
  mark?: string;
  extra?: string[];
}
/** What `ip route get` answered (the route probe's parser: table as an id). */
export type RouteGot = RouteGet;
export interface RuleRow {
  priority: number;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  oif?: string;
  fwmark?: string;
  fwmask?: string;
  table?: string;
  action?: string;
  not?: boolean;
  [k: string]: unknown;
}
export interface RouteRow {
  dst: string;
  from?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  metric?: number;
  type?: string;
}

export const family = (a: string) => (a.includes(':') ? 6 : 4);
export const fam = (a: string) => (family(a) === 6 ? ['-6'] : ['-4']);

const tableName = (node: NodeModel | undefined, id: string | undefined) => tableNameOf(node?.tables ?? {}, id ?? '254');

export async function routeGet(
  ctx: WhyContext,
  node: string,
  s: Selectors,
): Promise<{ route?: RouteGot; error?: string }> {
  const argv = [
    'ip',
    '-j',
    ...fam(s.to),
    'route',
    'get',
    s.to,
    ...(s.from ? ['from', s.from] : []),
    ...(s.iif ? ['iif', s.iif] : []),
    ...(s.mark ? ['mark', s.mark] : []),
    ...(s.extra ?? []),
  ];
  const r = await ctx.ask(node, argv);
  if (r.exitCode !== 0)
    return { error: r.stderr.replace(/^RTNETLINK answers:\s*/m, '').trim() || `exit ${r.exitCode}` };
  try {
    const route = parseRouteGet(r.stdout);
    return route ? { route } : { error: 'no answer' };
  } catch {
    return { error: r.stdout.trim() };
  }
}

export function within(addr: string | undefined, net: string | undefined, len: number | undefined): boolean {
  if (!net || net === 'all' || net === 'default') return true;
  const p = parsePrefix(len !== undefined ? `${net}/${len}` : net);
  return !!addr && !!p && inSubnet(addr, p);
}

/** The first rule, by priority, whose selectors match the packet and whose table gave the route. */
export function selectingRule(rules: RuleRow[], s: Selectors, table: string): RuleRow | undefined {
  return [...rules]
    .sort((a, b) => a.priority - b.priority)
    .find(
      (r) =>
        tableId(r.table) === table &&
        !r.not &&
        (r.action ?? 'to_tbl') === 'to_tbl' &&
        within(s.from, r.src, r.srclen) &&
        within(s.to, r.dst, r.dstlen) &&
        (r.iif === undefined || r.iif === (s.iif ?? 'lo')) &&
        r.oif === undefined &&
        (r.fwmark === undefined ||
          (s.mark !== undefined && (Number(s.mark) & Number(r.fwmask ?? 0xffffffff)) === Number(r.fwmark))),
    );
}

/** Rules that select by this source address (not `from all`). */
const selectsFrom = (rules: RuleRow[], from: string) =>
  rules.filter((r) => r.src && r.src !== 'all' && !r.not && within(from, r.src, r.srclen));

/** The table's entry the kernel matched: the longest prefix holding `to` (and, IPv6, `from`), lowest metric. */
export function matchedEntry(rows: RouteRow[], to: string, from?: string): RouteRow | undefined {
  const len = (d: string) => (d === 'default' ? 0 : (parsePrefix(d)?.prefix ?? -1));
  return rows
    .filter(
      (r) =>
        (r.type ?? 'unicast') !== 'broadcast' &&
        within(to, r.dst, undefined) &&
        (!r.from || within(from, r.from, undefined)),
    )
    .sort(
      (a, b) => len(b.dst) - len(a.dst) || (b.from ? 1 : 0) - (a.from ? 1 : 0) || (a.metric ?? 0) - (b.metric ?? 0),
    )[0];
}

const describeRoute = (r: RouteRow) =>
  [
    r.type && r.type !== 'unicast' ? r.type : '',
    r.dst,
    r.from ? `from ${r.from}` : '',
    r.gateway ? `via ${r.gateway}` : '',
    r.dev ? `dev ${r.dev}` : '',
    r.prefsrc ? `src ${r.prefsrc}` : '',
  ]
    .filter(Boolean)
    .join(' ');

/** One line: which rule picked which table, and what route it gave. */
export async function decision(
  ctx: WhyContext,
  node: string,
  what: string,
  s: Selectors,
  got: RouteGot,
): Promise<{ text: string; noRuleFrom: boolean; tail: string }> {
  const n = ctx.model.nodes.find((x) => x.name === node);
  const rulesOut = await ctx.ask(node, ['ip', '-j', ...fam(s.to), 'rule', 'show']);
  const rules = rulesOut.exitCode === 0 ? (JSON.parse(rulesOut.stdout || '[]') as RuleRow[]) : [];
  const table = got.table ?? '254';
  const rule = selectingRule(rules, s, table);
  const rowsOut = await ctx.ask(node, ['ip', '-j', ...fam(s.to), 'route', 'show', 'table', table]);
  const rows = rowsOut.exitCode === 0 ? (JSON.parse(rowsOut.stdout || '[]') as RouteRow[]) : [];
  const entry = matchedEntry(rows, s.to, s.from);
  const shown = entry
    ? { ...entry, prefsrc: entry.prefsrc ?? (s.from ? undefined : got.prefsrc) }
    : { dst: s.to, gateway: got.gateway, dev: got.dev, prefsrc: got.prefsrc };
  const src = !s.from && got.prefsrc ? ` (the kernel picks source ${got.prefsrc})` : '';
  const noRuleFrom = !!s.from && !selectsFrom(rules, s.from).length;
  const text = `${node}: ${what}${s.iif ? ` in on ${s.iif}` : ''} matched ${rule ? `rule ${rule.priority} (${tableName(n, table)})` : `table ${tableName(n, table)}`} → ${describeRoute(shown)}${src}`;
  return { text, noRuleFrom, tail: noRuleFrom && s.from ? `; no rule selects from ${s.from}` : '' };
}

export async function sysctl(ctx: WhyContext, node: string, key: string): Promise<string | undefined> {
  const r = await ctx.ask(node, ['sysctl', '-n', key]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

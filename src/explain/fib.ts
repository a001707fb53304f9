// The kernel's routing decision, reasoned over its own tables: the rules (`ip -j rule
// show`) in priority order, each matched against the packet's selectors, and the
// longest-prefix entry of the table a rule selects (`ip -j route show table all`).
// nslab uses it to name the rule and the entry behind a decision the kernel made, and
// to check a hint before printing it: with the hint's rules and routes added, the
// same packet must get the route the fix is for. It is trusted only where it agrees
// with the kernel's own answer (`ip route get`) for the lab as it is.
import { inSubnet, parsePrefix } from '../lab/addr.js';
import { tableIdOf } from '../lab/iproute.js';

/** What `ip route get` and the rules match a packet on. */
export interface Selectors {
  to: string;
  from?: string;
  iif?: string;
  oif?: string;
  mark?: number;
  /** IPv4 tos / IPv6 traffic class */
  tos?: number;
  ipproto?: number;
  sport?: number;
  dport?: number;
  uid?: number;
}

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
  tos?: string;
  ipproto?: string | number;
  sport?: number;
  sport_start?: number;
  sport_end?: number;
  dport?: number;
  dport_start?: number;
  dport_end?: number;
  uid_start?: number;
  uid_end?: number;
  table?: string;
  action?: string;
  goto?: number;
  not?: null | boolean;
  suppress_prefixlen?: number;
  suppress_ifgroup?: string;
  l3mdev?: unknown;
  [k: string]: unknown;
}

export interface RouteRow {
  type?: string;
  dst: string;
  from?: string;
  gateway?: string;
  dev?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  tos?: string;
  scope?: string;
  protocol?: string;
  nexthops?: unknown[];
  flags?: string[];
}

/** A table's entry that answered, or why none did. */
export interface Lookup {
  rule?: RuleRow;
  /** the table id, as a number string */
  table?: string;
  route?: RouteRow;
  /** unicast, local, broadcast, unreachable, blackhole, prohibit; 'none': no rule's table had a route */
  type: string;
}

const PROTOS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, 'ipv6-icmp': 58, icmpv6: 58 };

const within = (addr: string | undefined, net: string | undefined, len: number | undefined) => {
  if (net === undefined || net === 'all' || net === 'default') return true;
  const p = parsePrefix(len !== undefined ? `${net}/${len}` : net);
  return !!addr && !!p && inSubnet(addr, p);
};

/** Whether a rule's selectors all match the packet (before `not`). */
function selects(r: RuleRow, s: Selectors): boolean {
  if (r.src !== undefined && r.src !== 'all' && !within(s.from, r.src, r.srclen)) return false;
  if (r.dst !== undefined && r.dst !== 'all' && !within(s.to, r.dst, r.dstlen)) return false;
  // a locally sent packet comes in from lo, as far as the rules see it
  if (r.iif !== undefined && r.iif !== (s.iif ?? 'lo')) return false;
  if (r.oif !== undefined && r.oif !== s.oif) return false;
  // a selector not given is 0, as for `ip route get` without it
  if (r.fwmark !== undefined && ((s.mark ?? 0) & Number(r.fwmask ?? 0xffffffff)) >>> 0 !== Number(r.fwmark))
    return false;
  if (r.tos !== undefined && Number(r.tos) !== (s.tos ?? 0)) return false;
  if (r.ipproto !== undefined) {
    const want = typeof r.ipproto === 'number' ? r.ipproto : (PROTOS[r.ipproto] ?? Number(r.ipproto));
    if (want !== (s.ipproto ?? 0)) return false;
  }
  for (const k of ['sport', 'dport'] as const) {
    const lo = r[k] ?? r[`${k}_start`];
    const hi = r[k] ?? r[`${k}_end`];
    if (lo === undefined) continue;
    const v = s[k] ?? 0;
    if (v < lo || v > (hi ?? lo)) return false;
  }
  if (r.uid_start !== undefined) {
    const uid = s.uid ?? 0;
    if (uid < r.uid_start || uid > (r.uid_end ?? r.uid_start)) return false;
  }
  return true;
}

/** Whether a rule's own selectors (not its `not`) surely match the packet. */
export const ruleSelects = (r: RuleRow, s: Selectors) => selects(r, s);

const prefixLen = (dst: string, family: 4 | 6) =>
  dst === 'default' ? 0 : (parsePrefix(dst)?.prefix ?? (family === 6 ? 128 : 32));

/** The entry of one table that holds the destination: longest prefix, then (IPv6) source prefix, tos, metric. */
export function tableEntry(rows: RouteRow[], s: Selectors): RouteRow | undefined | 'unknown' {
  const family = s.to.includes(':') ? 6 : 4;
  const hits = rows.filter(
    (r) =>
      within(s.to, r.dst === 'default' ? undefined : r.dst, undefined) &&
      (!r.from || within(s.from, r.from, undefined)) &&
      (r.tos === undefined || Number(r.tos) === (s.tos ?? 0)),
  );
  if (!hits.length) return undefined;
  const best = hits.sort(
    (a, b) =>
      prefixLen(b.dst, family) - prefixLen(a.dst, family) ||
      (b.from ? prefixLen(b.from, family) : -1) - (a.from ? prefixLen(a.from, family) : -1) ||
      (b.tos ? 1 : 0) - (a.tos ? 1 : 0) ||
      (a.metric ?? 0) - (b.metric ?? 0),
  )[0]!;
  // a route whose device is down or has no carrier, or one of several next hops: what the kernel does then is its
  // own business (it may skip it); not claimed
  if (best.flags?.some((f) => f === 'dead' || f === 'linkdown') || best.nexthops) return 'unknown';
  return best;
}

/**
 * The kernel's FIB lookup over these rules and routes (every table), as far as it can be told: undefined where a
 * selector the rules need is not known or an entry's fate is the kernel's to decide (a dead next hop, multipath).
 */
export function lookup(rules: RuleRow[], routes: RouteRow[], s: Selectors): Lookup | undefined {
  const sorted = [...rules].sort((a, b) => a.priority - b.priority);
  const family = s.to.includes(':') ? 6 : 4;
  for (let i = 0; i < sorted.length; i++) {
    const r = sorted[i]!;
    if (r.l3mdev !== undefined || r.suppress_ifgroup !== undefined) return undefined;
    const m = selects(r, s);
    if (m === (r.not !== undefined && r.not !== false)) continue;
    const action = r.action ?? (r.goto !== undefined ? 'goto' : 'to_tbl');
    if (action === 'goto') {
      const j = sorted.findIndex((x) => x.priority >= (r.goto ?? 0));
      if (j < 0) break;
      i = j - 1;
      continue;
    }
    if (action === 'nop') continue;
    if (['unreachable', 'blackhole', 'prohibit'].includes(action)) return { rule: r, type: action };
    const table = tableIdOf(r.table);
    const rows = routes.filter((x) => tableIdOf(x.table) === table);
    const e = tableEntry(rows, s);
    if (e === 'unknown') return undefined;
    if (!e || e.type === 'throw') continue;
    // suppress_prefixlength N: a route whose prefix is N or shorter is not taken from this table
    if (r.suppress_prefixlen !== undefined && prefixLen(e.dst, family) <= r.suppress_prefixlen) continue;
    return { rule: r, table, route: e, type: e.type ?? 'unicast' };
  }
  return { type: 'none' };
}

// Why a packet went where it went: at the hop where a trace parts from the
// expectation, or where it died, nslab asks that node's kernel (`ip route get`
// with the packet's selectors, `ip rule`, rp_filter, the neighbour table, the
// firewall) and words the decision, the likely cause and a fix in the lab's
// own terms: preferably the rules and routes a stage not yet applied adds.
import type { Moved } from '../capture/counters.js';
import { inSubnet, parsePrefix } from '../lab/addr.js';
import type { LabModel, Line, NodeModel } from '../lab/model.js';
import type { ExpectT } from '../lab/schema.js';
import { BUILTIN_TABLES } from '../lab/iproute.js';
import type { Disposition, Trace, TraceHop, Why } from './trace.js';

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
}

interface Selectors { to: string; from?: string; iif?: string; mark?: string; extra?: string[] }
interface RouteGot { dst?: string; gateway?: string; dev?: string; prefsrc?: string; table?: string; type?: string }
interface RuleRow { priority: number; src?: string; srclen?: number; dst?: string; dstlen?: number; iif?: string; oif?: string; fwmark?: string; fwmask?: string; table?: string; action?: string; not?: boolean; [k: string]: unknown }
interface RouteRow { dst: string; from?: string; gateway?: string; dev?: string; prefsrc?: string; metric?: number; type?: string }

const family = (a: string) => (a.includes(':') ? 6 : 4);
const fam = (a: string) => (family(a) === 6 ? ['-6'] : ['-4']);

function tableName(node: NodeModel | undefined, id: string | undefined): string {
  const t = id ?? '254';
  const named = Object.entries({ ...BUILTIN_TABLES, ...(node?.tables ?? {}) }).find(([, n]) => String(n) === t)?.[0];
  return named ?? t;
}
const tableId = (t: string | undefined) => (t === undefined ? '254' : BUILTIN_TABLES[t] !== undefined ? String(BUILTIN_TABLES[t]) : t);

async function routeGet(ctx: WhyContext, node: string, s: Selectors): Promise<{ route?: RouteGot; error?: string }> {
  const argv = ['ip', '-j', ...fam(s.to), 'route', 'get', s.to, ...(s.from ? ['from', s.from] : []), ...(s.iif ? ['iif', s.iif] : []), ...(s.mark ? ['mark', s.mark] : []), ...(s.extra ?? [])];
  const r = await ctx.ask(node, argv);
  if (r.exitCode !== 0) return { error: r.stderr.replace(/^RTNETLINK answers:\s*/m, '').trim() || `exit ${r.exitCode}` };
  try {
    const route = (JSON.parse(r.stdout || '[]') as RouteGot[])[0];
    return route ? { route: { ...route, table: tableId(route.table) } } : { error: 'no answer' };
  } catch {
    return { error: r.stdout.trim() };
  }
}

function within(addr: string | undefined, net: string | undefined, len: number | undefined): boolean {
  if (!net || net === 'all' || net === 'default') return true;
  const p = parsePrefix(len !== undefined ? `${net}/${len}` : net);
  return !!addr && !!p && inSubnet(addr, p);
}

/** The first rule, by priority, whose selectors match the packet and whose table gave the route. */
export function selectingRule(rules: RuleRow[], s: Selectors, table: string): RuleRow | undefined {
  return [...rules].sort((a, b) => a.priority - b.priority).find((r) =>
    tableId(r.table) === table && !r.not && (r.action ?? 'to_tbl') === 'to_tbl'
    && within(s.from, r.src, r.srclen) && within(s.to, r.dst, r.dstlen)
    && (r.iif === undefined || r.iif === (s.iif ?? 'lo')) && r.oif === undefined
    && (r.fwmark === undefined || (s.mark !== undefined && (Number(s.mark) & Number(r.fwmask ?? 0xffffffff)) === Number(r.fwmark))));
}

/** Rules that select by this source address (not `from all`). */
const selectsFrom = (rules: RuleRow[], from: string) => rules.filter((r) => r.src && r.src !== 'all' && !r.not && within(from, r.src, r.srclen));

/** The table's entry the kernel matched: the longest prefix holding `to` (and, IPv6, `from`), lowest metric. */
export function matchedEntry(rows: RouteRow[], to: string, from?: string): RouteRow | undefined {
  const len = (d: string) => (d === 'default' ? 0 : parsePrefix(d)?.prefix ?? -1);
  return rows
    .filter((r) => (r.type ?? 'unicast') !== 'broadcast' && within(to, r.dst, undefined) && (!r.from || within(from, r.from, undefined)))
    .sort((a, b) => len(b.dst) - len(a.dst) || (b.from ? 1 : 0) - (a.from ? 1 : 0) || (a.metric ?? 0) - (b.metric ?? 0))[0];
}

const describeRoute = (r: RouteRow) => [r.type && r.type !== 'unicast' ? r.type : '', r.dst, r.from ? `from ${r.from}` : '', r.gateway ? `via ${r.gateway}` : '', r.dev ? `dev ${r.dev}` : '', r.prefsrc ? `src ${r.prefsrc}` : ''].filter(Boolean).join(' ');

/** One line: which rule picked which table, and what route it gave. */
async function decision(ctx: WhyContext, node: string, what: string, s: Selectors, got: RouteGot): Promise<{ text: string; noRuleFrom: boolean; tail: string }> {
  const n = ctx.model.nodes.find((x) => x.name === node);
  const rulesOut = await ctx.ask(node, ['ip', '-j', ...fam(s.to), 'rule', 'show']);
  const rules = rulesOut.exitCode === 0 ? (JSON.parse(rulesOut.stdout || '[]') as RuleRow[]) : [];
  const table = got.table ?? '254';
  const rule = selectingRule(rules, s, table);
  const rowsOut = await ctx.ask(node, ['ip', '-j', ...fam(s.to), 'route', 'show', 'table', table]);
  const rows = rowsOut.exitCode === 0 ? (JSON.parse(rowsOut.stdout || '[]') as RouteRow[]) : [];
  const entry = matchedEntry(rows, s.to, s.from);
  const shown = entry ? { ...entry, prefsrc: entry.prefsrc ?? (s.from ? undefined : got.prefsrc) } : { dst: s.to, gateway: got.gateway, dev: got.dev, prefsrc: got.prefsrc };
  const src = !s.from && got.prefsrc ? ` (the kernel picks source ${got.prefsrc})` : '';
  const noRuleFrom = !!s.from && !selectsFrom(rules, s.from).length;
  const text = `${node}: ${what}${s.iif ? ` in on ${s.iif}` : ''} matched ${rule ? `rule ${rule.priority} (${tableName(n, table)})` : `table ${tableName(n, table)}`} → ${describeRoute(shown)}${src}`;
  return { text, noRuleFrom, tail: noRuleFrom && s.from ? `; no rule selects from ${s.from}` : '' };
}

// ---- hints: the lab's own fix, from a stage not applied yet ----

const arg = (l: Line, k: string) => { const i = l.args.indexOf(k); return i >= 0 ? l.args[i + 1] : undefined; };
const ruleText = (l: Line) => `ip ${l.family === 6 && !/^-6\b/.test(l.text) ? '-6 ' : ''}rule add ${l.text}`.replace('rule add -6 ', '-6 rule add ').replace(/^ip -6 -6/, 'ip -6');
const routeText = (l: Line) => `ip ${l.family === 6 && !/^-6\b/.test(l.text) ? '-6 ' : ''}route replace ${l.text}`.replace('route replace -6 ', '-6 route replace ').replace(/^ip -6 -6/, 'ip -6');

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
  const rules = cfg.rules.filter((l) => l.family === fam6 && (arg(l, 'from') || arg(l, 'to'))
    && within(s.from, arg(l, 'from'), undefined) && within(s.to, arg(l, 'to'), undefined) && !l.args.includes('not'));
  const tables = new Set(rules.map((l) => arg(l, 'table') ?? arg(l, 'lookup')));
  const inTable = (l: Line) => { const t = arg(l, 'table'); return t && t !== '254' && t !== 'main' ? t : undefined; };
  const main = cfg.routes.filter((l) => l.family === fam6 && !inTable(l) && !base?.routes.some((b) => b.text === l.text) // already there: not what changes
    && within(s.to, routePrefix(l), undefined) && within(s.from, arg(l, 'from'), undefined));
  // of the main routes, only those that would win for this packet: the longest prefix
  const len = (l: Line) => (routePrefix(l) === 'default' ? 0 : parsePrefix(routePrefix(l))?.prefix ?? 0);
  const best = Math.max(-1, ...main.map(len));
  const routes = cfg.routes.filter((l) => l.family === fam6 && (inTable(l) ? tables.has(inTable(l)!) : main.includes(l) && len(l) === best));
  const key = cause === 'dropped-rp-filter' ? /rp_filter/ : cause === 'dropped-no-route' ? /forward/ : undefined;
  const sysctl = key ? cfg.sysctl.filter(([k]) => key.test(k)).map(([k, v]) => `sysctl -w ${k}=${v}`) : [];
  return [...rules.map(ruleText), ...routes.map(routeText), ...sysctl];
}

function stageHint(ctx: WhyContext, node: string, s: Selectors, cause?: Disposition): string | undefined {
  for (const st of ctx.model.stages) {
    if (ctx.applied.includes(st.name)) continue;
    const lines = relevantLines(ctx.model, st.name, node, s, cause);
    if (lines.length) return `on ${node}: ${lines.join('; ')} (as stage '${st.name}' applies)`;
  }
  return undefined;
}

/** A router on an interface's subnet: another node with an address there that forwards. */
function gatewayOn(model: LabModel, node: string, iface: string, fam6: 4 | 6): string | undefined {
  const mine = model.nodes.find((n) => n.name === node)?.interfaces.find((i) => i.name === iface)?.addresses.filter((a) => a.family === fam6) ?? [];
  for (const n of model.nodes) {
    if (n.name === node || !n.config.sysctl.some(([k, v]) => /ip_forward|forwarding/.test(k) && v === '1')) continue;
    for (const i of n.interfaces) for (const a of i.addresses) if (mine.some((m) => m.prefix === a.prefix && inSubnet(a.address, m))) return a.address;
  }
  return undefined;
}

// ---- where a packet died: the likely cause ----

async function sysctl(ctx: WhyContext, node: string, key: string): Promise<string | undefined> {
  const r = await ctx.ask(node, ['sysctl', '-n', key]);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** Drop rules and drop policies in the node's ruleset, on the hook the packet crossed. */
async function firewallDrops(ctx: WhyContext, node: string, hook: 'input' | 'forward' | 'output'): Promise<string[]> {
  const r = await ctx.ask(node, ['nft', 'list', 'ruleset']);
  if (r.exitCode !== 0) return [];
  const out: string[] = [];
  let table = '', chain = '', onHook = false;
  for (const raw of r.stdout.split('\n')) {
    const line = raw.trim();
    let m;
    if ((m = /^table (\S+ \S+)/.exec(line))) table = m[1]!;
    else if ((m = /^chain (\S+)/.exec(line))) { chain = m[1]!; onHook = false; }
    else if ((m = /hook (\w+)/.exec(line))) {
      onHook = m[1] === hook || (hook !== 'output' && m[1] === 'prerouting') || (hook === 'output' && m[1] === 'postrouting');
      if (onHook && /policy drop/.test(line)) out.push(`table ${table} chain ${chain}: policy drop`);
    } else if (onHook && /\b(drop|reject)\b/.test(line)) out.push(`table ${table} chain ${chain}: ${line}`);
  }
  return out;
}

interface Death { disposition: Disposition; cause: string; decision?: string; hint?: string; sel: Selectors }

/** Asks the node where a packet was last seen why it went no further. */
async function death(ctx: WhyContext, h: TraceHop, origin: boolean): Promise<Death> {
  const s: Selectors = { to: h.dst, from: h.src, ...(h.in && !origin ? { iif: h.in } : {}) };
  const v6 = family(h.dst) === 6;
  const g = await routeGet(ctx, h.node, s);
  const local = g.route?.type === 'local';
  if (g.error && h.in && !origin && !v6) {
    // a refused source: rp_filter (EXDEV, or EINVAL on kernels that report drop reasons) when the route back leaves elsewhere
    const [one, all] = await Promise.all([sysctl(ctx, h.node, `net.ipv4.conf.${h.in.replace(/\./g, '/')}.rp_filter`), sysctl(ctx, h.node, 'net.ipv4.conf.all.rp_filter')]);
    const rp = Math.max(Number(one ?? 0), Number(all ?? 0));
    const back = await routeGet(ctx, h.node, { to: h.src });
    if (rp > 0 && (rp === 1 ? back.route?.dev !== h.in : !back.route))
      return { disposition: 'dropped-rp-filter', sel: s,
        cause: `${h.node}: the reverse-path filter on ${h.in} refused source ${h.src} (rp_filter ${h.in}=${one ?? '?'}, all=${all ?? '?'}, ${rp === 1 ? 'strict' : 'loose'}): the route back to ${h.src} leaves through ${back.route?.dev ?? '(no route)'}, not ${h.in}`,
        hint: `on ${h.node}: route ${h.src} back through ${h.in}, or loosen the filter: sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.${h.in}.rp_filter=2` };
  }
  if (g.error || (g.route && ['unreachable', 'blackhole', 'prohibit', 'throw'].includes(g.route.type ?? ''))) {
    const fwd = h.in && !origin ? await sysctl(ctx, h.node, v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward') : '1';
    if (fwd === '0') return { disposition: 'dropped-no-route', sel: s, cause: `${h.node} does not forward (${v6 ? 'net.ipv6.conf.all.forwarding' : 'net.ipv4.ip_forward'}=0) and ${h.dst} is not its own`, hint: `on ${h.node}: forwarding: true` };
    const plain = await routeGet(ctx, h.node, { to: h.dst, from: h.src });
    return { disposition: 'dropped-no-route', sel: s, cause: `${h.node}: no route to ${h.dst}${s.iif ? ` for a packet from ${h.src} in on ${s.iif}` : ''} (${g.error ?? g.route?.type})${plain.route && !g.error ? '' : ''}`, hint: `on ${h.node}: ip route add ${h.dst.includes(':') ? `${h.dst}/128` : `${h.dst}/32`} via <next hop>, or a covering prefix` };
  }
  const route = g.route!;
  const hook = local ? 'input' : origin ? 'output' : 'forward';
  if (!local && !h.out) {
    const nh = route.gateway ?? h.dst;
    const n = await ctx.ask(h.node, ['ip', '-j', 'neigh', 'show', 'to', nh, ...(route.dev ? ['dev', route.dev] : [])]);
    const rows = n.exitCode === 0 ? (JSON.parse(n.stdout || '[]') as { state?: string[] }[]) : [];
    if (rows.some((x) => x.state?.some((st) => st === 'FAILED' || st === 'INCOMPLETE')))
      return { disposition: 'dropped-no-neighbour', sel: s, cause: `${h.node}: ${nh} does not answer ${v6 ? 'neighbour discovery' : 'ARP'} on ${route.dev}`, hint: `on ${h.node}: check that ${nh} is up and on ${route.dev}'s link, or route ${h.dst} via another next hop` };
  }
  // a drop rule whose counter moved during the probe: no doubt which rule took it
  const counted = (ctx.counters ?? []).filter((c) => c.node === h.node && /\b(drop|reject)\b/.test(c.rule));
  if (counted.length)
    return { disposition: 'dropped-filtered', sel: s, cause: `${h.node}: the firewall dropped it: ${counted.map((c) => `${c.rule} (its counter moved by ${c.packets} packet${c.packets > 1 ? 's' : ''} during the probe)`).join('; ')}`, hint: `on ${h.node}: let ${h.src} → ${h.dst} through (${counted[0]!.rule})` };
  const all = (await firewallDrops(ctx, h.node, hook)).filter((d) => !(v6 ? /\bip (saddr|daddr)\b/ : /\bip6 (saddr|daddr)\b/).test(d));
  // rules that name this packet's addresses first: they are the likelier culprits
  const named = all.filter((d) => d.includes(h.dst) || d.includes(h.src));
  const drops = named.length ? named : all;
  if (drops.length)
    return { disposition: 'dropped-filtered', sel: s, cause: `${h.node}: the firewall's ${hook} hook drops it: ${drops.join('; ')}`, hint: `on ${h.node}: let ${h.src} → ${h.dst} through (${drops[0]})` };
  return { disposition: 'dropped', sel: s, cause: `${h.node}: routed ${local ? 'locally' : `to ${route.dev ?? '?'}`}, no rp_filter, neighbour or firewall drop found` };
}

/** The interface a reply should have left `node` by: reply-via's, else the one the request came in on. */
function wantedOut(expect: ExpectT, request: Trace | undefined, node: string): string | undefined {
  const via = expect['reply-via'];
  if (via?.startsWith(`${node}:`)) return via.slice(node.length + 1);
  return request?.hops.find((h) => h.node === node)?.in;
}

/**
 * Explains the traces of a failed test: at each divergence and each drop, the
 * kernel's decision and a hint. Refines `dropped` dispositions to their cause
 * (and an unanswered request that died entering the target) in place.
 */
export async function explain(traces: Trace[], ctx: WhyContext): Promise<Why[]> {
  const whys: Why[] = [];
  const request = traces.find((t) => t.direction === 'request');
  for (const t of [...traces]) {
    // divergence: the decision at that hop
    if (t.divergesAt !== undefined && t.hops[t.divergesAt]) {
      const h = t.hops[t.divergesAt]!;
      const first = t.divergesAt === 0;
      const wrongSource = t.disposition === 'wrong-source' && t.direction === 'request';
      const s: Selectors = { to: h.dst, ...(wrongSource && first ? {} : { from: h.src }), ...(h.in && !first ? { iif: h.in } : {}) };
      const g = await routeGet(ctx, h.node, s);
      if (g.route) {
        const what = `${t.direction} ${s.from ? `from ${s.from} ` : ''}to ${s.to}`;
        const d = await decision(ctx, h.node, what, s, g.route);
        const want = t.direction === 'reply' ? wantedOut(ctx.expect, request, h.node) : undefined;
        let text = d.text;
        if (want && g.route.dev && want !== g.route.dev) text += `, not ${want}${request?.hops.find((x) => x.node === h.node)?.in === want ? ' where the request came in' : ''}`;
        text += d.tail;
        const hint = stageHint(ctx, h.node, s) ?? genericHint(ctx, h.node, s, t, want, d.noRuleFrom, g.route);
        whys.push({ node: h.node, decision: text, ...(hint ? { hint } : {}) });
      } else whys.push({ node: h.node, decision: `${h.node}: ${t.direction} to ${h.dst}: ${g.error}` });
    }
    // a drop: where, and the likely cause
    if (t.disposition === 'dropped' && t.hops.length) {
      const last = t.hops[t.hops.length - 1]!;
      const d = await death(ctx, last, !last.in);
      t.disposition = d.disposition;
      const hint = stageHint(ctx, last.node, d.sel, d.disposition) ?? d.hint;
      if (!whys.some((w) => w.node === last.node)) whys.push({ node: last.node, decision: d.cause, cause: d.cause, ...(hint ? { hint } : {}) });
      else whys.find((w) => w.node === last.node)!.cause = d.cause;
    }
    // unanswered: the request may have died entering the target (rp_filter, its firewall), or the reply found no route
    if (t.disposition === 'unanswered' && request?.hops.length) {
      const last = request.hops[request.hops.length - 1]!;
      const d = await death(ctx, last, false);
      if (d.disposition !== 'dropped') {
        request.disposition = d.disposition;
        request.at = last.node;
        traces.splice(traces.indexOf(t), 1); // it died on the way in: there is no reply to speak of
        whys.push({ node: last.node, decision: d.cause, cause: d.cause, ...(d.hint ? { hint: stageHint(ctx, last.node, d.sel, d.disposition) ?? d.hint } : {}) });
      } else {
        const back = await routeGet(ctx, last.node, { to: last.src, from: last.dst });
        if (back.error) whys.push({ node: last.node, decision: `${last.node}: no route back to ${last.src} from ${last.dst} (${back.error})`, cause: 'no route for the reply', hint: stageHint(ctx, last.node, { to: last.src, from: last.dst }) ?? `on ${last.node}: a route to ${last.src}` });
        else whys.push({ node: last.node, decision: `${last.node}: the request arrived; nothing answered it (no listener, or the answer was not a reply nslab recognises)`, cause: 'no answer' });
      }
    }
  }
  return whys;
}

function genericHint(ctx: WhyContext, node: string, s: Selectors, t: Trace, want: string | undefined, noRuleFrom: boolean, got: RouteGot): string | undefined {
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

/** A failed `route` test: the kernel's decision for its selectors, and the stage that would change it. */
export async function explainRoute(spec: { node: string; to: string; from?: string; iif?: string; mark?: string | number; [k: string]: unknown }, ctx: WhyContext): Promise<Why[]> {
  const extra: string[] = [];
  for (const k of ['oif', 'tos', 'dsfield', 'uid', 'ipproto', 'sport', 'dport'] as const) if (spec[k] !== undefined) extra.push(k, String(spec[k]));
  const s: Selectors = { to: spec.to, ...(spec.from ? { from: spec.from } : {}), ...(spec.iif ? { iif: spec.iif } : {}), ...(spec.mark !== undefined ? { mark: String(spec.mark) } : {}), extra };
  const g = await routeGet(ctx, spec.node, s);
  const hint = stageHint(ctx, spec.node, s);
  if (!g.route) return [{ node: spec.node, decision: `${spec.node}: no route to ${spec.to}${s.from ? ` from ${s.from}` : ''} (${g.error})`, ...(hint ? { hint } : {}) }];
  const d = await decision(ctx, spec.node, `${s.from ? `from ${s.from} ` : ''}to ${s.to}`, s, g.route);
  return [{ node: spec.node, decision: d.text + d.tail, ...(hint ? { hint } : {}) }];
}

// A node's nftables as nft lists it (`nft -j` for what each rule means, `nft -a` for
// its words and handle), and one packet walked through the chains of a hook in the
// kernel's order: the marks it is given, the NAT that rewrites it, the verdict. A
// match nslab cannot evaluate from what it knows of the packet (a `limit`, a `fib`
// lookup, a raw payload offset, a `ct state` where the connection is not known) makes
// the walk uncertain from that rule on, and that rule is named: never guessed.
import { inSubnet, parsePrefix } from '../lab/addr.js';

export interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  expr: unknown[];
  /** the rule as `nft list ruleset` writes it, its counts left out (`counter`) */
  text: string;
  /** its counter's packets, where it has one */
  packets?: number;
}

export interface NftChain {
  family: string;
  table: string;
  name: string;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
  /** a netdev ingress/egress chain's device, from the listing */
  device?: string;
  rules: NftRule[];
}

export interface Ruleset {
  chains: NftChain[];
  sets: Map<string, unknown[]>;
}

/** The packet as nslab knows it at a hook. Undefined fields are not known (and a rule matching on them is uncertain). */
export interface NftPacket {
  family: 4 | 6;
  src: string;
  dst: string;
  proto?: 'icmp' | 'tcp' | 'udp';
  sport?: number;
  dport?: number;
  icmpType?: number;
  tcpFlags?: number;
  tos?: number;
  /** the input interface ('' where none: a locally sent packet); undefined: not known */
  iif?: string;
  /** the output interface ('' before the routing decision); undefined: not known */
  oif?: string;
  /** the packet's mark (undefined: not known) */
  mark?: number;
  ctState?: 'new' | 'established';
  ctMark?: number;
  /** the uid of a locally sent packet's socket (nslab's probes run as root: 0) */
  uid?: number;
}

/** Where a rule's name is printed: `table inet fw chain forward: ip daddr 10.5.2.3 counter drop`. */
export const ruleName = (r: NftRule) => `table ${r.family} ${r.table} chain ${r.chain}: ${r.text}`;
export const chainName = (c: { family: string; table: string; name: string }) =>
  `table ${c.family} ${c.table} chain ${c.name}`;

const COUNTS = /counter packets \d+ bytes \d+/;

/** Pure: `nft -j list ruleset` and `nft -a list ruleset` of the same ruleset -> chains with their rules in order. */
export function parseRuleset(json: string, listing: string): Ruleset {
  // the listing: each rule's words by (family, table, chain, handle), and a netdev chain's device
  const words = new Map<string, string>();
  const devices = new Map<string, string>();
  let table = '',
    chain = '';
  for (const raw of listing.split('\n')) {
    const line = raw.trim();
    let m;
    if ((m = /^table (\S+ \S+) \{/.exec(line))) table = m[1]!;
    else if ((m = /^chain (\S+) \{/.exec(line))) chain = m[1]!;
    else if ((m = /\bdevice "?([^";\s]+)"?/.exec(line)) && /\bhook\b/.test(line))
      devices.set(`${table} ${chain}`, m[1]!);
    else if ((m = /^(.*?)\s*# handle (\d+)$/.exec(line)) && chain)
      words.set(`${table} ${chain} ${m[2]}`, m[1]!.replace(COUNTS, 'counter'));
    if (line === '}' && chain) chain = '';
    else if (line === '}') table = '';
  }
  const items = ((JSON.parse(json || '{}') as { nftables?: Record<string, unknown>[] }).nftables ?? []).map(
    (x) => x as Record<string, Record<string, unknown> | undefined>,
  );
  const chains: NftChain[] = [];
  const sets = new Map<string, unknown[]>();
  const key = (o: Record<string, unknown>, name: unknown) => `${String(o.family)} ${String(o.table)} ${String(name)}`;
  for (const it of items) {
    if (it.chain) {
      const c = it.chain;
      const device = devices.get(`${String(c.family)} ${String(c.table)} ${String(c.name)}`);
      chains.push({
        family: String(c.family),
        table: String(c.table),
        name: String(c.name),
        ...(typeof c.type === 'string' ? { type: c.type } : {}),
        ...(typeof c.hook === 'string' ? { hook: c.hook } : {}),
        ...(typeof c.prio === 'number' ? { prio: c.prio } : {}),
        ...(typeof c.policy === 'string' ? { policy: c.policy } : {}),
        ...(device ? { device } : {}),
        rules: [],
      });
    } else if (it.set) sets.set(key(it.set, it.set.name), (it.set.elem as unknown[] | undefined) ?? []);
    else if (it.rule) {
      const r = it.rule;
      const c = chains.find((x) => x.family === r.family && x.table === r.table && x.name === r.chain);
      const expr = (r.expr as unknown[] | undefined) ?? [];
      const counter = expr.find((e) => isObj(e) && isObj(e.counter)) as { counter: { packets?: number } } | undefined;
      const text = words.get(`${String(r.family)} ${String(r.table)} ${String(r.chain)} ${String(r.handle)}`);
      c?.rules.push({
        family: String(r.family),
        table: String(r.table),
        chain: String(r.chain),
        handle: Number(r.handle),
        expr,
        text: text ?? `(handle ${String(r.handle)})`,
        ...(counter?.counter.packets !== undefined ? { packets: counter.counter.packets } : {}),
      });
    }
  }
  return { chains, sets };
}

const isObj = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** true, false, or not known and why. */
export type Tri = boolean | { unknown: string };
const unknown = (why: string): { unknown: string } => ({ unknown: why });
const isUnknown = (t: Tri): t is { unknown: string } => typeof t === 'object';

const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0,
  'destination-unreachable': 3,
  'echo-request': 8,
  'time-exceeded': 11,
};
const ICMPV6_TYPES: Record<string, number> = {
  'destination-unreachable': 1,
  'packet-too-big': 2,
  'time-exceeded': 3,
  'echo-request': 128,
  'echo-reply': 129,
  'nd-router-solicit': 133,
  'nd-router-advert': 134,
  'nd-neighbor-solicit': 135,
  'nd-neighbor-advert': 136,
};
const PROTO_NUMBERS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, 'ipv6-icmp': 58, icmpv6: 58 };
const DSCP: Record<string, number> = {
  cs0: 0,
  cs1: 8,
  cs2: 16,
  cs3: 24,
  cs4: 32,
  cs5: 40,
  cs6: 48,
  cs7: 56,
  ef: 46,
  ...Object.fromEntries([1, 2, 3, 4].flatMap((c) => [1, 2, 3].map((d) => [`af${c}${d}`, c * 8 + d * 2]))),
};
const CT_STATES = ['new', 'established', 'related', 'invalid', 'untracked'];

/** A value of the packet as nft names it: a number, an address, a word; undefined where the packet lacks it. */
type Value = number | string | undefined;

/** The packet's protocol number (icmp is 1 or 58 by family). */
const protoNumber = (p: NftPacket) =>
  p.proto === undefined ? undefined : p.proto === 'icmp' ? (p.family === 6 ? 58 : 1) : PROTO_NUMBERS[p.proto];

/**
 * The left side of a match, read from the packet: its value, or false when the packet cannot have the field at all (an
 * `ip` field of an IPv6 packet, a `tcp` port of a ping: nft's implied protocol check fails), or unknown.
 */
function leftValue(left: unknown, p: NftPacket): { value: Value; kind: string } | false | { unknown: string } {
  if (!isObj(left)) return unknown(`an expression nslab does not read (${JSON.stringify(left)})`);
  if (isObj(left.payload)) {
    const { protocol, field } = left.payload as { protocol?: string; field?: string };
    if (protocol === undefined) return unknown('a raw payload match');
    if (protocol === 'ip' || protocol === 'ip6') {
      if ((protocol === 'ip') !== (p.family === 4)) return false;
      if (field === 'saddr') return { value: p.src, kind: 'addr' };
      if (field === 'daddr') return { value: p.dst, kind: 'addr' };
      if (field === 'protocol' || field === 'nexthdr')
        return p.proto === undefined ? unknown('its protocol') : { value: protoNumber(p), kind: 'proto' };
      if (field === 'dscp') return p.tos === undefined ? unknown('its dscp') : { value: p.tos >> 2, kind: 'dscp' };
      return unknown(`${protocol} ${String(field)}`);
    }
    if (protocol === 'tcp' || protocol === 'udp' || protocol === 'th') {
      if (p.proto === undefined) return unknown('its protocol');
      if (protocol === 'th' ? p.proto === 'icmp' : p.proto !== protocol) return false;
      if (field === 'sport')
        return p.sport === undefined ? unknown('its source port') : { value: p.sport, kind: 'num' };
      if (field === 'dport')
        return p.dport === undefined ? unknown('its destination port') : { value: p.dport, kind: 'num' };
      if (field === 'flags' && p.tcpFlags !== undefined) return { value: p.tcpFlags, kind: 'tcpflags' };
      return unknown(`${protocol} ${String(field)}`);
    }
    if (protocol === 'icmp' || protocol === 'icmpv6') {
      if (p.proto === undefined) return unknown('its protocol');
      if (p.proto !== 'icmp' || (protocol === 'icmp') !== (p.family === 4)) return false;
      if (field === 'type')
        return p.icmpType === undefined ? unknown('its ICMP type') : { value: p.icmpType, kind: protocol };
      return unknown(`${protocol} ${String(field)}`);
    }
    return unknown(`${protocol} ${String(field)}`);
  }
  if (isObj(left.meta)) {
    const key = (left.meta as { key?: string }).key;
    if (key === 'iifname' || key === 'iif')
      return p.iif === undefined ? unknown('its input interface') : { value: p.iif, kind: 'ifname' };
    if (key === 'oifname' || key === 'oif')
      return p.oif === undefined ? unknown('its output interface') : { value: p.oif, kind: 'ifname' };
    if (key === 'l4proto')
      return p.proto === undefined ? unknown('its protocol') : { value: protoNumber(p), kind: 'proto' };
    if (key === 'nfproto') return { value: p.family === 4 ? 'ipv4' : 'ipv6', kind: 'word' };
    if (key === 'protocol') return { value: p.family === 4 ? 'ip' : 'ip6', kind: 'word' };
    if (key === 'mark') return p.mark === undefined ? unknown('its mark') : { value: p.mark, kind: 'num' };
    if (key === 'skuid') return p.uid === undefined ? unknown('its socket uid') : { value: p.uid, kind: 'num' };
    return unknown(`meta ${String(key)}`);
  }
  if (isObj(left.ct)) {
    const ct = left.ct as { key?: string; dir?: string };
    if (ct.dir !== undefined) return unknown(`ct ${ct.dir} ${String(ct.key)}`);
    if (ct.key === 'state')
      return p.ctState === undefined ? unknown("its connection's state") : { value: p.ctState, kind: 'ctstate' };
    if (ct.key === 'mark')
      return p.ctMark === undefined ? unknown("its connection's mark") : { value: p.ctMark, kind: 'num' };
    if (ct.key === 'direction')
      return p.ctState === undefined
        ? unknown("its connection's direction")
        : { value: p.ctState === 'new' ? 'original' : 'reply', kind: 'word' };
    return unknown(`ct ${String(ct.key)}`);
  }
  if (isObj(left['&']) || Array.isArray(left['&'])) {
    const [a, mask] = left['&'] as [unknown, unknown];
    const v = leftValue(a, p);
    if (!v || 'unknown' in v) return v;
    if (typeof v.value !== 'number' || typeof mask !== 'number') return unknown('a masked match');
    return { value: v.value & mask, kind: 'num' };
  }
  const what = Object.keys(left)[0];
  return unknown(`${what} (${JSON.stringify(left[what!])})`);
}

/** A constant of the right side as a number or word, by the kind of the left. */
function constant(v: unknown, kind: string): Value {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  if (kind === 'proto') return PROTO_NUMBERS[v] ?? (/^\d+$/.test(v) ? Number(v) : undefined);
  if (kind === 'icmp') return ICMP_TYPES[v] ?? (/^\d+$/.test(v) ? Number(v) : undefined);
  if (kind === 'icmpv6') return ICMPV6_TYPES[v] ?? (/^\d+$/.test(v) ? Number(v) : undefined);
  if (kind === 'dscp') return DSCP[v] ?? (/^(0x)?[0-9a-f]+$/i.test(v) ? Number(v) : undefined);
  if (kind === 'num' || kind === 'tcpflags') return /^(0x)?[0-9a-f]+$/i.test(v) ? Number(v) : undefined;
  return v;
}

/** Whether one element of the right side (a value, a prefix, a range) holds the packet's value. */
function holds(el: unknown, value: Value, kind: string): Tri {
  if (value === undefined) return false;
  if (isObj(el) && isObj(el.elem)) return holds((el.elem as { val?: unknown }).val, value, kind);
  if (isObj(el) && isObj(el.prefix)) {
    const { addr, len } = el.prefix as { addr: string; len: number };
    const net = parsePrefix(`${addr}/${len}`);
    return !!net && typeof value === 'string' && inSubnet(value, net);
  }
  if (isObj(el) && Array.isArray(el.range)) {
    const [lo, hi] = el.range as unknown[];
    if (kind === 'addr') return unknown('an address range');
    const [a, b] = [constant(lo, kind), constant(hi, kind)];
    return typeof a === 'number' && typeof b === 'number' && typeof value === 'number' && value >= a && value <= b;
  }
  if (kind === 'addr') {
    const net = typeof el === 'string' ? parsePrefix(el) : undefined;
    return !!net && typeof value === 'string' && inSubnet(value, net);
  }
  if (kind === 'ifname' && typeof el === 'string' && el.endsWith('*'))
    return typeof value === 'string' && value.startsWith(el.slice(0, -1));
  const c = constant(el, kind);
  if (c === undefined) return unknown(`the value ${JSON.stringify(el)}`);
  return c === value;
}

/** Any of several elements: true if one holds, else unknown if one is, else false. */
function anyOf(els: unknown[], value: Value, kind: string): Tri {
  let u: Tri | undefined;
  for (const el of els) {
    const t = holds(el, value, kind);
    if (t === true) return true;
    if (isUnknown(t)) u ??= t;
  }
  return u ?? false;
}

function evalMatch(m: Record<string, unknown>, p: NftPacket, rs: Ruleset, r: NftRule): Tri {
  const lv = leftValue(m.left, p);
  if (lv === false) return false;
  if ('unknown' in lv) return lv;
  const { value, kind } = lv;
  const op = m.op as string;
  let right = m.right;
  // a named set
  if (typeof right === 'string' && right.startsWith('@')) {
    const els = rs.sets.get(`${r.family} ${r.table} ${right.slice(1)}`);
    if (!els) return unknown(`the set ${right}`);
    right = { set: els };
  }
  let t: Tri;
  if (kind === 'ctstate' || kind === 'tcpflags') {
    // flags: `ct state established,related` (op in), `tcp flags syn` (op in: the bits are set)
    const words = Array.isArray(right) ? right : isObj(right) && Array.isArray(right.set) ? right.set : [right];
    if (kind === 'ctstate') t = words.some((w) => typeof w === 'string' && CT_STATES.includes(w) && w === value);
    else {
      const bits = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 } as Record<string, number>;
      const want = words.reduce<number>((n, w) => n | (typeof w === 'string' ? (bits[w] ?? 0) : Number(w)), 0);
      t = op === 'in' ? ((value as number) & want) !== 0 : value === want;
    }
  } else if (isObj(right) && Array.isArray(right.set)) t = anyOf(right.set as unknown[], value, kind);
  else if (['<', '>', '<=', '>='].includes(op)) {
    const c = constant(right, kind);
    if (typeof c !== 'number' || typeof value !== 'number') return unknown(`a comparison (${op})`);
    t = op === '<' ? value < c : op === '>' ? value > c : op === '<=' ? value <= c : value >= c;
  } else t = holds(right, value, kind);
  if (isUnknown(t)) return t;
  return op === '!=' ? !t : t;
}

/** A value a statement sets: a number, or the packet's mark or its connection's mark, or an expression of them. */
function valueOf(v: unknown, p: NftPacket): number | { unknown: string } {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && /^(0x)?[0-9a-f]+$/i.test(v)) return Number(v);
  if (isObj(v) && isObj(v.meta) && (v.meta as { key?: string }).key === 'mark')
    return p.mark ?? { unknown: 'its mark' };
  if (isObj(v) && isObj(v.ct) && (v.ct as { key?: string }).key === 'mark')
    return p.ctMark ?? { unknown: "its connection's mark" };
  for (const op of ['|', '&', '^'] as const)
    if (isObj(v) && Array.isArray(v[op])) {
      const [a, b] = (v[op] as unknown[]).map((x) => valueOf(x, p));
      if (typeof a !== 'number') return a!;
      if (typeof b !== 'number') return b!;
      return (op === '|' ? a | b : op === '&' ? a & b : a ^ b) >>> 0;
    }
  return { unknown: `the value ${JSON.stringify(v)}` };
}

export type NatKind = 'snat' | 'dnat' | 'masquerade' | 'redirect';

/** One step of a walk that changed the packet or decided its fate. */
export interface Step {
  rule: NftRule;
  /** `meta mark set`: the mark after it; `ct mark set`: the connection's mark after it */
  mark?: number;
  ctMark?: number;
  nat?: { kind: NatKind; to?: string };
}

export interface Walk {
  /** where the walk ended: the packet goes on (accept), dies (drop/reject), or nslab cannot tell (unknown) */
  verdict: 'accept' | 'drop' | 'unknown';
  /** the rule that dropped it, or the chain whose policy did */
  by?: { rule: NftRule } | { policy: NftChain };
  /** the marks set and the NAT done on the way, in order */
  steps: Step[];
  /** the first rule whose match nslab could not evaluate and that would change the packet or its fate */
  uncertain?: { rule: NftRule; why: string };
  /** with an uncertain walk: the drop rules and drop policies after it that may still take the packet */
  mayDrop: ({ rule: NftRule } | { policy: NftChain })[];
  /** the packet as it leaves the hook (its marks) */
  packet: NftPacket;
}

/** The families of tables whose chains see a packet of this family at an IP hook. */
const familiesFor = (p: NftPacket) => (p.family === 4 ? ['ip', 'inet'] : ['ip6', 'inet']);

/** The base chains on a hook, in the order the kernel runs them (by priority). */
export function baseChains(rs: Ruleset, hook: string, p: NftPacket, types?: string[]): NftChain[] {
  const fams = familiesFor(p);
  const netdev = hook === 'ingress' || hook === 'egress';
  return rs.chains
    .filter(
      (c) =>
        c.hook === hook &&
        (fams.includes(c.family) || (c.family === 'netdev' && netdev)) &&
        (!types || types.includes(c.type ?? 'filter')) &&
        (c.family !== 'netdev' || !c.device || c.device === (hook === 'ingress' ? p.iif : p.oif)),
    )
    .sort((a, b) => (a.prio ?? 0) - (b.prio ?? 0));
}

/** Statements that act as matches nslab cannot evaluate for one packet (`limit rate 1/second`, `quota`, ...). */
const GATES = ['limit', 'quota', 'numgen', 'meter', 'connlimit', 'synproxy'];

/** What a rule does once it matches: go on, end the chain with a verdict, jump or go to a chain, return. */
type Act =
  | { do: 'next' }
  | { do: 'accept' }
  | { do: 'drop' }
  | { do: 'jump' | 'goto'; target: string }
  | { do: 'return' }
  | { do: 'unknown'; why: string };

/** Applies a matching rule's statements to the packet (marks, NAT) and says what comes next. */
function act(r: NftRule, p: NftPacket, steps: Step[]): Act {
  for (const e of r.expr) {
    if (!isObj(e) || isObj(e.match)) continue;
    const k = Object.keys(e)[0]!;
    const v = e[k];
    if (k === 'mangle') {
      const { key, value } = v as { key: Record<string, { key?: string } | undefined>; value: unknown };
      const target = key.meta?.key === 'mark' ? 'mark' : key.ct?.key === 'mark' ? 'ctMark' : undefined;
      if (!target) continue;
      const n = valueOf(value, p);
      p[target] = typeof n === 'number' ? n : undefined;
      if (typeof n === 'number') steps.push({ rule: r, ...(target === 'mark' ? { mark: n } : { ctMark: n }) });
      else return { do: 'unknown', why: n.unknown };
    } else if (k === 'snat' || k === 'dnat' || k === 'masquerade' || k === 'redirect') {
      const to = isObj(v) ? v.addr : undefined;
      steps.push({ rule: r, nat: { kind: k, ...(typeof to === 'string' ? { to } : {}) } });
      return { do: 'accept' };
    } else if (k === 'accept' || k === 'queue') return { do: 'accept' };
    else if (k === 'drop' || k === 'reject') return { do: 'drop' };
    else if (k === 'return') return { do: 'return' };
    else if (k === 'jump' || k === 'goto') return { do: k, target: String((v as { target?: string }).target) };
    else if (k === 'vmap' || k === 'xt' || k === 'fwd' || k === 'dup')
      return { do: 'unknown', why: k === 'vmap' ? 'a verdict map' : `the statement ${k}` };
    // counter, log, notrack, ct helper, set updates...: no bearing on marks, NAT or the verdict (a limit is a match)
  }
  return { do: 'next' };
}

/** Every drop rule of a chain and the chains it jumps to: what an uncertain jump may still do. */
function dropsUnder(rs: Ruleset, c: NftChain | undefined, seen = new Set<NftChain>()): { rule: NftRule }[] {
  if (!c || seen.has(c)) return [];
  seen.add(c);
  return c.rules.flatMap((r) => {
    const jump = r.expr.find((e) => isObj(e) && (isObj(e.jump) || isObj(e.goto))) as
      Record<string, { target?: string }> | undefined;
    const target = jump && (jump.jump ?? jump.goto)?.target;
    const under = target
      ? dropsUnder(
          rs,
          rs.chains.find((x) => x.family === c.family && x.table === c.table && x.name === target),
          seen,
        )
      : [];
    return [...(r.expr.some((e) => isObj(e) && ('drop' in e || 'reject' in e)) ? [{ rule: r }] : []), ...under];
  });
}

/**
 * Walks a packet through the base chains of one hook in the kernel's order (NAT chains only for a connection's first
 * packet, as the kernel does). `only` limits the walk to chains of these types (`route`: the output chains whose marks
 * reroute a locally sent packet). After a rule nslab cannot evaluate, the walk goes on as if it did not match, to list
 * the drop rules that may still take the packet; the verdict is then unknown.
 */
export function walk(rs: Ruleset, hook: string, packet: NftPacket, only?: string[]): Walk {
  const p: NftPacket = { ...packet };
  const steps: Step[] = [];
  const mayDrop: Walk['mayDrop'] = [];
  let uncertain: Walk['uncertain'];
  const chainOf = (c: NftChain, name: string) =>
    rs.chains.find((x) => x.family === c.family && x.table === c.table && x.name === name);
  for (const base of baseChains(rs, hook, p, only)) {
    if (base.type === 'nat' && p.ctState === 'established') continue;
    if (base.type === 'nat' && p.ctState === undefined && base.rules[0])
      uncertain ??= { rule: base.rules[0], why: "whether it is its connection's first packet" };
    const stack: { chain: NftChain; at: number }[] = [];
    let chain: NftChain | undefined = base;
    let at = 0;
    let end: 'accept' | 'drop' | 'policy' = 'policy';
    let by: Walk['by'];
    for (let guard = 0; chain && guard < 10_000; guard++) {
      const r: NftRule | undefined = chain.rules[at++];
      if (!r) {
        // the end of a regular chain: back to where it was jumped from; of the base chain: its policy
        const back = stack.pop();
        if (!back) break;
        [chain, at] = [back.chain, back.at];
        continue;
      }
      let m: Tri = true;
      for (const e of r.expr)
        if (isObj(e) && isObj(e.match)) {
          const t = evalMatch(e.match, p, rs, r);
          if (t === false) {
            m = false;
            break;
          }
          if (isUnknown(t) && m === true) m = t;
        } else if (isObj(e) && GATES.some((g) => g in e) && m === true)
          // a statement that lets some packets on and not others, by rate, count or chance: never known of one packet
          m = unknown(`a ${GATES.find((g) => g in e)!} statement`);
      if (m === false) continue;
      if (isUnknown(m)) {
        const a = act(r, { ...p }, []);
        if (a.do === 'next' && !r.expr.some((e) => isObj(e) && isObj(e.mangle))) continue;
        uncertain ??= { rule: r, why: m.unknown };
        if (a.do === 'drop') mayDrop.push({ rule: r });
        if (a.do === 'jump' || a.do === 'goto') mayDrop.push(...dropsUnder(rs, chainOf(chain, a.target)));
        continue;
      }
      const a = act(r, p, steps);
      if (a.do === 'next') continue;
      if (a.do === 'unknown') {
        uncertain ??= { rule: r, why: a.why };
        continue;
      }
      if (a.do === 'accept' || a.do === 'drop') {
        [end, by] = [a.do, a.do === 'drop' ? { rule: r } : undefined];
        break;
      }
      if (a.do === 'return') {
        const back = stack.pop();
        if (!back) break;
        [chain, at] = [back.chain, back.at];
        continue;
      }
      const target = chainOf(chain, a.target);
      if (!target) {
        uncertain ??= { rule: r, why: `the chain ${a.target}` };
        continue;
      }
      if (a.do === 'jump') stack.push({ chain, at });
      [chain, at] = [target, 0];
    }
    if (end === 'policy' && base.policy === 'drop') [end, by] = ['drop', { policy: base }];
    if (end === 'drop') {
      if (!uncertain) return { verdict: 'drop', by: by!, steps, mayDrop, packet: p };
      mayDrop.push(by!);
    }
  }
  return { verdict: uncertain ? 'unknown' : 'accept', steps, mayDrop, packet: p, ...(uncertain ? { uncertain } : {}) };
}

const chainKey = (c: { family: string; table: string }, name: string) => `${c.family} ${c.table} ${name}`;

/**
 * The hooks each chain is reached from: a base chain's own, and for a regular chain those of every chain that jumps or
 * goes to it (iptables-nft's and firewalld's user chains are regular chains). Keyed `family table chain`.
 */
export function hooksOf(rs: Ruleset): Map<string, Set<string>> {
  const hooks = new Map<string, Set<string>>();
  const of = (k: string) => hooks.get(k) ?? hooks.set(k, new Set()).get(k)!;
  for (const c of rs.chains) if (c.hook) of(chainKey(c, c.name)).add(c.hook);
  const edges = rs.chains.flatMap((c) =>
    c.rules.flatMap((r) =>
      r.expr.flatMap((e) => {
        const j = isObj(e) ? ((e.jump ?? e.goto) as { target?: string } | undefined) : undefined;
        return j?.target ? [[chainKey(c, c.name), chainKey(c, j.target)] as const] : [];
      }),
    ),
  );
  for (let changed = true; changed;) {
    changed = false;
    for (const [from, to] of edges)
      for (const h of of(from))
        if (!of(to).has(h)) {
          of(to).add(h);
          changed = true;
        }
  }
  return hooks;
}

/** The hooks a rule's chain is reached from. */
export const ruleHooks = (rs: Ruleset, r: NftRule) => hooksOf(rs).get(chainKey(r, r.chain)) ?? new Set<string>();

/** A family's address words in a table of this family: `ip` or `ip6`. */
const addrWord = (tableFamily: string, f: 4 | 6) => (tableFamily === 'ip6' || f === 6 ? 'ip6' : 'ip');

/** Words that match packets between these addresses, both ways: `ip saddr { A, B } ip daddr { A, B }`. */
export function betweenWords(tableFamily: string, a: string, b: string, bothWays: boolean): string {
  const w = addrWord(tableFamily, a.includes(':') ? 6 : 4);
  if (!bothWays) return `${w} saddr ${a} ${w} daddr ${b}`;
  const set = a === b ? a : `{ ${a}, ${b} }`;
  return `${w} saddr ${set} ${w} daddr ${set}`;
}

/** The same as a rule nslab can walk: an `accept` for those packets. */
function betweenRule(at: { family: string; table: string; chain: string }, a: string, b: string, bothWays: boolean) {
  const proto = addrWord(at.family, a.includes(':') ? 6 : 4);
  const m = (field: string, v: string[]) => ({
    match: { op: '==', left: { payload: { protocol: proto, field } }, right: v.length > 1 ? { set: v } : v[0] },
  });
  const src = bothWays ? [a, b] : [a];
  const dst = bothWays ? [a, b] : [b];
  const text = `${betweenWords(at.family, a, b, bothWays)} accept`;
  return { ...at, handle: -1, expr: [m('saddr', src), m('daddr', dst), { accept: null }], text } as NftRule;
}

/**
 * The ruleset with an exception for packets between two addresses: an accept just before a rule (`nft insert rule ...
 * handle H`), or at the end of a chain, before its policy (`nft add rule ...`). Returns the ruleset as it would be and
 * the command.
 */
export function withException(
  rs: Ruleset,
  where: { rule: NftRule } | { policy: NftChain },
  a: string,
  b: string,
  bothWays: boolean,
): { rs: Ruleset; command: string } {
  const at =
    'rule' in where
      ? { family: where.rule.family, table: where.rule.table, chain: where.rule.chain }
      : { family: where.policy.family, table: where.policy.table, chain: where.policy.name };
  const added = betweenRule(at, a, b, bothWays);
  const chains = rs.chains.map((c) => {
    if (c.family !== at.family || c.table !== at.table || c.name !== at.chain) return c;
    const i = 'rule' in where ? c.rules.indexOf(where.rule) : c.rules.length;
    return { ...c, rules: [...c.rules.slice(0, i), added, ...c.rules.slice(i)] };
  });
  const command =
    'rule' in where
      ? `nft 'insert rule ${at.family} ${at.table} ${at.chain} handle ${where.rule.handle} ${added.text}'`
      : `nft 'add rule ${at.family} ${at.table} ${at.chain} ${added.text}'`;
  return { rs: { ...rs, chains }, command };
}

/** A NAT rule's words before its NAT statement (what it matches, and its counter). */
export const natMatchWords = (r: NftRule) => r.text.replace(/\s*\b(masquerade|snat|dnat|redirect)\b.*$/, '').trim();

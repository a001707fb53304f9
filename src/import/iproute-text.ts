// iproute2's text output (what a sos report saves: `ip -d address`, `ip route show table all`, `ip -4 rule`, ...) read
// into the objects `ip -j` prints for the same thing (schema.ts), so that a sos report becomes the same snapshot as
// `nslab snapshot` of that host and everything after it (to-lab.ts) is shared. Each parser is pure and strict: a line
// or a word it does not know is a problem at its line and column, never skipped; the words it knows are those iproute2
// 6.1 prints (ip/ipaddress.c, ip/iproute.c, ip/iprule.c). A value is kept as the word iproute2 printed; the schema then
// checks its shape as for a snapshot.
import { parseAddress, parsePrefix, type Family } from '../lab/addr.js';
import { METRICS } from './routes.js';

/** One problem at a line (1-based) and column of the text. */
export interface TextProblem {
  line: number;
  col: number;
  message: string;
}

/** A parsed item and the line it came from. */
export interface Located<T> {
  item: T;
  line: number;
}

export interface Parsed<T> {
  items: Located<T>[];
  problems: TextProblem[];
}

type Json = Record<string, unknown>;

/** The words of a line with the column each starts at. */
function words(line: string): { w: string; col: number }[] {
  const out: { w: string; col: number }[] = [];
  const re = /\S+/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push({ w: m[0], col: m.index + 1 });
  return out;
}

const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const shownWord = (w: string) => `'${w.length > 40 ? `${w.slice(0, 40)}...` : w}'`.replace(CONTROL, '?');

/** The lines of a file, without a last empty one; a control character (other than a tab) is a problem of its line. */
function lines(text: string, problems: TextProblem[]): string[] {
  const ls = text.split('\n');
  if (ls.at(-1) === '') ls.pop();
  ls.forEach((l, i) => {
    const at = l.search(CONTROL);
    if (at >= 0 && !(at === l.length - 1 && l.endsWith('\r')))
      problems.push({ line: i + 1, col: at + 1, message: 'a control character: this is not the output of ip' });
  });
  return ls.map((l) => l.replace(/\r$/, ''));
}

/** A cursor over the words of one line; every word must be taken by the parser, or it is a problem. */
class Cursor {
  i = 0;
  constructor(
    readonly ws: { w: string; col: number }[],
    readonly line: number,
    readonly problems: TextProblem[],
    readonly what: string,
  ) {}
  get done() {
    return this.i >= this.ws.length;
  }
  peek() {
    return this.ws[this.i]?.w;
  }
  next() {
    return this.ws[this.i++]?.w;
  }
  col() {
    return this.ws[Math.min(this.i, this.ws.length - 1)]?.col ?? 1;
  }
  fail(message: string, back = 0) {
    const at = this.ws[Math.max(0, this.i - back)] ?? this.ws.at(-1);
    this.problems.push({ line: this.line, col: at?.col ?? 1, message });
    this.i = this.ws.length;
    return false;
  }
  /** The value after a keyword: missing is a problem. */
  value(key: string): string | undefined {
    const v = this.next();
    if (v === undefined) this.fail(`'${key}' without its value in ${this.what}`, 1);
    return v;
  }
  unknown(w: string) {
    return this.fail(`${shownWord(w)} is not a word nslab import knows in ${this.what}`, 1);
  }
}

const uint = (s: string | undefined) => (s !== undefined && /^\d{1,10}$/.test(s) ? Number(s) : undefined);

// ---------------------------------------------------------------------------------------------------- addresses

/** `ip address show` / `ip -d address` (one block per interface) -> `ip -j addr show`. */
export function parseAddresses(text: string): Parsed<Json> {
  const problems: TextProblem[] = [];
  const items: Located<Json>[] = [];
  let cur: Json | undefined;
  lines(text, problems).forEach((l, n) => {
    const line = n + 1;
    if (!l.trim()) return;
    const head = /^(\d+): ([^\s:]+): <([^>]*)>(.*)$/.exec(l);
    if (head) {
      // NAME@LINK: the link is another interface (a veth's peer, a vlan's parent), not part of the name
      const ifname = head[2]!.split('@')[0]!;
      const c = new Cursor(
        words(head[4]!).map((x) => ({ ...x, col: x.col + l.length - head[4]!.length })),
        line,
        problems,
        'an interface',
      );
      cur = { ifname, flags: head[3] ? head[3].split(',') : [], addr_info: [] };
      while (!c.done) {
        const w = c.next()!;
        if (w === 'mtu') {
          const v = c.value(w);
          if (v === undefined) break;
          if (uint(v) === undefined) c.fail(`mtu ${shownWord(v)} is not a number`, 1);
          else cur.mtu = uint(v);
        } else if (c.peek() !== undefined) c.next(); // qdisc, state, group, qlen, master, ...: words with one value
      }
      items.push({ item: cur, line });
      return;
    }
    if (!/^\s/.test(l) || !cur) {
      problems.push({ line, col: 1, message: 'not a line of ip address: an interface starts with "N: NAME: <FLAGS>"' });
      return;
    }
    const ws = words(l);
    const first = ws[0]!.w;
    if (first !== 'inet' && first !== 'inet6') return; // link/..., altname, valid_lft, the details of -d
    const fam: Family = first === 'inet' ? 4 : 6;
    const c = new Cursor(ws.slice(1), line, problems, `an ${first} address`);
    const local = c.next();
    const [addr, len] = (local ?? '').split('/');
    if (!local || parseAddress(addr!)?.family !== fam) {
      c.fail(`${shownWord(local ?? '')} is not an IPv${fam} address`, 1);
      return;
    }
    const a: Json = { family: first, local: addr };
    let prefixlen = len === undefined ? (fam === 4 ? 32 : 128) : uint(len);
    while (!c.done) {
      const w = c.next()!;
      if (w === 'peer') {
        const v = c.value(w);
        if (v === undefined) return;
        const p = parsePrefix(v);
        if (p?.family !== fam) return c.fail(`peer ${shownWord(v)} is not an IPv${fam} address`, 1);
        const [pa, plen] = v.split('/');
        a.address = pa;
        prefixlen = plen === undefined ? (fam === 4 ? 32 : 128) : uint(plen);
      } else if (w === 'scope') {
        const v = c.value(w);
        if (v === undefined) return;
        a.scope = v;
      } else if (['brd', 'any', 'metric'].includes(w)) {
        if (w !== 'any' && c.value(w) === undefined) return;
      } else if (a.scope !== undefined) {
        // after the scope: flags (secondary, dynamic, nodad, noprefixroute, ...) and the label; nothing import reads
      } else return c.unknown(w);
    }
    if (prefixlen === undefined || prefixlen > (fam === 4 ? 32 : 128))
      return c.fail(`${shownWord(local)}: the prefix length is not 0-${fam === 4 ? 32 : 128}`, 0);
    if (a.scope === undefined) return c.fail(`an ${first} address without its scope`, 0);
    a.prefixlen = prefixlen;
    (cur.addr_info as Json[]).push(a);
  });
  return { items, problems };
}

// ---------------------------------------------------------------------------------------------------- routes

const ROUTE_TYPES = ['unicast', 'local', 'broadcast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw'];
const ROUTE_TYPES_OTHER = ['anycast', 'nat', 'xresolve'];
/** Route flags as iproute2 prints them (a word alone). */
const ROUTE_FLAGS = ['onlink', 'pervasive', 'linkdown', 'dead', 'offload', 'trap', 'notify', 'rt_offload', 'rt_trap'];
/** Route metrics `ip -j` prints under `metrics`: those a lab takes (routes.ts), and those it leaves out with a note. */
const ROUTE_METRICS = [...METRICS, 'rtt', 'rttvar', 'rto_min', 'features', 'congctl'];

/** The family of a route line by its addresses: undefined if it names none. */
export function lineFamily(route: Json): Family | undefined {
  const words = [
    route.dst,
    route.from,
    route.gateway,
    route.prefsrc,
    ...((route.nexthops as Json[]) ?? []).map((h) => h.gateway),
  ];
  for (const w of words) {
    if (typeof w !== 'string' || w === 'default') continue;
    const f = parsePrefix(w)?.family;
    if (f) return f;
  }
  return undefined;
}

function routeWords(c: Cursor, r: Json, hop: boolean): void {
  while (!c.done) {
    const w = c.next()!;
    const one = (key: string) => {
      const v = c.value(w);
      if (v !== undefined) r[key] = v;
    };
    if (!hop && w === 'from') one('from');
    else if (!hop && (w === 'tos' || w === 'dsfield')) one('tos');
    else if (w === 'via') {
      let v = c.value(w);
      if (v === 'inet' || v === 'inet6') {
        const host = c.value(v);
        if (host !== undefined) r.via = { family: v, host };
        v = undefined;
      } else if (v !== undefined) r.gateway = v;
    } else if (w === 'dev') one('dev');
    else if (!hop && w === 'table') one('table');
    else if (!hop && w === 'proto') one('protocol');
    else if (!hop && w === 'scope') one('scope');
    else if (!hop && w === 'src') one('prefsrc');
    else if (!hop && w === 'metric') {
      const v = c.value(w);
      if (v === undefined) return;
      if (uint(v) === undefined) return void c.fail(`metric ${shownWord(v)} is not a number`, 1);
      r.metric = uint(v);
    } else if (!hop && w === 'pref') one('pref');
    else if (!hop && w === 'expires') one('expires');
    else if (!hop && w === 'nhid') one('nhid');
    else if (!hop && w === 'error') one('error');
    else if (hop && w === 'weight') {
      const v = c.value(w);
      if (v === undefined) return;
      if (uint(v) === undefined) return void c.fail(`weight ${shownWord(v)} is not a number`, 1);
      r.weight = uint(v);
    } else if (ROUTE_FLAGS.includes(w)) (r.flags as string[]).push(w);
    else if (!hop && ROUTE_METRICS.includes(w)) {
      let v = c.value(w);
      // `mtu lock 1400`: the value is locked (JSON: metrics [{lock: [mtu], mtu: 1400}]); kept as a metric import refuses
      const m = ((r.metrics as Json[] | undefined) ?? (r.metrics = [{}]))[0]!;
      if (v === 'lock') {
        m.lock = [...((m.lock as string[] | undefined) ?? []), w];
        v = c.value(w);
      }
      if (v === undefined) return;
      m[w] = uint(v) ?? v;
    } else if (!hop && w === 'cache') r.cache = [];
    else return void c.unknown(w);
  }
}

/**
 * `ip route show table all` / `ip -6 route show table all` -> `ip -j route show table all`. A multipath route's
 * nexthops are the tab-indented `nexthop` lines after it. FAMILY, if the file is of one family (`-6`), checks each
 * address against it; the file of `ip route show table all` holds both families (iproute2 6.x), told apart by the
 * caller (lineFamily).
 */
export function parseRoutes(text: string): Parsed<Json> {
  const problems: TextProblem[] = [];
  const items: Located<Json>[] = [];
  let last: Json | undefined;
  lines(text, problems).forEach((l, n) => {
    const line = n + 1;
    if (!l.trim()) return;
    const ws = words(l);
    if (/^\s/.test(l)) {
      if (ws[0]!.w !== 'nexthop' || !last)
        return void problems.push({
          line,
          col: ws[0]!.col,
          message: 'an indented line that is not a nexthop of the route above it',
        });
      const hop: Json = { flags: [] };
      routeWords(new Cursor(ws.slice(1), line, problems, 'a nexthop'), hop, true);
      ((last.nexthops as Json[] | undefined) ?? (last.nexthops = [])).push(hop);
      return;
    }
    const c = new Cursor(ws, line, problems, 'a route');
    const r: Json = { flags: [] };
    let w = c.next()!;
    if (ROUTE_TYPES.includes(w) || ROUTE_TYPES_OTHER.includes(w)) {
      if (w !== 'unicast') r.type = w;
      const d = c.next();
      if (d === undefined) return void c.fail(`a ${w} route without its destination`);
      w = d;
    }
    if (w !== 'default' && !parsePrefix(w))
      return void c.fail(`${shownWord(w)} is not a route's destination (default, an address or a prefix)`, 1);
    r.dst = w;
    routeWords(c, r, false);
    last = r;
    items.push({ item: r, line });
  });
  return { items, problems };
}

// ---------------------------------------------------------------------------------------------------- rules

/** `ip -4 rule` / `ip -6 rule` -> `ip -j -4/-6 rule show`. */
export function parseRules(text: string, fam: Family): Parsed<Json> {
  const problems: TextProblem[] = [];
  const items: Located<Json>[] = [];
  lines(text, problems).forEach((l, n) => {
    const line = n + 1;
    if (!l.trim()) return;
    const m = /^(\d{1,10}):\s/.exec(l);
    if (!m)
      return void problems.push({ line, col: 1, message: 'not a line of ip rule: a rule starts with "PRIORITY:"' });
    const r: Json = { priority: Number(m[1]) };
    const c = new Cursor(
      words(l.slice(m[0].length)).map((x) => ({ ...x, col: x.col + m[0].length })),
      line,
      problems,
      'a rule',
    );
    const addr = (key: 'src' | 'dst', v: string | undefined) => {
      if (v === undefined) return;
      if (v === 'all') return void (r[key] = 'all');
      const p = parsePrefix(v);
      if (p?.family !== fam) return void c.fail(`${shownWord(v)} is not 'all' or an IPv${fam} prefix`, 1);
      const [a, len] = v.split('/');
      r[key] = a;
      if (len !== undefined) r[`${key}len`] = Number(len);
    };
    const range = (key: string, v: string | undefined) => {
      if (v === undefined) return;
      const rm = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(v);
      if (!rm) return void c.fail(`${key} ${shownWord(v)} is not a number or a range N-M`, 1);
      if (rm[2] === undefined && key !== 'uid') r[key] = Number(rm[1]);
      else {
        r[`${key}_start`] = Number(rm[1]);
        r[`${key}_end`] = Number(rm[2] ?? rm[1]);
      }
    };
    if (c.peek() === 'not') {
      c.next();
      r.not = null;
    }
    while (!c.done) {
      const w = c.next()!;
      const one = (key: string) => {
        const v = c.value(w);
        if (v !== undefined) r[key] = v;
      };
      if (w === 'from') addr('src', c.value(w));
      else if (w === 'to') addr('dst', c.value(w));
      else if (w === 'tos' || w === 'dsfield') one('tos');
      else if (w === 'fwmark') {
        const v = c.value(w);
        if (v === undefined) break;
        const [mark, mask] = v.split('/');
        r.fwmark = mark;
        if (mask !== undefined) r.fwmask = mask;
      } else if (w === 'iif' || w === 'oif') one(w);
      else if (w === '[detached]') r[`${r.oif !== undefined ? 'oif' : 'iif'}_detached`] = true;
      else if (w === 'uidrange') range('uid', c.value(w));
      else if (w === 'ipproto') one('ipproto');
      else if (w === 'sport' || w === 'dport') range(w, c.value(w));
      else if (w === 'lookup') one('table');
      else if (w === 'goto') {
        const v = c.value(w);
        if (v === undefined) break;
        if (uint(v) === undefined) return void c.fail(`goto ${shownWord(v)} is not a priority`, 1);
        r.goto = uint(v);
      } else if (w === '[unresolved]') r.unresolved = null;
      else if (w === 'nop') r.nop = null;
      else if (['blackhole', 'unreachable', 'prohibit'].includes(w)) r.action = w;
      else if (w === 'suppress_prefixlength') {
        const v = c.value(w);
        if (v === undefined) break;
        if (uint(v) === undefined) return void c.fail(`suppress_prefixlength ${shownWord(v)} is not a number`, 1);
        r.suppress_prefixlen = uint(v);
      } else if (w === 'suppress_ifgroup') one('suppress_ifgroup');
      else if (w === 'realms') {
        const v = c.value(w);
        if (v === undefined) break;
        const [a, b] = v.split('/');
        if (b === undefined) r.flow_to = a;
        else {
          r.flow_from = a;
          r.flow_to = b;
        }
      } else if (w === 'proto') one('protocol');
      else if (w === 'l3mdev') r.l3mdev = null;
      else if (w === 'tun_id') one('tun_id');
      else if (w === 'map-to' || w === 'nat') one('nat');
      else return void c.unknown(w);
    }
    items.push({ item: r, line });
  });
  return { items, problems };
}

// ---------------------------------------------------------------------------------------------------- the rest

/** /etc/iproute2/rt_tables (and rt_tables.d/*.conf): id -> name, as iproute2 reads it (`ID NAME`, # comments). */
export function parseRtTables(text: string): Parsed<[string, string]> {
  const problems: TextProblem[] = [];
  const items: Located<[string, string]>[] = [];
  lines(text, problems).forEach((l, n) => {
    const s = l.replace(/#.*/, '').trim();
    if (!s) return;
    const m = /^(0x[0-9a-fA-F]+|\d+)\s+(\S+)$/.exec(s);
    if (!m) return void problems.push({ line: n + 1, col: 1, message: 'not a line of rt_tables ("ID NAME")' });
    items.push({ item: [String(Number(m[1])), m[2]!], line: n + 1 });
  });
  return { items, problems };
}

/** `sysctl -a`: the net.* keys (KEY = VALUE); other keys are not read. */
export function parseSysctls(text: string): Parsed<[string, string]> {
  const problems: TextProblem[] = [];
  const items: Located<[string, string]>[] = [];
  lines(text, problems).forEach((l, n) => {
    if (!l.startsWith('net.')) return;
    const m = /^(\S+) = (.*)$/.exec(l);
    if (!m) return void problems.push({ line: n + 1, col: 1, message: 'not a line of sysctl -a ("KEY = VALUE")' });
    items.push({ item: [m[1]!, m[2]!.trim()], line: n + 1 });
  });
  return { items, problems };
}

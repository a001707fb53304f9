// Routes and rules are written exactly as after `ip route add` / `ip rule add`,
// so users can paste their real configuration. They are tokenised and checked
// here (never handed to a shell), and lab table names become numbers: table
// names belong to the lab, and /etc/iproute2/rt_tables is a shared host file.
//
// Keywords are read the way iproute2 6.1 reads them (ip/iproute.c
// iproute_modify, ip/iprule.c iprule_modify): some by exact word, most by
// prefix ("prio" is priority, "proto" protocol, "lookup" table), in iproute2's
// own order (in a rule, "t" is tun_id, not table). Each is rewritten to its
// full spelling, so the plan shows what it means.
import { parseAddress, parsePrefix, inSubnet, networkOf, type Cidr, type Family } from './addr.js';
import { BATCH_TOKEN, shown } from './grammar.js';
import { suggest } from './suggest.js';

/** What a node looks like at the point a route or rule is added. */
export interface NodeView {
  interfaces: Map<string, Cidr[]>; // name -> addresses (lo included)
  tables: Map<string, number>;
  /** Interfaces that are down at this point (taken down by the base settings or a stage so far). */
  down?: Set<string>;
}

export interface Checked {
  args: string[]; // tokens with table names translated and keywords spelt out, ready for `ip route add ...`
  errors: { message: string; hint?: string }[];
  /** The address family: from the addresses written, or `-4` / `-6` in front; IPv4 when nothing says. */
  family: Family;
}

export const BUILTIN_TABLES: Record<string, number> = { default: 253, main: 254, local: 255 };
/** A table as ip prints it (a number, a built-in name, or nothing for main) -> its id as a string. */
export const tableIdOf = (t: string | number | undefined): string =>
  t === undefined ? '254' : BUILTIN_TABLES[String(t)] !== undefined ? String(BUILTIN_TABLES[String(t)]) : String(t);
/** A table id -> its name among a node's tables and the built-in ones, else the id. */
export const tableNameOf = (tables: Record<string, number>, id: string): string =>
  Object.entries({ ...BUILTIN_TABLES, ...tables }).find(([, n]) => String(n) === id)?.[0] ?? id;
const ROUTE_TYPES = [
  'unicast',
  'local',
  'broadcast',
  'multicast',
  'throw',
  'unreachable',
  'prohibit',
  'blackhole',
  'anycast',
];

/** iproute2's matches(): the word is a non-empty prefix of the keyword. */
const isPrefix = (word: string, keyword: string) => word.length > 0 && keyword.startsWith(word);

type Spelling = [how: 'eq' | 'prefix', word: string, meaning: string];
/** iproute_modify's chain, in order; `meaning` is the keyword nslab writes. */
const ROUTE_KEYWORDS: Spelling[] = [
  ['eq', 'src', 'src'],
  ['eq', 'as', 'as'],
  ['eq', 'via', 'via'],
  ['eq', 'from', 'from'],
  ['eq', 'tos', 'tos'],
  ['prefix', 'dsfield', 'dsfield'],
  ['eq', 'expires', 'expires'],
  ['prefix', 'metric', 'metric'],
  ['prefix', 'priority', 'metric'],
  ['eq', 'preference', 'metric'],
  ['eq', 'scope', 'scope'],
  ['eq', 'mtu', 'mtu'],
  ['eq', 'hoplimit', 'hoplimit'],
  ['eq', 'advmss', 'advmss'],
  ['prefix', 'reordering', 'reordering'],
  ['eq', 'rtt', 'rtt'],
  ['eq', 'rto_min', 'rto_min'],
  ['prefix', 'window', 'window'],
  ['prefix', 'cwnd', 'cwnd'],
  ['prefix', 'initcwnd', 'initcwnd'],
  ['prefix', 'initrwnd', 'initrwnd'],
  ['prefix', 'features', 'features'],
  ['prefix', 'quickack', 'quickack'],
  ['prefix', 'congctl', 'congctl'],
  ['prefix', 'rttvar', 'rttvar'],
  ['prefix', 'ssthresh', 'ssthresh'],
  ['prefix', 'realms', 'realms'],
  ['eq', 'onlink', 'onlink'],
  ['eq', 'nexthop', 'nexthop'],
  ['eq', 'nhid', 'nhid'],
  ['prefix', 'protocol', 'protocol'],
  ['prefix', 'table', 'table'],
  ['prefix', 'vrf', 'vrf'],
  ['eq', 'dev', 'dev'],
  ['eq', 'oif', 'dev'],
  ['prefix', 'pref', 'pref'],
  ['eq', 'encap', 'encap'],
  ['eq', 'ttl-propagate', 'ttl-propagate'],
  ['prefix', 'fastopen_no_cookie', 'fastopen_no_cookie'],
];
/** parse_one_nh's words inside a `nexthop`. */
const NEXTHOP_KEYWORDS: Spelling[] = [
  ['eq', 'via', 'via'],
  ['eq', 'dev', 'dev'],
  ['eq', 'weight', 'weight'],
  ['eq', 'onlink', 'onlink'],
  ['prefix', 'realms', 'realms'],
];
/** iprule_modify's chain, in order. */
const RULE_KEYWORDS: Spelling[] = [
  ['eq', 'not', 'not'],
  ['eq', 'from', 'from'],
  ['eq', 'to', 'to'],
  ['prefix', 'preference', 'priority'],
  ['prefix', 'order', 'priority'],
  ['prefix', 'priority', 'priority'],
  ['eq', 'tos', 'tos'],
  ['prefix', 'dsfield', 'dsfield'],
  ['eq', 'fwmark', 'fwmark'],
  ['prefix', 'realms', 'realms'],
  ['prefix', 'protocol', 'protocol'],
  ['prefix', 'tun_id', 'tun_id'],
  ['prefix', 'table', 'table'],
  ['eq', 'lookup', 'table'],
  ['prefix', 'suppress_prefixlength', 'suppress_prefixlength'],
  ['eq', 'sup_pl', 'suppress_prefixlength'],
  ['prefix', 'suppress_ifgroup', 'suppress_ifgroup'],
  ['eq', 'sup_group', 'suppress_ifgroup'],
  ['eq', 'dev', 'iif'],
  ['eq', 'iif', 'iif'],
  ['eq', 'oif', 'oif'],
  ['eq', 'l3mdev', 'l3mdev'],
  ['eq', 'uidrange', 'uidrange'],
  ['eq', 'nat', 'nat'],
  ['prefix', 'map-to', 'nat'],
  ['eq', 'ipproto', 'ipproto'],
  ['eq', 'sport', 'sport'],
  ['eq', 'dport', 'dport'],
  // the rest is the rule's action: [type] goto N | nop | blackhole | unreachable | prohibit
  ['prefix', 'goto', 'goto'],
  ['prefix', 'nop', 'nop'],
  ['eq', 'blackhole', 'blackhole'],
  ['eq', 'unreachable', 'unreachable'],
  ['eq', 'prohibit', 'prohibit'],
];
const NOT_SUPPORTED = ['as', 'rto_min', 'vrf', 'encap', 'ttl-propagate', 'tun_id', 'l3mdev', 'nat', 'nhid', 'congctl'];
/** The protocol names iproute2 6.1 knows (its rt_protos), besides numbers. */
const PROTOCOLS =
  /^(kernel|boot|static|gated|ra|mrt|zebra|bird|dnrouted|xorp|ntk|dhcp|keepalived|babel|openr|bgp|isis|ospf|rip|eigrp|redirect|\d{1,3})$/;
/**
 * The IP protocols nslab knows by name (IANA's numbers, as in netbase's
 * /etc/protocols). iproute2 reads `ipproto` names from /etc/protocols, which
 * minimal images (debian:12-slim, debootstrap's minbase) lack: nslab passes the
 * number, as it does for table names.
 */
export const IP_PROTOCOLS: Readonly<Record<string, number>> = {
  icmp: 1,
  tcp: 6,
  udp: 17,
  dccp: 33,
  gre: 47,
  esp: 50,
  ah: 51,
  'ipv6-icmp': 58,
  sctp: 132,
  udplite: 136,
};
/** An `ipproto` value: one of those names, or a number. */
export const IPPROTO = new RegExp(`^(${Object.keys(IP_PROTOCOLS).join('|')}|\\d{1,3})$`);
/** An `ipproto` value as a number, for the commands nslab runs. */
export const ipprotoNumber = (v: string): string => String(IP_PROTOCOLS[v] ?? v);
const ROUTE_FLAGS = ['onlink'];
const RULE_FLAGS = ['not', 'nop', 'blackhole', 'unreachable', 'prohibit'];
const LOCKABLE = [
  'mtu',
  'hoplimit',
  'advmss',
  'reordering',
  'rtt',
  'window',
  'cwnd',
  'initcwnd',
  'initrwnd',
  'congctl',
  'rttvar',
  'ssthresh',
];

function meaning(word: string, chain: Spelling[]): string | undefined {
  return chain.find(([how, w]) => (how === 'eq' ? word === w : isPrefix(word, w)))?.[2];
}

const NUM = /^\d{1,10}$/;
const HEX_OR_NUM = /^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/;
const RANGE = /^\d{1,10}(-\d{1,10})?$/;
/**
 * The grammar of each keyword's value, as iproute2 6.1 reads it. A value that
 * fits none is an error here, with its position, rather than at `up` (or, for
 * batch metacharacters such as '#' or '\\', a different command than written).
 */
const VALUE: Record<string, [RegExp, string]> = {
  metric: [NUM, 'a number'],
  priority: [NUM, 'a number'],
  goto: [NUM, 'a rule priority'],
  weight: [/^([1-9]\d{0,2})$/, 'a weight from 1 to 256'],
  pref: [/^(low|medium|high)$/, "low, medium or high (the IPv6 router preference; a route's metric is written metric)"],
  mtu: [NUM, 'a number'],
  advmss: [NUM, 'a number'],
  hoplimit: [NUM, 'a number'],
  initcwnd: [NUM, 'a number'],
  initrwnd: [NUM, 'a number'],
  window: [NUM, 'a number'],
  rtt: [/^\d{1,10}(s|ms|us)?$/, 'a time'],
  rttvar: [/^\d{1,10}(s|ms|us)?$/, 'a time'],
  ssthresh: [NUM, 'a number'],
  cwnd: [NUM, 'a number'],
  reordering: [NUM, 'a number'],
  expires: [NUM, 'seconds'],
  nhid: [NUM, 'a nexthop id'],
  quickack: [/^[01]$/, '0 or 1'],
  fastopen_no_cookie: [/^[01]$/, '0 or 1'],
  features: [/^ecn$/, 'ecn'],
  congctl: [/^[a-z][a-z0-9_]{0,15}$/, 'a congestion control name'],
  protocol: [PROTOCOLS, 'a protocol name such as static, kernel, boot, dhcp, bgp, or a number 0-255'],
  scope: [/^(host|link|global|universe|site|nowhere|\d{1,3})$/, 'host, link, global, site, nowhere or a number'],
  realms: [/^(\d{1,10}|\d{1,10}\/\d{1,10})$/, 'a realm number, or FROM/TO'],
  tos: [HEX_OR_NUM, 'a number (decimal or 0x hex)'],
  dsfield: [HEX_OR_NUM, 'a number (decimal or 0x hex)'],
  fwmark: [
    /^(0x[0-9a-fA-F]{1,8}|\d{1,10})(\/(0x[0-9a-fA-F]{1,8}|\d{1,10}))?$/,
    'a mark, optionally /mask (decimal or 0x hex)',
  ],
  uidrange: [/^\d{1,10}-\d{1,10}$/, 'a range of user ids such as 1000-1999'],
  ipproto: [IPPROTO, 'a protocol such as tcp, udp, icmp or a number'],
  sport: [RANGE, 'a port or a range such as 1024-2047'],
  dport: [RANGE, 'a port or a range such as 1024-2047'],
  suppress_prefixlength: [NUM, 'a prefix length'],
  suppress_ifgroup: [NUM, 'an interface group number'],
};

/** Upper bounds of numeric values, as the kernel's fields hold them (ip refuses more, or worse, wraps them). */
const MAX: Record<string, number> = {
  protocol: 255,
  ipproto: 255,
  scope: 255,
  tos: 255,
  dsfield: 255,
  sport: 65535,
  dport: 65535,
  weight: 256,
  suppress_prefixlength: 128,
  hoplimit: 255,
};
const U32 = 0xffffffff;

/** The value of `kw` is well formed and in range, or an error is pushed. */
function checkValue(kw: string, value: string, errors: Checked['errors']): void {
  const g = VALUE[kw];
  if (g && !g[0].test(value)) {
    errors.push({ message: `'${kw}' takes ${g[1]}, not '${shown(value)}'` });
    return;
  }
  if (!BATCH_TOKEN.test(value)) {
    errors.push({
      message: `'${shown(value)}' is not a valid value for '${kw}'`,
      hint: 'values are single words of letters, digits and . : / % + - _',
    });
    return;
  }
  // numbers (a range's ends, a mark and its mask) within what the field holds; a range in order
  const nums = (/^[\d\-/x0-9a-fA-F]+$/.test(value) ? value.split(/[-/]/) : [])
    .filter((n) => /^(0x[0-9a-fA-F]+|\d+)$/.test(n))
    .map(Number);
  const max = MAX[kw] ?? U32;
  if (nums.some((n) => n > max))
    errors.push({
      message: `'${kw} ${value}' is out of range: at most ${kw === 'tos' || kw === 'dsfield' ? '0xff' : max}`,
    });
  else if ((kw === 'tos' || kw === 'dsfield') && nums[0]! & 3)
    errors.push({
      message: `'${kw} ${value}' sets the ECN bits`,
      hint: 'the two low bits belong to ECN; the kernel refuses them in a route or rule (use e.g. 0x10)',
    });
  else if ((kw === 'uidrange' || kw === 'sport' || kw === 'dport') && nums.length === 2 && nums[0]! > nums[1]!)
    errors.push({
      message: `'${kw} ${value}' is reversed`,
      hint: `write the smaller number first: ${nums[1]}-${nums[0]}`,
    });
}

export function tokenize(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

function tableId(name: string, view: NodeView, errors: Checked['errors']): string {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    if (n < 1 || n > 0xffffffff)
      errors.push({ message: `table id ${name} is out of range`, hint: 'use 1-252 or 256 and above' });
    return name;
  }
  const id = view.tables.get(name) ?? BUILTIN_TABLES[name];
  if (id === undefined) {
    errors.push({
      message: `table '${shown(name)}' is not declared in this node`,
      hint: `declare it under tables, e.g. tables: { ${shown(name, 20)}: 201 }`,
    });
    return name;
  }
  return String(id);
}

function checkDev(dev: string, view: NodeView, errors: Checked['errors'], mustBeUp = false): void {
  if (!view.interfaces.has(dev))
    errors.push({
      message: `interface '${shown(dev)}' does not exist in this node`,
      hint: suggest(dev, [...view.interfaces.keys()], 'interfaces'),
    });
  else if (mustBeUp && view.down?.has(dev))
    errors.push({
      message: `interface ${dev} is down at this point`,
      hint: 'the kernel refuses a route through a down interface: bring it up first (up: [...] in a stage)',
    });
}

function nodeHasAddress(address: string, view: NodeView): boolean {
  return [...view.interfaces.values()].some((cs) => cs.some((c) => c.address === address));
}

/** An IPv6 link-local address (fe80::/10). */
const isLinkLocal6 = (a: string) => /^fe[89ab][0-9a-f]?:/i.test(a);

/** A gateway must be on the subnet of an interface that is up (never lo: the kernel refuses it as an egress). */
function onConnectedSubnet(gw: string, dev: string | undefined, view: NodeView): boolean {
  // with a device, only its subnets count (a node may have thousands of interfaces); an IPv6 link-local gateway is on
  // the link of the device named, which has a link-local address of its own (as every host with router advertisements)
  if (dev)
    return (
      dev !== 'lo' &&
      !view.down?.has(dev) &&
      (isLinkLocal6(gw) ? view.interfaces.has(dev) : !!view.interfaces.get(dev)?.some((c) => inSubnet(gw, c)))
    );
  for (const [name, cidrs] of view.interfaces)
    if (name !== 'lo' && !view.down?.has(name) && (!dev || dev === name) && cidrs.some((c) => inSubnet(gw, c)))
      return true;
  return false;
}

/**
 * What makes two routes the same to the kernel (`ip route add` refuses the second): family, table, type, destination,
 * metric, tos.
 */
export function routeKey(r: { args: string[]; family: Family }): string {
  const get = (k: string) => {
    const i = r.args.indexOf(k);
    return i >= 0 ? r.args[i + 1] : undefined;
  };
  const type = ROUTE_TYPES.includes(r.args[0]!) ? r.args[0]! : 'unicast';
  const dest = ROUTE_TYPES.includes(r.args[0]!) ? r.args[1]! : r.args[0]!;
  const metric = get('metric') ?? (r.family === 6 ? '1024' : '0');
  return `${r.family} table ${get('table') ?? '254'} ${type} ${dest}${get('from') ? ` from ${get('from')}` : ''} metric ${metric} tos ${get('tos') ?? get('dsfield') ?? '0'}`;
}

/** Tracks the family the addresses of one line imply, and reports a mix. */
class FamilyOf {
  stated?: Family;
  seen?: Family;
  constructor(toks: string[]) {
    if (toks[0] === '-4' || toks[0] === '-6') this.stated = toks.shift() === '-6' ? 6 : 4;
  }
  add(f: Family, what: string, errors: Checked['errors']): void {
    const want = this.stated ?? this.seen;
    if (want && want !== f)
      errors.push({
        message: `${what} is IPv${f}, but the ${this.stated ? "line's -" + this.stated : 'rest of the line'} is IPv${want}`,
        hint: 'a route or rule is of one address family',
      });
    this.seen ??= f;
  }
  get family(): Family {
    return this.stated ?? this.seen ?? 4;
  }
}

const unknown = (kind: string, kw: string, chain: Spelling[]) => ({
  message: `unknown ${kind} keyword '${shown(kw)}'`,
  hint: suggest(
    kw,
    [...new Set(chain.map((s) => s[1]))].filter((w) => !NOT_SUPPORTED.includes(w)),
    'keywords',
  ),
});

/** Checks one route written as after `ip route add` (or `ip -6 route add`, with `-6` in front). */
export function checkRoute(text: string, view: NodeView): Checked & { dests: string[] } {
  const toks = tokenize(text);
  const fam = new FamilyOf(toks);
  const errors: Checked['errors'] = [];
  const args: string[] = [];
  let i = 0;
  let prefix: Cidr | undefined;
  let isDefault = false;
  let onlink = false;
  let type = 'unicast';
  const gateways: { via: string; dev?: string }[] = [];
  let dev: string | undefined;
  let topVia = false;
  let scope: string | undefined;
  type Hop = { via?: string; dev?: string; onlink?: boolean };
  const nexthops: Hop[] = [];
  let inNexthop: Hop | undefined;
  let onlinkVia = true; // onlink needs a gateway and a device, on the route or its next hop

  if (toks[i] === 'to') i++;
  if (toks[i] && ROUTE_TYPES.includes(toks[i]!)) {
    type = toks[i]!;
    args.push(toks[i++]!);
  }
  const dest = toks[i];
  if (dest === undefined) {
    errors.push({
      message: 'route has no destination',
      hint: "write it as after 'ip route add', e.g. 'default via 10.0.0.1'",
    });
    return { args, errors, family: fam.family, dests: [] };
  }
  if (['default', 'all', 'any'].includes(dest)) isDefault = true;
  else {
    prefix = parsePrefix(dest);
    if (!prefix)
      errors.push({
        message: `'${shown(dest)}' is not a valid destination prefix`,
        hint: "use an address with its length, e.g. 10.1.0.0/16, or 'default'",
      });
    else {
      fam.add(prefix.family, `destination ${dest}`, errors);
      const net = networkOf(prefix);
      if (net !== `${prefix.address}/${prefix.prefix}`)
        errors.push({
          message: `destination ${dest} has host bits set`,
          hint: `the kernel refuses it: write the network, ${net}`,
        });
    }
  }
  args.push(isDefault ? 'default' : dest);
  i++;
  const finishNexthop = () => {
    if (inNexthop?.via) gateways.push({ via: inNexthop.via, dev: inNexthop.dev });
    if (inNexthop?.onlink && !(inNexthop.via && inNexthop.dev)) onlinkVia = false;
    inNexthop = undefined;
  };
  /** A next hop (or the route itself) names one gateway and one device: a second one means a missing 'nexthop'. */
  const once = (hop: Hop | undefined, key: 'via' | 'dev', was: boolean) => {
    if (was)
      errors.push({
        message: `${hop ? 'a next hop' : 'the route'} has two '${key}'`,
        hint: hop
          ? "write 'nexthop' before each next hop"
          : "for several next hops, write 'nexthop via ... dev ...' for each",
      });
  };
  while (i < toks.length) {
    const word = toks[i]!;
    const chain = inNexthop ? NEXTHOP_KEYWORDS : ROUTE_KEYWORDS;
    const kw = meaning(word, chain) ?? (inNexthop ? meaning(word, ROUTE_KEYWORDS) : undefined);
    if (kw === 'nexthop') {
      finishNexthop();
      inNexthop = {};
      nexthops.push(inNexthop);
      args.push(kw);
      i++;
      continue;
    }
    if (kw && inNexthop && !NEXTHOP_KEYWORDS.some((s) => s[2] === kw)) {
      // iproute2 reads nothing but next hops after the first 'nexthop': ip would refuse this line
      errors.push({
        message: `'${kw}' comes after the next hops`,
        hint: "write the route's own keywords (table, metric, proto, ...) before the first 'nexthop'",
      });
      return { args: [...args, ...toks.slice(i)], errors, family: fam.family, dests: [] };
    }
    if (kw && ROUTE_FLAGS.includes(kw)) {
      onlink = true;
      if (inNexthop) inNexthop.onlink = true;
      args.push(kw);
      i++;
      continue;
    }
    if (!kw || NOT_SUPPORTED.includes(kw)) {
      errors.push(
        kw
          ? { message: `route keyword '${kw}' is not supported by nslab` }
          : unknown(inNexthop ? 'nexthop' : 'route', word, chain),
      );
      // the rest cannot be aligned to keywords
      return { args: [...args, ...toks.slice(i)], errors, family: fam.family, dests: [] };
    }
    let value = toks[i + 1];
    if (value === undefined) {
      errors.push({ message: `'${kw}' needs a value` });
      args.push(kw);
      i++;
      continue;
    }
    i += 2;
    if (kw === 'via') {
      if (value === 'inet' || value === 'inet6') {
        // `via inet6 ADDR`: the gateway's family, stated
        fam.add(value === 'inet6' ? 6 : 4, `via ${value}`, errors);
        value = toks[i++] ?? '';
      }
      const a = parseAddress(value);
      if (!a) errors.push({ message: `gateway '${shown(value)}' is not a valid address` });
      else {
        // an IPv6 gateway for an IPv4 route is valid (RFC 5549), but only with the family written: keep it simple
        fam.add(a.family, `gateway ${value}`, errors);
        if (inNexthop) {
          once(inNexthop, 'via', !!inNexthop.via);
          inNexthop.via = a.address;
        } else {
          once(undefined, 'via', topVia);
          topVia = true;
          gateways.push({ via: a.address });
        }
      }
    } else if (kw === 'dev') {
      checkDev(value, view, errors, true);
      if (inNexthop) {
        once(inNexthop, 'dev', !!inNexthop.dev);
        inNexthop.dev = value;
      } else {
        once(undefined, 'dev', !!dev);
        dev = value;
      }
    } else if (kw === 'src') {
      const a = parseAddress(value);
      if (!a) errors.push({ message: `source '${shown(value)}' is not a valid address` });
      else {
        fam.add(a.family, `source ${value}`, errors);
        if (!nodeHasAddress(a.address, view))
          errors.push({
            message: `source ${value} is not an address of this node`,
            hint: 'the kernel only accepts a local address as src; add it to an interface first',
          });
      }
    } else if (kw === 'from') {
      // source-specific routing: IPv6 only
      const p = parsePrefix(value);
      if (!p) errors.push({ message: `'${shown(value)}' is not a valid prefix for 'from'` });
      else if (p.family !== 6)
        errors.push({
          message: "'from' in a route is IPv6 only (source-specific routing)",
          hint: 'for IPv4, use a rule: from PREFIX table T, and the route in table T',
        });
      else fam.add(6, `from ${value}`, errors);
    } else if (kw === 'table') value = tableId(value, view, errors);
    else if (kw === 'scope') {
      scope = value;
      checkValue(kw, value, errors);
    } else if (value === 'lock' && LOCKABLE.includes(kw)) {
      // `mtu lock 1400`: the metric is locked against path MTU discovery; the number follows
      const n = toks[i++];
      if (n === undefined) {
        errors.push({ message: `'${kw} lock' needs a value` });
        continue;
      }
      checkValue(kw, n, errors);
      args.push(kw, 'lock', n);
      continue;
    } else checkValue(kw, value, errors);
    args.push(kw, value);
  }
  finishNexthop();
  // what the kernel refuses of the route's shape, said here with the route's position
  const goesOut = topVia || !!dev || nexthops.length > 0;
  if (nexthops.length && topVia)
    errors.push({
      message: "a route has either 'via' or next hops, not both",
      hint: "write the first gateway as a 'nexthop via ...' too",
    });
  nexthops.forEach((h, k) => {
    if (!h.via && !h.dev) errors.push({ message: `next hop ${k + 1} has neither 'via' nor 'dev'` });
  });
  if (type === 'unicast' && !goesOut)
    errors.push({ message: 'the route has no way out', hint: "give it 'via GATEWAY', 'dev INTERFACE' or next hops" });
  if (['blackhole', 'unreachable', 'prohibit', 'throw'].includes(type) && goesOut)
    errors.push({ message: `a ${type} route takes no gateway or device`, hint: `write just '${type} ${dest}'` });
  if (['local', 'broadcast', 'anycast', 'multicast'].includes(type) && (topVia || gateways.length))
    errors.push({ message: `a ${type} route takes no gateway`, hint: "give it 'dev INTERFACE'" });
  if (scope && ['host', 'link', 'nowhere'].includes(scope) && gateways.length)
    errors.push({
      message: `a route through a gateway cannot have scope ${scope}`,
      hint: 'leave scope out (a gateway route is scope global)',
    });
  if (onlink && (!onlinkVia || (!nexthops.length && !(topVia && dev))))
    errors.push({ message: "'onlink' needs a gateway and a device", hint: "write 'via GATEWAY dev INTERFACE onlink'" });
  if (!onlink && type === 'unicast')
    for (const g of gateways) {
      const d = g.dev ?? dev;
      if (!onConnectedSubnet(g.via, d, view)) {
        const down = [...(view.down ?? [])].find(
          (n) => (!d || d === n) && view.interfaces.get(n)?.some((c) => inSubnet(g.via, c)),
        );
        errors.push(
          down
            ? {
                message: `gateway ${g.via} is on the subnet of ${down}, which is down at this point`,
                hint: 'the kernel refuses a route through a down interface: bring it up first (up: [...] in a stage)',
              }
            : {
                message: `gateway ${g.via} is on no connected subnet of this node${d ? ` (via dev ${d})` : ''}`,
                hint: 'give an interface an address in its subnet, or add onlink',
              },
        );
      }
    }
  return { args, errors, family: fam.family, dests: prefix ? [prefix.text] : isDefault ? ['default'] : [] };
}

/** Checks one rule written as after `ip rule add` (or `ip -6 rule add`, with `-6` in front). */
export function checkRule(text: string, view: NodeView): Checked {
  const toks = tokenize(text);
  const fam = new FamilyOf(toks);
  const errors: Checked['errors'] = [];
  const args: string[] = [];
  let i = 0;
  if (!toks.length)
    errors.push({
      message: 'rule is empty',
      hint: "write it as after 'ip rule add', e.g. 'from 192.168.1.220 table gateway1'",
    });
  while (i < toks.length) {
    let word = toks[i]!;
    if (word === 'type' && toks[i + 1]) word = toks[++i]!; // `type blackhole`
    const kw = meaning(word, RULE_KEYWORDS);
    if (kw && RULE_FLAGS.includes(kw)) {
      args.push(kw);
      i++;
      continue;
    }
    if (!kw || NOT_SUPPORTED.includes(kw)) {
      errors.push(
        kw ? { message: `rule keyword '${kw}' is not supported by nslab` } : unknown('rule', word, RULE_KEYWORDS),
      );
      return { args: [...args, ...toks.slice(i)], errors, family: fam.family };
    }
    let value = toks[i + 1];
    if (value === undefined) {
      errors.push({ message: `'${kw}' needs a value` });
      args.push(kw);
      i++;
      continue;
    }
    i += 2;
    if (kw === 'from' || kw === 'to') {
      const p = ['all', 'any', 'default'].includes(value) ? undefined : parsePrefix(value);
      if (p) fam.add(p.family, `${kw} ${value}`, errors);
      else if (!['all', 'any', 'default'].includes(value))
        errors.push({
          message: `'${shown(value)}' is not a valid prefix for '${kw}'`,
          hint: 'use an address, an address/length, or all',
        });
    } else if (kw === 'iif' || kw === 'oif') checkDev(value, view, errors);
    else if (kw === 'table') value = tableId(value, view, errors);
    else if (kw === 'ipproto') {
      checkValue(kw, value, errors);
      value = ipprotoNumber(value);
    } else checkValue(kw, value, errors);
    args.push(kw, value);
  }
  const num = (k: string) => {
    const j = args.indexOf(k);
    return j >= 0 ? Number(args[j + 1]) : undefined;
  };
  const [prio, target] = [num('priority'), num('goto')];
  if (target !== undefined && prio !== undefined && target <= prio)
    errors.push({
      message: `goto ${target} jumps backwards from priority ${prio}`,
      hint: 'a goto must name a later rule (a higher priority number)',
    });
  return { args, errors, family: fam.family };
}

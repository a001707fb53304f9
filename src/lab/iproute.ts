// Routes and rules are written exactly as after `ip route add` / `ip rule add`,
// so users can paste their real configuration. They are tokenised and checked
// here (never handed to a shell), and lab table names become numbers: table
// names belong to the lab, and /etc/iproute2/rt_tables is a shared host file.
import { parseAddress, parsePrefix, inSubnet, type Cidr, type Family } from './addr.js';
import { BATCH_TOKEN, shown } from './grammar.js';
import { suggest } from './suggest.js';

/** What a node looks like at the point a route or rule is added. */
export interface NodeView {
  interfaces: Map<string, Cidr[]>; // name -> addresses (lo included)
  tables: Map<string, number>;
}

export interface Checked {
  args: string[]; // tokens with table names translated, ready for `ip route add ...`
  errors: { message: string; hint?: string }[];
}

export const BUILTIN_TABLES: Record<string, number> = { default: 253, main: 254, local: 255 };
const ROUTE_TYPES = ['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'anycast'];
const ROUTE_VALUED = ['via', 'dev', 'src', 'table', 'metric', 'preference', 'priority', 'proto', 'protocol', 'scope', 'mtu',
  'advmss', 'realm', 'realms', 'initcwnd', 'initrwnd', 'tos', 'dsfield', 'pref', 'expires', 'hoplimit', 'window', 'rtt',
  'rttvar', 'ssthresh', 'cwnd', 'reordering', 'congctl', 'features', 'quickack', 'fastopen_no_cookie', 'nhid'];
const ROUTE_FLAGS = ['onlink', 'pervasive'];
const NEXTHOP_VALUED = ['via', 'dev', 'weight'];
const RULE_VALUED = ['from', 'to', 'iif', 'oif', 'fwmark', 'tos', 'dsfield', 'priority', 'pref', 'preference', 'order',
  'table', 'lookup', 'goto', 'realms', 'uidrange', 'ipproto', 'sport', 'dport', 'suppress_prefixlength',
  'suppress_ifgroup', 'protocol', 'nat', 'map-to'];
const RULE_FLAGS = ['not', 'l3mdev', 'nop', 'blackhole', 'prohibit', 'unreachable'];

const NUM = /^\d{1,10}$/;
const HEX_OR_NUM = /^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/;
const NAME_OR_NUM = /^([a-z][a-z0-9_-]{0,15}|\d{1,3})$/;
const RANGE = /^\d{1,10}(-\d{1,10})?$/;
/**
 * The grammar of each keyword's value, as iproute2 6.1 reads it. A value that
 * fits none is an error here, with its position, rather than at `up` (or, for
 * batch metacharacters such as '#' or '\\', a different command than written).
 */
const VALUE: Record<string, [RegExp, string]> = {
  metric: [NUM, 'a number'], preference: [NUM, 'a number'], priority: [NUM, 'a number'], prio: [NUM, 'a number'], pref: [NUM, 'a number'],
  order: [NUM, 'a number'], goto: [NUM, 'a rule priority'], weight: [/^([1-9]\d{0,2})$/, 'a weight from 1 to 256'],
  mtu: [NUM, 'a number'], advmss: [NUM, 'a number'], hoplimit: [NUM, 'a number'], initcwnd: [NUM, 'a number'], initrwnd: [NUM, 'a number'],
  window: [NUM, 'a number'], rtt: [/^\d{1,10}(s|ms|us)?$/, 'a time'], rttvar: [/^\d{1,10}(s|ms|us)?$/, 'a time'], ssthresh: [NUM, 'a number'],
  cwnd: [NUM, 'a number'], reordering: [NUM, 'a number'], expires: [NUM, 'seconds'], nhid: [NUM, 'a nexthop id'],
  quickack: [/^[01]$/, '0 or 1'], fastopen_no_cookie: [/^[01]$/, '0 or 1'], features: [/^ecn$/, 'ecn'], congctl: [/^[a-z][a-z0-9_]{0,15}$/, 'a congestion control name'],
  proto: [NAME_OR_NUM, 'a protocol name such as static or a number 0-255'], protocol: [NAME_OR_NUM, 'a protocol name such as static or a number 0-255'],
  scope: [/^(host|link|global|universe|site|nowhere|\d{1,3})$/, 'host, link, global, site, nowhere or a number'],
  realm: [/^(\d{1,10}|\d{1,10}\/\d{1,10})$/, 'a realm number, or FROM/TO'], realms: [/^(\d{1,10}|\d{1,10}\/\d{1,10})$/, 'a realm number, or FROM/TO'],
  tos: [HEX_OR_NUM, 'a number (decimal or 0x hex)'], dsfield: [HEX_OR_NUM, 'a number (decimal or 0x hex)'],
  fwmark: [/^(0x[0-9a-fA-F]{1,8}|\d{1,10})(\/(0x[0-9a-fA-F]{1,8}|\d{1,10}))?$/, 'a mark, optionally /mask (decimal or 0x hex)'],
  uidrange: [/^\d{1,10}-\d{1,10}$/, 'a range of user ids such as 1000-1999'],
  ipproto: [/^(tcp|udp|icmp|ipv6-icmp|sctp|dccp|udplite|gre|esp|ah|\d{1,3})$/, 'a protocol such as tcp, udp, icmp or a number'],
  sport: [RANGE, 'a port or a range such as 1024-2047'], dport: [RANGE, 'a port or a range such as 1024-2047'],
  suppress_prefixlength: [NUM, 'a prefix length'], suppress_ifgroup: [NAME_OR_NUM, 'a group'],
};

/** The value of `kw` is well formed, or an error is pushed. */
function checkValue(kw: string, value: string, errors: Checked['errors']): void {
  const g = VALUE[kw];
  if (g && !g[0].test(value)) errors.push({ message: `'${kw}' takes ${g[1]}, not '${shown(value)}'` });
  else if (!BATCH_TOKEN.test(value)) errors.push({ message: `'${shown(value)}' is not a valid value for '${kw}'`, hint: 'values are single words of letters, digits and . : / % + - _' });
}

export function tokenize(text: string): string[] {
  return text.trim().split(/\s+/).filter(Boolean);
}

function tableId(name: string, view: NodeView, errors: Checked['errors']): string {
  if (/^\d+$/.test(name)) {
    const n = Number(name);
    if (n < 1 || n > 0xffffffff) errors.push({ message: `table id ${name} is out of range`, hint: 'use 1-252 or 256 and above' });
    return name;
  }
  const id = view.tables.get(name) ?? BUILTIN_TABLES[name];
  if (id === undefined) {
    errors.push({ message: `table '${name}' is not declared in this node`, hint: `declare it under tables, e.g. tables: { ${name}: 201 }` });
    return name;
  }
  return String(id);
}

function checkDev(dev: string, view: NodeView, errors: Checked['errors']): void {
  if (!view.interfaces.has(dev))
    errors.push({ message: `interface '${dev}' does not exist in this node`, hint: suggest(dev, [...view.interfaces.keys()], 'interfaces') });
}

function nodeHasAddress(address: string, view: NodeView): boolean {
  return [...view.interfaces.values()].some((cs) => cs.some((c) => c.address === address));
}

function onConnectedSubnet(gw: string, dev: string | undefined, view: NodeView): boolean {
  for (const [name, cidrs] of view.interfaces)
    if ((!dev || dev === name) && cidrs.some((c) => inSubnet(gw, c))) return true;
  return false;
}

/** Checks one route written as after `ip route add`. */
export function checkRoute(text: string, view: NodeView): Checked & { family?: Family; dests: string[] } {
  const toks = tokenize(text);
  const errors: Checked['errors'] = [];
  const args: string[] = [];
  let i = 0;
  let prefix: Cidr | undefined;
  let isDefault = false;
  let onlink = false;
  let type = 'unicast';
  const gateways: { via: string; dev?: string }[] = [];
  let dev: string | undefined;
  let inNexthop: { via?: string; dev?: string } | undefined;

  if (toks[i] && ROUTE_TYPES.includes(toks[i]!)) { type = toks[i]!; args.push(toks[i++]!); }
  if (toks[i] === 'to') args.push(toks[i++]!);
  const dest = toks[i];
  if (dest === undefined) {
    errors.push({ message: 'route has no destination', hint: "write it as after 'ip route add', e.g. 'default via 10.0.0.1'" });
    return { args, errors, dests: [] };
  }
  if (dest === 'default') isDefault = true;
  else {
    prefix = parsePrefix(dest);
    if (!prefix) errors.push({ message: `'${dest}' is not a valid destination prefix`, hint: "use an address with its length, e.g. 10.1.0.0/16, or 'default'" });
  }
  args.push(toks[i++]!);
  let family: Family | undefined = prefix?.family;
  const finishNexthop = () => {
    if (inNexthop?.via) gateways.push({ via: inNexthop.via, dev: inNexthop.dev });
    inNexthop = undefined;
  };
  while (i < toks.length) {
    const kw = toks[i]!;
    if (kw === 'nexthop') { finishNexthop(); inNexthop = {}; args.push(toks[i++]!); continue; }
    const valued = inNexthop ? NEXTHOP_VALUED : ROUTE_VALUED;
    if (ROUTE_FLAGS.includes(kw) || (kw === 'onlink' && inNexthop)) { if (kw === 'onlink') onlink = true; args.push(toks[i++]!); continue; }
    if (!valued.includes(kw)) {
      errors.push({ message: `unknown route keyword '${kw}'${inNexthop ? ' in nexthop' : ''}`, hint: suggest(kw, [...valued, ...ROUTE_FLAGS, 'nexthop'], 'keywords') });
      return { args: [...args, ...toks.slice(i)], errors, family, dests: [] }; // the rest cannot be aligned to keywords
    }
    const value = toks[i + 1];
    if (value === undefined) { errors.push({ message: `'${kw}' needs a value` }); args.push(toks[i++]!); continue; }
    let out = value;
    if (kw === 'via') {
      let v = value;
      if (v === 'inet' || v === 'inet6') { args.push(kw, v); i++; v = toks[i + 1] ?? ''; }
      const a = parseAddress(v);
      if (!a) errors.push({ message: `gateway '${v}' is not a valid address` });
      else {
        if (family && a.family !== family) errors.push({ message: `gateway ${v} is not of the destination's address family` });
        family ??= a.family;
        if (inNexthop) inNexthop.via = a.address; else gateways.push({ via: a.address });
      }
      out = v;
    } else if (kw === 'dev') {
      checkDev(value, view, errors);
      if (inNexthop) inNexthop.dev = value; else dev = value;
    } else if (kw === 'src') {
      const a = parseAddress(value);
      if (!a) errors.push({ message: `source '${value}' is not a valid address` });
      else if (!nodeHasAddress(a.address, view))
        errors.push({ message: `source ${value} is not an address of this node`, hint: 'the kernel only accepts a local address as src; add it to an interface first' });
    } else if (kw === 'table') out = tableId(value, view, errors);
    else if (value === 'lock' && ['mtu', 'advmss', 'window', 'rtt', 'rttvar', 'ssthresh', 'cwnd', 'initcwnd', 'initrwnd', 'reordering', 'hoplimit'].includes(kw)) {
      // `mtu lock 1400`: the metric is locked against path MTU discovery; the number follows
      args.push(kw, 'lock');
      i++;
      const n = toks[i + 1];
      if (n === undefined) { errors.push({ message: `'${kw} lock' needs a value` }); i++; continue; }
      checkValue(kw, n, errors);
      args.push(n);
      i += 2;
      continue;
    } else checkValue(kw, value, errors);
    args.push(kw, out);
    i += 2;
  }
  finishNexthop();
  if (!onlink && ['unicast'].includes(type))
    for (const g of gateways) {
      const d = g.dev ?? dev;
      if (!onConnectedSubnet(g.via, d, view))
        errors.push({
          message: `gateway ${g.via} is on no connected subnet of this node${d ? ` (via dev ${d})` : ''}`,
          hint: 'give an interface an address in its subnet, or add onlink',
        });
    }
  if (isDefault && family === 6) args.unshift('-6');
  return { args: stripFamilyMarker(args), errors, family, dests: prefix ? [prefix.text] : isDefault ? ['default'] : [] };
}

/** `-6` cannot be written inside a batch line; a v6 default route is spelt `default` with a v6 gateway, which ip infers. */
function stripFamilyMarker(args: string[]): string[] {
  return args[0] === '-6' ? args.slice(1) : args;
}

/** Checks one rule written as after `ip rule add`. */
export function checkRule(text: string, view: NodeView): Checked {
  const toks = tokenize(text);
  const errors: Checked['errors'] = [];
  const args: string[] = [];
  let i = 0;
  if (!toks.length) errors.push({ message: 'rule is empty', hint: "write it as after 'ip rule add', e.g. 'from 192.168.1.220 table gateway1'" });
  while (i < toks.length) {
    const kw = toks[i]!;
    if (RULE_FLAGS.includes(kw)) { args.push(toks[i++]!); continue; }
    if (!RULE_VALUED.includes(kw)) {
      errors.push({ message: `unknown rule keyword '${kw}'`, hint: suggest(kw, [...RULE_VALUED, ...RULE_FLAGS], 'keywords') });
      return { args: [...args, ...toks.slice(i)], errors };
    }
    const value = toks[i + 1];
    if (value === undefined) { errors.push({ message: `'${kw}' needs a value` }); args.push(toks[i++]!); continue; }
    let out = value;
    if ((kw === 'from' || kw === 'to') && value !== 'all' && !parsePrefix(value))
      errors.push({ message: `'${shown(value)}' is not a valid prefix for '${kw}'`, hint: 'use an address, an address/length, or all' });
    else if (kw === 'iif' || kw === 'oif') checkDev(value, view, errors);
    else if (kw === 'table' || kw === 'lookup') out = tableId(value, view, errors);
    else if (kw === 'nat' || kw === 'map-to') { if (!parseAddress(value)) errors.push({ message: `'${kw}' takes an address, not '${shown(value)}'` }); }
    else checkValue(kw, value, errors);
    args.push(kw, out);
    i += 2;
  }
  return { args, errors };
}

// NetworkManager 1.42: a connection per interface (lo too, as a loopback
// connection), as keyfiles (/etc/NetworkManager/system-connections) and as the
// nmcli commands that make the same connections. NM ties a route to its
// connection's interface and wants a priority on every rule (the export writes
// the kernel's). Every route gets its metric written out and the connections'
// own prefix routes the kernel's metrics, so that NM's defaults (100 for an
// ethernet connection) change no route.
import { shellQuote } from '../plan/render.js';
import { carriesOnly } from './constructs.js';
import { header, leftOutComments, rtTablesFile, slug, sysctlFile, type ExportFile, type LeftOut } from './files.js';
import { tableComment } from './format-ip.js';
import { metricOf, type FinalInterface, type FinalNode, type FinalRoute, type FinalRule } from './node-state.js';

/** NM 1.42's route attributes (nm-settings-nmcli(5)) for the lab's route metrics; each can be locked. */
const METRICS = ['mtu', 'advmss', 'initcwnd', 'initrwnd', 'window', 'cwnd'];

export const NM_CARRIES = carriesOnly(
  [
    ...['dev', 'via', 'via-link-local', 'lo', 'src', 'metric', 'table', 'onlink', 'quickack'],
    ...['type-blackhole', 'type-unreachable', 'type-prohibit', 'type-throw', 'type-local'],
    ...METRICS.flatMap((m) => [m, `lock-${m}`]),
  ]
    .map((k) => `route:${k}`)
    .concat(
      [
        ...['from', 'to', 'no-address', 'table', 'not', 'fwmark', 'fwmask', 'iif', 'oif', 'tos', 'ipproto'],
        ...['sport', 'sport-range', 'dport', 'dport-range', 'uidrange', 'suppress_prefixlength'],
        ...['blackhole', 'unreachable', 'prohibit'],
      ].map((k) => `rule:${k}`),
    ),
  [
    'route:scope',
    'route:scope-site',
    'route:scope-nowhere',
    'route:scope-number',
    'route:tos',
    'route:multipath',
  ].concat(['route:nexthop-weight']),
  // NM 1.42 adds a connection's routes only with a method that configures addresses (manual takes no empty list in
  // IPv4; IPv6 has link-local)
  ['route:from', 'route:owner-unaddressed'],
);

const zero = (f: 4 | 6) => (f === 6 ? '::' : '0.0.0.0');
const dest = (r: FinalRoute) =>
  r.dest === 'default'
    ? `${zero(r.family)}/0`
    : r.dest.includes('/')
      ? r.dest
      : `${r.dest}/${r.family === 6 ? 128 : 32}`;
/** The kernel's metric for a route without one: NM would give it the connection's route-metric. */
const metric = (r: FinalRoute) => r.metric ?? (r.family === 6 ? 1024 : 0);

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const scopeNumber = (s: string) => SCOPES[s] ?? Number(s);

/** One NM route: a route, or one next hop of a multipath route (NM merges routes with a weight into one). */
interface NmRoute {
  route: FinalRoute;
  via?: string;
  weight?: number;
  onlink: boolean;
}

function routeOptions(n: NmRoute): string[] {
  const r = n.route;
  const opts: string[] = [];
  for (const m of METRICS) {
    const v = metricOf(r, m);
    if (v) opts.push(`${m}=${v.value}`, ...(v.lock ? [`lock-${m}=true`] : []));
  }
  const quickack = metricOf(r, 'quickack');
  if (quickack) opts.push(`quickack=${quickack.value === '1' ? 'true' : 'false'}`);
  if (n.onlink) opts.push('onlink=true');
  // NM gives a route without a gateway scope link; ip gives a blackhole, unreachable, prohibit or throw route global
  if (r.scope) opts.push(`scope=${scopeNumber(r.scope)}`);
  else if (['blackhole', 'unreachable', 'prohibit', 'throw'].includes(r.type)) opts.push('scope=0');
  if (r.src) opts.push(`src=${r.src}`);
  if (r.from) opts.push(`from=${r.from}`);
  if (r.table !== undefined) opts.push(`table=${r.table}`);
  if (r.tos) opts.push(`tos=${Number(r.tos)}`);
  if (r.type !== 'unicast') opts.push(`type=${r.type}`);
  if (n.weight !== undefined) opts.push(`weight=${n.weight}`);
  // as NM writes them (sorted), so that the keyfile and nmcli's agree word for word
  return opts.sort();
}

/** The rule in NM's own words and order (nm_ip_routing_rule_to_string): tos and marks in hex, from all if nothing. */
export function ruleText(r: FinalRule): string {
  const hex = (v: string) => `0x${Number(v).toString(16)}`;
  const w: string[] = [`priority ${r.priority}`];
  if (r.not) w.push('not');
  if (r.from || !r.to) w.push(`from ${r.from ?? `${zero(r.family)}/0`}`);
  if (r.to) w.push(`to ${r.to}`);
  if (r.tos) w.push(`tos ${hex(r.tos)}`);
  if (r.ipproto) w.push(`ipproto ${r.ipproto}`);
  if (r.fwmark !== undefined) w.push(`fwmark ${hex(r.fwmark)}${r.fwmask !== undefined ? `/${hex(r.fwmask)}` : ''}`);
  if (r.sport) w.push(`sport ${r.sport}`);
  if (r.dport) w.push(`dport ${r.dport}`);
  if (r.iif) w.push(`iif ${r.iif}`);
  if (r.oif) w.push(`oif ${r.oif}`);
  if (r.uidrange) w.push(`uidrange ${r.uidrange}`);
  if (r.suppressPrefixlength !== undefined) w.push(`suppress_prefixlength ${r.suppressPrefixlength}`);
  w.push(r.action === 'table' ? `table ${r.table}` : `type ${r.action}`);
  return w.join(' ');
}

interface Conn {
  iface: FinalInterface;
  routes: NmRoute[];
  rules: FinalRule[];
}

const LOOPBACK = ['127.0.0.1', '::1'];

/** A connection per interface; lo's only when it has something of the lab's (a loopback connection). */
function connections(node: FinalNode): Conn[] {
  const conns: Conn[] = node.interfaces.map((iface) => ({ iface, routes: [], rules: [] }));
  const conn = (name: string) => conns.find((c) => c.iface.name === name)!;
  for (const r of node.routes) {
    if (!r.nexthops.length) conn(r.owner).routes.push({ route: r, via: r.via, onlink: r.onlink });
    // a next hop goes with the connection of its own interface: NM merges routes with a weight into one
    else
      for (const h of r.nexthops)
        conn(h.dev ?? r.owner).routes.push({ route: r, via: h.via, weight: h.weight ?? 1, onlink: h.onlink });
  }
  // rules belong to no interface in the kernel: NM adds a connection's rules while it is up
  // (one whose method configures: with an address of the rule's family, else the first such)
  const configures = (c: Conn, f: 4 | 6) => f === 6 || c.iface.name === 'lo' || addressesOf(c, 4).length > 0;
  for (const r of node.rules)
    (configures(conn(r.owner), r.family)
      ? conn(r.owner)
      : (conns.find((c) => configures(c, r.family)) ?? conn(r.owner))
    ).rules.push(r);
  return conns.filter(
    (c) =>
      c.iface.name !== 'lo' ||
      c.routes.length ||
      c.rules.length ||
      c.iface.addresses.some((a) => !LOOPBACK.includes(a.address)),
  );
}

export function renderNm(node: FinalNode, leftOut: LeftOut[] = []): ExportFile[] {
  const conns = connections(node);
  const files: ExportFile[] = conns.map((c) => ({
    path: `/etc/NetworkManager/system-connections/${c.iface.name}.nmconnection`,
    text: keyfile(node, c, leftOut),
    mode: 0o600,
  }));
  const script = [
    '#!/bin/sh',
    ...header(node),
    ...tableComment(node),
    ...leftOutComments(leftOut),
    '# the same connections as the keyfiles, made with nmcli',
    'set -e',
  ];
  for (const c of conns) script.push(`nmcli connection add ${nmcliArgs(c).map(shellQuote).join(' ')}`);
  script.push('');
  return [
    { path: `nslab-${slug(node.lab)}-${slug(node.node)}-nmcli.sh`, text: script.join('\n'), mode: 0o755 },
    ...files,
    ...sysctlFile(node),
    ...rtTablesFile(node),
  ];
}

/** lo's own addresses: NM's loopback connection with method manual takes no empty address list (nmcli refuses it). */
const LO_OWN = { 4: '127.0.0.1/8', 6: '::1/128' } as const;

/** A connection's addresses of a family; lo's own first, as the kernel has them. */
const addressesOf = (c: Conn, fam: 4 | 6): { text: string }[] => [
  ...(c.iface.name === 'lo' ? [{ text: LO_OWN[fam] }] : []),
  ...c.iface.addresses.filter((a) => a.family === fam && !(c.iface.name === 'lo' && LOOPBACK.includes(a.address))),
];

/**
 * IPv4: manual (NM adds routes and rules only to a connection with a method that configures). IPv6: manual, or
 * link-local without addresses: the kernel gives every interface that is up a link-local address, so does NM.
 */
function method(c: Conn, fam: 4 | 6): string {
  if (c.iface.name === 'lo') return 'manual';
  if (addressesOf(c, fam).length) return 'manual';
  if (fam === 6) return 'link-local';
  return c.routes.some((r) => r.route.family === 4) || c.rules.some((r) => r.family === 4) ? 'manual' : 'disabled';
}

/** NM's default metric for the connection's own prefix routes: the kernel's (0 for IPv4, 256 for IPv6). */
const ROUTE_METRIC = { 4: '0', 6: '256' } as const;

const routeWords = (n: NmRoute) => {
  const r = n.route;
  return [dest(r), n.via ?? zero(r.family), String(metric(r))];
};

/** The arguments of `nmcli connection add` for one connection. */
export function nmcliArgs(c: Conn): string[] {
  const i = c.iface;
  const lo = i.name === 'lo';
  const args = ['type', lo ? 'loopback' : 'ethernet', 'con-name', i.name, 'ifname', i.name];
  if (!i.up) args.push('connection.autoconnect', 'no');
  if (i.mtu && !lo) args.push('ethernet.mtu', String(i.mtu));
  if (i.mac && !lo) args.push('ethernet.cloned-mac-address', i.mac);
  for (const fam of [4, 6] as const) {
    const p = fam === 6 ? 'ipv6' : 'ipv4';
    const m = method(c, fam);
    args.push(`${p}.method`, m);
    if (fam === 6) args.push('ipv6.addr-gen-mode', 'eui64');
    if (m === 'disabled') continue;
    args.push(`${p}.route-metric`, ROUTE_METRIC[fam]);
    const addrs = addressesOf(c, fam);
    if (addrs.length) args.push(`${p}.addresses`, addrs.map((a) => a.text).join(', '));
    const routes = c.routes.filter((r) => r.route.family === fam);
    if (routes.length)
      args.push(`${p}.routes`, routes.map((r) => [...routeWords(r), ...routeOptions(r)].join(' ')).join(', '));
    const rules = c.rules.filter((r) => r.family === fam);
    if (rules.length) args.push(`${p}.routing-rules`, rules.map(ruleText).join(', '));
  }
  return args;
}

function keyfile(node: FinalNode, c: Conn, leftOut: LeftOut[]): string {
  const i = c.iface;
  const lo = i.name === 'lo';
  const out = [
    ...header(node),
    ...leftOutComments(leftOut, i.name),
    '[connection]',
    `id=${i.name}`,
    `type=${lo ? 'loopback' : 'ethernet'}`,
    `interface-name=${i.name}`,
  ];
  if (!i.up) out.push('autoconnect=false');
  if (lo) out.push('', '[loopback]');
  else {
    out.push('', '[ethernet]');
    if (i.mac) out.push(`cloned-mac-address=${i.mac.toUpperCase()}`);
    if (i.mtu) out.push(`mtu=${i.mtu}`);
  }
  for (const fam of [4, 6] as const) {
    const m = method(c, fam);
    out.push('', `[ipv${fam}]`);
    addressesOf(c, fam).forEach((a, k) => out.push(`address${k + 1}=${a.text}`));
    if (fam === 6) out.push('addr-gen-mode=eui64');
    out.push(`method=${m}`);
    if (m === 'disabled') continue;
    out.push(`route-metric=${ROUTE_METRIC[fam]}`);
    c.routes
      .filter((r) => r.route.family === fam)
      .forEach((r, k) => {
        out.push(`route${k + 1}=${routeWords(r).join(',')}`);
        const o = routeOptions(r);
        if (o.length) out.push(`route${k + 1}_options=${o.join(',')}`);
      });
    c.rules.filter((r) => r.family === fam).forEach((r, k) => out.push(`routing-rule${k + 1}=${ruleText(r)}`));
  }
  out.push('');
  return out.join('\n');
}

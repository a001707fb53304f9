// systemd-networkd 252: a .network file per interface ([Route], [RoutingPolicyRule])
// and the table names as RouteTable= in a networkd.conf drop-in. Every key of
// systemd.network(5) (252) that says a construct of the lab is used; what has no
// key is refused (constructs.ts), never written without it.
import { inSubnet, networkOf, type Cidr } from '../lab/addr.js';
import { carriesOnly } from './constructs.js';
import { header, leftOutComments, rtTablesFile, slug, sysctlFile, type ExportFile, type LeftOut } from './files.js';
import { metricOf, type FinalInterface, type FinalNode, type FinalRoute, type FinalRule } from './node-state.js';

export const NETWORKD_CARRIES = carriesOnly(
  [
    ...['dev', 'via', 'via-link-local', 'lo', 'src', 'metric', 'table', 'onlink', 'protocol', 'replaces-kernel'],
    'owner-unaddressed',
    ...['multipath', 'nexthop-weight', 'mtu', 'advmss', 'initcwnd', 'initrwnd', 'quickack', 'fastopen_no_cookie'],
    ...['blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast'].map(
      (t) => `type-${t}`,
    ),
  ]
    .map((k) => `route:${k}`)
    .concat(['sysctl:ipv6-forwarding'])
    .concat(
      [
        ...['from', 'to', 'no-address', 'table', 'not', 'fwmark', 'fwmask', 'iif', 'oif', 'tos', 'ipproto'],
        ...['sport', 'sport-range', 'dport', 'dport-range', 'uidrange', 'suppress_prefixlength', 'suppress_ifgroup'],
        ...['blackhole', 'unreachable', 'prohibit'],
      ].map((k) => `rule:${k}`),
    ),
  ['route:scope', 'route:scope-site', 'route:scope-nowhere'],
  ['route:from', 'route:pref'],
);

const LOOPBACK = ['127.0.0.1', '::1'];
const zero = (f: 4 | 6) => (f === 6 ? '::/0' : '0.0.0.0/0');

/** iproute2 6.1's protocol names (lib/rt_names.c); networkd takes numbers and a few names. */
export const RT_PROTOS: Record<string, number> = {
  redirect: 1,
  kernel: 2,
  boot: 3,
  static: 4,
  gated: 8,
  ra: 9,
  mrt: 10,
  zebra: 11,
  bird: 12,
  dnrouted: 13,
  xorp: 14,
  ntk: 15,
  dhcp: 16,
  keepalived: 18,
  babel: 42,
  openr: 99,
  bgp: 186,
  isis: 187,
  ospf: 188,
  rip: 189,
  eigrp: 192,
};
export const protoNumber = (p: string) => RT_PROTOS[p] ?? Number(p);

/** The [Route] keys of a route metric. */
const METRIC_KEYS: Record<string, string> = {
  mtu: 'MTUBytes',
  advmss: 'TCPAdvertisedMaximumSegmentSize',
  initcwnd: 'InitialCongestionWindow',
  initrwnd: 'InitialAdvertisedReceiveWindow',
  quickack: 'QuickAck',
  fastopen_no_cookie: 'FastOpenNoCookie',
};

function routeSection(r: FinalRoute, onlink = false): string[] {
  const out = ['[Route]'];
  if (r.type !== 'unicast') out.push(`Type=${r.type}`);
  out.push(`Destination=${r.dest === 'default' ? zero(r.family) : r.dest}`);
  if (r.from) out.push(`Source=${r.from}`);
  if (r.via) out.push(`Gateway=${r.via}`);
  if (r.onlink || onlink) out.push('GatewayOnLink=yes');
  for (const h of r.nexthops)
    out.push(`MultiPathRoute=${h.via ?? ''}${h.dev ? `@${h.dev}` : ''}${h.weight ? ` ${h.weight}` : ''}`);
  if (r.src) out.push(`PreferredSource=${r.src}`);
  if (r.metric !== undefined) out.push(`Metric=${r.metric}`);
  if (r.table !== undefined) out.push(`Table=${r.table}`);
  if (r.scope) out.push(`Scope=${r.scope === 'universe' ? 'global' : r.scope}`);
  if (r.pref) out.push(`IPv6Preference=${r.pref}`);
  if (r.protocol) out.push(`Protocol=${protoNumber(r.protocol)}`);
  for (const [kw, key] of Object.entries(METRIC_KEYS)) {
    const m = metricOf(r, kw);
    if (m)
      out.push(
        `${key}=${kw === 'quickack' || kw === 'fastopen_no_cookie' ? (m.value === '1' ? 'yes' : 'no') : m.value}`,
      );
  }
  return out;
}

function ruleSection(r: FinalRule): string[] {
  const out = ['[RoutingPolicyRule]'];
  // a rule with no address says its family itself (networkd would make it IPv4)
  out.push(`Family=${r.family === 6 ? 'ipv6' : 'ipv4'}`);
  if (r.from) out.push(`From=${r.from}`);
  if (r.to) out.push(`To=${r.to}`);
  if (r.fwmark !== undefined)
    out.push(`FirewallMark=${Number(r.fwmark)}${r.fwmask !== undefined ? `/${Number(r.fwmask)}` : ''}`);
  if (r.iif) out.push(`IncomingInterface=${r.iif}`);
  if (r.oif) out.push(`OutgoingInterface=${r.oif}`);
  if (r.tos) out.push(`TypeOfService=${Number(r.tos)}`);
  if (r.ipproto) out.push(`IPProtocol=${r.ipproto}`);
  if (r.sport) out.push(`SourcePort=${r.sport}`);
  if (r.dport) out.push(`DestinationPort=${r.dport}`);
  if (r.uidrange) out.push(`User=${r.uidrange}`);
  if (r.suppressPrefixlength !== undefined) out.push(`SuppressPrefixLength=${r.suppressPrefixlength}`);
  if (r.suppressIfgroup !== undefined) out.push(`SuppressInterfaceGroup=${r.suppressIfgroup}`);
  if (r.table !== undefined) out.push(`Table=${r.table}`);
  out.push(`Priority=${r.priority}`);
  if (r.not) out.push('InvertRule=yes');
  if (r.action !== 'table') out.push(`Type=${r.action}`);
  return out;
}

export function renderNetworkd(node: FinalNode, leftOut: LeftOut[] = []): ExportFile[] {
  const files = node.interfaces
    .filter(
      (i) =>
        i.name !== 'lo' ||
        node.routes.some((r) => r.owner === 'lo') ||
        node.rules.some((r) => r.owner === 'lo') ||
        i.addresses.some((a) => !LOOPBACK.includes(a.address)),
    )
    .map((i, k, written) => {
      // a left-out line whose interface gets no file of its own (lo) is marked in the first file
      const homeless = k ? [] : leftOut.filter((l) => !written.some((w) => w.name === l.owner));
      return {
        path: `/etc/systemd/network/10-nslab-${i.name}.network`,
        text: network(node, i, [...homeless.map((l) => ({ ...l, owner: i.name })), ...leftOut]),
      };
    });
  if (node.tables.length)
    files.push({
      path: `/etc/systemd/networkd.conf.d/nslab-${slug(node.lab)}.conf`,
      text: [
        ...header(node),
        '[Network]',
        `RouteTable=${node.tables.map((t) => `${t.name}:${t.id}`).join(' ')}`,
        '',
      ].join('\n'),
    });
  return [...files, ...sysctlFile(node), ...rtTablesFile(node)];
}

function network(node: FinalNode, i: FinalInterface, leftOut: LeftOut[]): string {
  const out = [...header(node), ...leftOutComments(leftOut, i.name), '[Match]', `Name=${i.name}`];
  const link = [
    ...(i.mtu ? [`MTUBytes=${i.mtu}`] : []),
    ...(i.mac ? [`MACAddress=${i.mac}`] : []),
    ...(i.up ? [] : ['ActivationPolicy=down']),
  ];
  if (link.length) out.push('', '[Link]', ...link);
  out.push('', '[Network]');
  if (i.name !== 'lo') out.push('IPv6AcceptRA=no');
  // an address whose subnet route the node replaces (a src on it) gets no route from the kernel:
  // networkd would add its own beside the kernel's, which comes first and wins
  const replaced = node.routes.filter((r) => r.replacesKernel && r.owner === i.name).map((r) => r.dest);
  const own = (a: Cidr) => a.family === 4 && replaced.includes(networkOf(a));
  for (const a of i.addresses)
    if (!(i.name === 'lo' && LOOPBACK.includes(a.address)) && !own(a)) out.push(`Address=${a.text}`);
  for (const a of i.addresses.filter(own)) out.push('', '[Address]', `Address=${a.text}`, 'AddPrefixRoute=no');
  // a gateway in such a subnet is reachable only once the node's own route to the subnet is in: networkd
  // adds routes in no set order, and one through a gateway sent first failed (ENETUNREACH) and was never
  // retried (measured: 1 run in 2 left one of lb's three default routes out); GatewayOnLink needs no route first
  const onlink = (r: FinalRoute) => !!r.via && i.addresses.filter(own).some((a) => inSubnet(r.via!, a));
  for (const r of node.routes.filter((x) => x.owner === i.name)) out.push('', ...routeSection(r, onlink(r)));
  for (const r of node.rules.filter((x) => x.owner === i.name)) out.push('', ...ruleSection(r));
  out.push('');
  return out.join('\n');
}

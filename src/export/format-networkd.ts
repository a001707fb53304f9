// systemd-networkd: a .network file per interface ([Route] with Table= and
// PreferredSource=, [RoutingPolicyRule]), and the table names as RouteTable=
// in a networkd.conf drop-in.
import { inSubnet, networkOf, type Cidr } from '../lab/addr.js';
import { header, rtTablesFile, slug, sysctlFile, type ExportFile } from './files.js';
import type { FinalInterface, FinalNode, FinalRoute, FinalRule } from './node-state.js';

const zero = (f: 4 | 6) => (f === 6 ? '::/0' : '0.0.0.0/0');

function routeSection(r: FinalRoute, onlink = false): string[] {
  const out = ['[Route]'];
  if (r.extra.length) out.unshift(`# not expressible in networkd: ${r.extra.join(' ')}`);
  out.push(`Destination=${r.dest === 'default' ? zero(r.family) : r.dest}`);
  if (r.via) out.push(`Gateway=${r.via}`);
  if (r.onlink || onlink) out.push('GatewayOnLink=yes');
  for (const h of r.nexthops)
    out.push(`MultiPathRoute=${h.via ?? ''}${h.dev ? `@${h.dev}` : ''}${h.weight ? ` ${h.weight}` : ''}`);
  if (r.src) out.push(`PreferredSource=${r.src}`);
  if (r.metric !== undefined) out.push(`Metric=${r.metric}`);
  if (r.table !== undefined) out.push(`Table=${r.table}`);
  if (r.scope) out.push(`Scope=${r.scope === 'universe' ? 'global' : r.scope}`);
  if (r.type !== 'unicast') out.push(`Type=${r.type}`);
  if (r.mtu) out.push(`MTUBytes=${r.mtu}`);
  if (r.protocol) out.push(`Protocol=${r.protocol}`);
  return out;
}

function ruleSection(r: FinalRule): string[] {
  const out = ['[RoutingPolicyRule]'];
  if (r.extra.length) out.unshift(`# not expressible in networkd: ${r.extra.join(' ')}`);
  if (r.from) out.push(`From=${r.from}`);
  if (r.to) out.push(`To=${r.to}`);
  if (r.fwmark) out.push(`FirewallMark=${r.fwmark}`);
  if (r.iif) out.push(`IncomingInterface=${r.iif}`);
  if (r.oif) out.push(`OutgoingInterface=${r.oif}`);
  if (r.tos) out.push(`TypeOfService=${Number(r.tos)}`);
  if (r.table !== undefined) out.push(`Table=${r.table}`);
  out.push(`Priority=${r.priority}`);
  if (r.not) out.push('InvertRule=yes');
  if (r.action && r.action !== 'nop') out.push(`Type=${r.action}`);
  // a rule with no address says its family itself
  if (!r.from && !r.to) out.push(`Family=${r.family === 6 ? 'ipv6' : 'ipv4'}`);
  return out;
}

export function renderNetworkd(node: FinalNode): ExportFile[] {
  const files = node.interfaces
    .filter(
      (i) => i.name !== 'lo' || node.routes.some((r) => r.owner === 'lo') || node.rules.some((r) => r.owner === 'lo'),
    )
    .map((i) => ({ path: `/etc/systemd/network/10-nslab-${i.name}.network`, text: network(node, i) }));
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

function network(node: FinalNode, i: FinalInterface): string {
  const out = [...header(node), '[Match]', `Name=${i.name}`];
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
    if (!(i.name === 'lo' && ['127.0.0.1', '::1'].includes(a.address)) && !own(a)) out.push(`Address=${a.text}`);
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

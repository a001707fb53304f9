// RHEL/CentOS/Fedora network-scripts (initscripts, or NetworkManager's ifcfg-rh
// plugin): ifcfg-IFACE for addresses, route-IFACE / route6-IFACE and
// rule-IFACE / rule6-IFACE with one `ip route add` / `ip rule add` argument
// line each, as the field reports deploy them.
import type { Carries } from './constructs.js';
import { header, leftOutComments, rtTablesFile, sysctlFile, type ExportFile, type LeftOut } from './files.js';
import { tableComment } from './format-ip.js';
import { lastNeeded, type FinalInterface, type FinalNode } from './node-state.js';

const DIR = '/etc/sysconfig/network-scripts';

/**
 * Each line goes to `ip route add` / `ip rule add` as it is (initscripts' ifup-routes): everything the lab's grammar
 * takes, except a route the kernel already has for an address's subnet, which `add` refuses (`replace` would take it).
 */
export const RHEL_CARRIES: Carries = (c) => c.id !== 'route:replaces-kernel';

/** The order initscripts' `network` service brings interfaces up in: lo, then the others sorted by name. */
const bootOrder = (node: FinalNode) =>
  node.interfaces
    .map((i) => i.name)
    .sort((a, b) => (a === 'lo' ? -1 : b === 'lo' ? 1 : a.localeCompare(b, 'en', { numeric: true })));

export function renderRhel(node: FinalNode, leftOut: LeftOut[] = []): ExportFile[] {
  const files: ExportFile[] = [];
  const order = bootOrder(node);
  for (const name of order) {
    const i = node.interfaces.find((x) => x.name === name)!;
    if (name !== 'lo' || i.addresses.some((a) => !LOOPBACK.includes(a.address)))
      files.push({ path: `${DIR}/ifcfg-${name}`, text: ifcfg(node, i) });
    for (const fam of [4, 6] as const) {
      const suffix = fam === 6 ? '6' : '';
      const left = (kind: 'route' | 'rule') =>
        leftOutComments(leftOut.filter((l) => l.kind === kind && l.owner === name && l.family === fam));
      // ifup-routes adds a route-IF's lines when IF comes up: a route goes with the last interface it needs; each
      // line goes to `ip route add` as it is: a gateway's device is named, as ifup would
      const routes = node.routes
        .filter((r) => lastNeeded(r, order) === name && r.family === fam)
        .map((r) => r.args.join(' ') + (r.dev || r.nexthops.length || r.type !== 'unicast' ? '' : ` dev ${r.owner}`));
      const rules = node.rules.filter((r) => r.owner === name && r.family === fam).map((r) => r.args.join(' '));
      for (const [kind, lines] of [
        ['route', routes],
        ['rule', rules],
      ] as const)
        if (lines.length || left(kind).length)
          files.push({
            path: `${DIR}/${kind}${suffix}-${name}`,
            text: [...header(node), ...tableComment(node), ...left(kind), ...lines, ''].join('\n'),
          });
    }
  }
  return [...files, ...sysctlFile(node), ...rtTablesFile(node)];
}

const LOOPBACK = ['127.0.0.1', '::1'];

function ifcfg(node: FinalNode, i: FinalInterface): string {
  const lo = i.name === 'lo';
  // lo's own addresses first, as RHEL's ifcfg-lo has them; the lab's further ones after
  const v4 = [
    ...(lo ? [{ address: '127.0.0.1', prefix: 8 }] : []),
    ...i.addresses.filter((a) => a.family === 4 && !LOOPBACK.includes(a.address)),
  ];
  const v6 = i.addresses.filter((a) => a.family === 6 && !LOOPBACK.includes(a.address));
  const out = [
    ...header(node),
    `DEVICE=${i.name}`,
    ...(lo ? ['NAME=loopback'] : ['TYPE=Ethernet', 'BOOTPROTO=none']),
    `ONBOOT=${i.up ? 'yes' : 'no'}`,
  ];
  v4.forEach((a, k) => out.push(`IPADDR${k ? k : ''}=${a.address}`, `PREFIX${k ? k : ''}=${a.prefix}`));
  // every route is in route-IFACE: no GATEWAY= here, and no default route from this file
  out.push('DEFROUTE=no');
  if (v6.length) {
    out.push('IPV6INIT=yes', 'IPV6_AUTOCONF=no', `IPV6ADDR=${v6[0]!.text}`, 'IPV6_DEFROUTE=no');
    if (v6.length > 1)
      out.push(
        `IPV6ADDR_SECONDARIES="${v6
          .slice(1)
          .map((a) => a.text)
          .join(' ')}"`,
      );
  } else out.push('IPV6INIT=no');
  if (i.mtu) out.push(`MTU=${i.mtu}`);
  if (i.mac) out.push(`MACADDR=${i.mac}`);
  out.push('NM_CONTROLLED=yes', '');
  return out.join('\n');
}

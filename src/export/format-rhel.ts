// RHEL/CentOS/Fedora network-scripts (initscripts, or NetworkManager's ifcfg-rh
// plugin): ifcfg-IFACE for addresses, route-IFACE / route6-IFACE and
// rule-IFACE / rule6-IFACE with one `ip route add` / `ip rule add` argument
// line each, as the field reports deploy them.
import { header, rtTablesFile, sysctlFile, type ExportFile } from './files.js';
import { tableComment } from './format-ip.js';
import type { FinalInterface, FinalNode } from './node-state.js';

const DIR = '/etc/sysconfig/network-scripts';

export function renderRhel(node: FinalNode): ExportFile[] {
  const files: ExportFile[] = [];
  for (const i of node.interfaces) {
    if (i.name !== 'lo') files.push({ path: `${DIR}/ifcfg-${i.name}`, text: ifcfg(node, i) });
    for (const fam of [4, 6] as const) {
      const suffix = fam === 6 ? '6' : '';
      const routes = node.routes.filter((r) => r.owner === i.name && r.family === fam);
      if (routes.length) {
        const lines = routes.flatMap((r) => [
          ...(r.replacesKernel
            ? [
                "# the same route to the kernel as the one it adds for the subnet: ifup-routes runs `ip route add`, which refuses it; use `ip route replace` (a dispatcher script) or drop the kernel's route first",
              ]
            : []),
          // ifup-routes passes each line to `ip route add` as it is: name the device, as ifup would
          r.args.join(' ') +
            (r.dev || r.nexthops.length || ['blackhole', 'unreachable', 'prohibit', 'throw'].includes(r.type)
              ? ''
              : ` dev ${i.name}`),
        ]);
        files.push({
          path: `${DIR}/route${suffix}-${i.name}`,
          text: [...header(node), ...tableComment(node), ...lines, ''].join('\n'),
        });
      }
      const rules = node.rules.filter((r) => r.owner === i.name && r.family === fam);
      if (rules.length)
        files.push({
          path: `${DIR}/rule${suffix}-${i.name}`,
          text: [...header(node), ...tableComment(node), ...rules.map((r) => r.args.join(' ')), ''].join('\n'),
        });
    }
  }
  return [...files, ...sysctlFile(node), ...rtTablesFile(node)];
}

function ifcfg(node: FinalNode, i: FinalInterface): string {
  const v4 = i.addresses.filter((a) => a.family === 4);
  const v6 = i.addresses.filter((a) => a.family === 6);
  const out = [...header(node), `DEVICE=${i.name}`, 'TYPE=Ethernet', 'BOOTPROTO=none', `ONBOOT=${i.up ? 'yes' : 'no'}`];
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

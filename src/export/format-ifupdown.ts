// Debian's ifupdown: /etc/network/interfaces, a stanza per interface and
// family, routes and rules as `up ip ...` lines of the interface they belong to.
import { carriesAll } from './constructs.js';
import { header, leftOutComments, rtTablesFile, sysctlFile, type ExportFile, type LeftOut } from './files.js';
import { routeCommand, ruleCommand, tableComment } from './format-ip.js';
import type { Cidr } from '../lab/addr.js';
import { lastNeeded, type FinalInterface, type FinalNode } from './node-state.js';

/** `up ip ...` lines: iproute2's own words, whatever the lab's grammar takes. */
export const IFUPDOWN_CARRIES = carriesAll;

export function renderIfupdown(node: FinalNode, leftOut: LeftOut[] = []): ExportFile[] {
  const out = [...header(node), ...tableComment(node), ...leftOutComments(leftOut)];
  for (const i of node.interfaces) out.push('', ...stanzas(node, i));
  out.push('');
  return [{ path: '/etc/network/interfaces', text: out.join('\n') }, ...sysctlFile(node), ...rtTablesFile(node)];
}

/**
 * The first address as the stanza's own; the others as `up ip addr add` lines
 * before the routes (ifupdown 0.8 takes one address per stanza and ignores
 * further `address` lines without a word: a route with one of them as src
 * then fails, as the round-trip test found). ifupdown gives an IPv4 address a
 * broadcast address (`broadcast +`), which for a /31 or /32 is an address the
 * lab's kernel never made a broadcast route for: those get none (0.0.0.0).
 */
function addresses(iface: string, cidrs: Cidr[]): string[] {
  const first = cidrs[0]!;
  return [
    `    address ${first.text}`,
    ...(first.family === 4 && first.prefix >= 31 ? ['    broadcast 0.0.0.0'] : []),
    ...cidrs
      .slice(1)
      .flatMap((a) => [`    up ip addr add ${a.text} dev ${iface}`, `    down ip addr del ${a.text} dev ${iface}`]),
  ];
}

function stanzas(node: FinalNode, i: FinalInterface): string[] {
  const v4 = i.addresses.filter((a) => a.family === 4);
  const v6 = i.addresses.filter((a) => a.family === 6);
  // ifup brings the interfaces up in the file's order: a route goes with the last one it needs (a multipath route's)
  const order = node.interfaces.map((x) => x.name);
  const routes = node.routes.filter((r) => lastNeeded(r, order) === i.name);
  const rules = node.rules.filter((r) => r.owner === i.name);
  const lines = (fam: 4 | 6 | 0) => [
    ...routes.filter((r) => !fam || r.family === fam).map((r) => `    up ${routeCommand(r)}`),
    ...rules
      .filter((r) => !fam || r.family === fam)
      .flatMap((r) => [`    up ${ruleCommand(r)}`, `    down ${ruleCommand(r, 'del')}`]),
  ];
  const out: string[] = [];
  if (i.up) out.push(`auto ${i.name}`);
  else out.push(`# ${i.name} is down in the lab: no 'auto' line, 'ifup ${i.name}' brings it up`);
  const link = [...(i.mtu ? [`    mtu ${i.mtu}`] : []), ...(i.mac ? [`    hwaddress ${i.mac}`] : [])];
  if (i.name === 'lo')
    return [
      ...out,
      'iface lo inet loopback',
      ...i.addresses
        .filter((a) => !['127.0.0.1', '::1'].includes(a.address))
        .map((a) => `    up ip addr replace ${a.text} dev lo`),
      ...lines(0),
    ];
  if (!v4.length && !v6.length) return [...out, `iface ${i.name} inet manual`, ...link, ...lines(0)];
  // routes of a family the interface has no address of go with the stanza it has
  if (v4.length)
    out.push(`iface ${i.name} inet static`, ...addresses(i.name, v4), ...link, ...lines(v6.length ? 4 : 0));
  if (v6.length)
    out.push(
      `iface ${i.name} inet6 static`,
      ...addresses(i.name, v6),
      ...(v4.length ? [] : link),
      ...lines(v4.length ? 6 : 0),
    );
  return out;
}

// NetworkManager: a connection per interface, as keyfiles
// (/etc/NetworkManager/system-connections) and as the nmcli commands that make
// the same connections. NM ties a route to its connection's interface and
// wants a priority on every rule (the export writes the kernel's).
import { shellQuote } from '../plan/render.js';
import { header, rtTablesFile, slug, sysctlFile, type ExportFile } from './files.js';
import { tableComment } from './format-ip.js';
import type { FinalInterface, FinalNode, FinalRoute, FinalRule } from './node-state.js';

/** What NM 1.42 cannot hold, as a sentence, or undefined. */
function routeProblem(r: FinalRoute, iface: string): string | undefined {
  if (r.nexthops.length) return 'a multipath route (NM 1.42 has no next hops)';
  if (iface === 'lo') return 'a route through lo (NM 1.42 does not manage lo)';
  if (r.extra.length) return `route words ${r.extra.join(' ')}`;
  return undefined;
}

const zero = (f: 4 | 6) => (f === 6 ? '::/0' : '0.0.0.0/0');
const dest = (r: FinalRoute) =>
  r.dest === 'default' ? zero(r.family) : r.dest.includes('/') ? r.dest : `${r.dest}/${r.family === 6 ? 128 : 32}`;

function routeOptions(r: FinalRoute): string[] {
  return [
    ...(r.onlink ? ['onlink=true'] : []),
    ...(r.mtu ? [`mtu=${r.mtu}`] : []),
    ...(r.scope ? [`scope=${scopeNumber(r.scope)}`] : []),
    ...(r.src ? [`src=${r.src}`] : []),
    ...(r.table !== undefined ? [`table=${r.table}`] : []),
    ...(r.type !== 'unicast' ? [`type=${r.type}`] : []),
  ];
}

const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };
const scopeNumber = (s: string) => SCOPES[s] ?? Number(s);

/** The rule as NM's routing-rule syntax has it (ip rule's words; `lookup` for table). */
const ruleText = (r: FinalRule) => r.args.join(' ');

interface Conn {
  iface: FinalInterface;
  routes: FinalRoute[];
  rules: FinalRule[];
  skipped: string[];
}

function connections(node: FinalNode): Conn[] {
  const hosts = node.interfaces.filter((i) => i.name !== 'lo');
  const conns: Conn[] = hosts.map((iface) => ({ iface, routes: [], rules: [], skipped: [] }));
  const first = conns[0];
  for (const r of node.routes) {
    const c = conns.find((x) => x.iface.name === r.owner);
    const why = routeProblem(r, r.owner);
    if (why || !c)
      (c ?? first)?.skipped.push(
        `${r.family === 6 ? 'ip -6 route' : 'ip route'} ${r.args.join(' ')}: not expressible: ${why ?? 'no connection for ' + r.owner}`,
      );
    else c.routes.push(r);
  }
  // rules belong to no interface in the kernel: NM adds a connection's rules while it is up
  for (const r of node.rules) (conns.find((x) => x.iface.name === r.owner) ?? first)?.rules.push(r);
  return conns;
}

export function renderNm(node: FinalNode): ExportFile[] {
  const conns = connections(node);
  const files: ExportFile[] = conns.map((c) => ({
    path: `/etc/NetworkManager/system-connections/${c.iface.name}.nmconnection`,
    text: keyfile(node, c),
    mode: 0o600,
  }));
  const script = [
    '#!/bin/sh',
    ...header(node),
    ...tableComment(node),
    '# the same connections as the keyfiles, made with nmcli',
    'set -e',
  ];
  for (const c of conns) {
    script.push(...c.skipped.map((s) => `# ${s}`));
    script.push(`nmcli connection add ${nmcliArgs(c).map(shellQuote).join(' ')}`);
  }
  script.push('');
  return [
    { path: `nslab-${slug(node.lab)}-${slug(node.node)}-nmcli.sh`, text: script.join('\n'), mode: 0o755 },
    ...files,
    ...sysctlFile(node),
    ...rtTablesFile(node),
  ];
}

function method(c: Conn, fam: 4 | 6): string {
  if (c.iface.addresses.some((a) => a.family === fam)) return 'manual';
  if (c.routes.some((r) => r.family === fam) || c.rules.some((r) => r.family === fam))
    return fam === 6 ? 'link-local' : 'disabled';
  return 'disabled';
}

/** The arguments of `nmcli connection add` for one connection. */
export function nmcliArgs(c: Conn): string[] {
  const i = c.iface;
  const args = ['type', 'ethernet', 'con-name', i.name, 'ifname', i.name];
  if (!i.up) args.push('connection.autoconnect', 'no');
  if (i.mtu) args.push('ethernet.mtu', String(i.mtu));
  if (i.mac) args.push('ethernet.cloned-mac-address', i.mac);
  for (const fam of [4, 6] as const) {
    const p = fam === 6 ? 'ipv6' : 'ipv4';
    args.push(`${p}.method`, method(c, fam));
    const addrs = i.addresses.filter((a) => a.family === fam);
    if (addrs.length) args.push(`${p}.addresses`, addrs.map((a) => a.text).join(', '));
    const routes = c.routes.filter((r) => r.family === fam);
    if (routes.length)
      args.push(
        `${p}.routes`,
        routes
          .map((r) =>
            [
              dest(r),
              ...(r.via ? [r.via] : []),
              ...(r.metric !== undefined ? [...(r.via ? [] : [fam === 6 ? '::' : '0.0.0.0']), String(r.metric)] : []),
              ...routeOptions(r),
            ].join(' '),
          )
          .join(', '),
      );
    const rules = c.rules.filter((r) => r.family === fam);
    if (rules.length) args.push(`${p}.routing-rules`, rules.map(ruleText).join(', '));
  }
  return args;
}

function keyfile(node: FinalNode, c: Conn): string {
  const i = c.iface;
  const out = [
    ...header(node),
    ...c.skipped.map((s) => `# ${s}`),
    '[connection]',
    `id=${i.name}`,
    'type=ethernet',
    `interface-name=${i.name}`,
  ];
  if (!i.up) out.push('autoconnect=false');
  out.push('', '[ethernet]');
  if (i.mac) out.push(`cloned-mac-address=${i.mac.toUpperCase()}`);
  if (i.mtu) out.push(`mtu=${i.mtu}`);
  for (const fam of [4, 6] as const) {
    out.push('', `[ipv${fam}]`);
    i.addresses.filter((a) => a.family === fam).forEach((a, k) => out.push(`address${k + 1}=${a.text}`));
    out.push(`method=${method(c, fam)}`);
    c.routes
      .filter((r) => r.family === fam)
      .forEach((r, k) => {
        const metric =
          r.metric !== undefined ? [r.via ?? (fam === 6 ? '::' : '0.0.0.0'), String(r.metric)] : r.via ? [r.via] : [];
        out.push(`route${k + 1}=${[dest(r), ...metric].join(',')}`);
        const o = routeOptions(r);
        if (o.length) out.push(`route${k + 1}_options=${o.join(',')}`);
      });
    c.rules.filter((r) => r.family === fam).forEach((r, k) => out.push(`routing-rule${k + 1}=${ruleText(r)}`));
  }
  out.push('');
  return out.join('\n');
}

// netplan: one YAML file (ethernets, routes with table, routing-policy).
// netplan 0.106 has no next hops with weights, and no iif/oif in a rule:
// those are left out with a comment.
import { header, rtTablesFile, slug, sysctlFile, type ExportFile } from './files.js';
import type { FinalNode, FinalRoute, FinalRule } from './node-state.js';

function route(r: FinalRoute): Record<string, unknown> | string {
  if (r.nexthops.length || r.extra.length)
    return `not expressible in netplan: ip${r.family === 6 ? ' -6' : ''} route ${r.args.join(' ')}`;
  return {
    to: r.dest,
    ...(r.via ? { via: r.via } : {}),
    ...(r.src ? { from: r.src } : {}),
    ...(r.onlink ? { 'on-link': true } : {}),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    ...(r.scope ? { scope: r.scope === 'universe' ? 'global' : r.scope } : {}),
    ...(r.type !== 'unicast' ? { type: r.type } : {}),
    ...(r.mtu ? { mtu: Number(r.mtu) } : {}),
  };
}

function rule(r: FinalRule): Record<string, unknown> | string {
  if (r.iif || r.oif || r.not || r.action || r.extra.length)
    return `not expressible in netplan: ip${r.family === 6 ? ' -6' : ''} rule ${r.args.join(' ')}`;
  return {
    ...(r.from ? { from: r.from } : {}),
    ...(r.to ? { to: r.to } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    priority: r.priority,
    ...(r.fwmark ? { mark: Number(r.fwmark.split('/')[0]) } : {}),
    ...(r.tos ? { 'type-of-service': Number(r.tos) } : {}),
  };
}

export async function renderNetplan(node: FinalNode): Promise<ExportFile[]> {
  // in the bundle, yaml's functions sit under `default` (as in cli/common.ts)
  const yaml = await import('yaml');
  const stringify = yaml.stringify ?? (yaml as unknown as { default: typeof yaml }).default.stringify;
  const comments: string[] = [];
  const ethernets: Record<string, Record<string, unknown>> = {};
  for (const i of node.interfaces) {
    const routes = node.routes.filter((r) => r.owner === i.name).map(route);
    const rules = node.rules.filter((r) => r.owner === i.name).map(rule);
    for (const x of [...routes, ...rules]) if (typeof x === 'string') comments.push(`# ${x}`);
    for (const r of node.routes.filter((x) => x.owner === i.name && x.replacesKernel))
      comments.push(
        `# ${r.dest} on ${i.name}: the kernel's own route for the subnet stays first (netplan cannot leave it out), so this route's src does not take effect`,
      );
    const addresses = i.addresses
      .filter((a) => !(i.name === 'lo' && ['127.0.0.1', '::1'].includes(a.address)))
      .map((a) => a.text);
    const keep = <T>(xs: (T | string)[]) => xs.filter((x): x is T => typeof x !== 'string');
    if (i.name === 'lo' && !addresses.length && !keep(routes).length && !keep(rules).length) continue;
    ethernets[i.name] = {
      ...(i.up ? {} : { 'activation-mode': 'off' }),
      ...(addresses.length ? { addresses } : {}),
      ...(i.mtu ? { mtu: i.mtu } : {}),
      ...(i.mac ? { macaddress: i.mac } : {}),
      ...(i.name === 'lo' ? {} : { 'accept-ra': false }),
      ...(keep(routes).length ? { routes: keep(routes) } : {}),
      ...(keep(rules).length ? { 'routing-policy': keep(rules) } : {}),
    };
  }
  const doc = stringify({ network: { version: 2, renderer: 'networkd', ethernets } }, { lineWidth: 0 });
  const text = [...header(node), ...comments, doc].join('\n');
  // netplan warns about (and will refuse) a file others can read
  return [
    { path: `/etc/netplan/90-nslab-${slug(node.lab)}.yaml`, text, mode: 0o600 },
    ...sysctlFile(node),
    ...rtTablesFile(node),
  ];
}

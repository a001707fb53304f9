// netplan 0.106 (Debian 12): one YAML file, ethernets with routes (table, type,
// scope, mtu, windows) and routing-policy (from, to, mark, tos, table). netplan
// has no source-specific route, no multipath, no protocol, no inverted or
// interface rules: those are refused (constructs.ts), never written without.
import { carriesOnly } from './constructs.js';
import { header, leftOutComments, rtTablesFile, slug, sysctlFile, type ExportFile, type LeftOut } from './files.js';
import { metricOf, type FinalNode, type FinalRoute, type FinalRule } from './node-state.js';

export const NETPLAN_CARRIES = carriesOnly(
  [
    ...['dev', 'via', 'via-link-local', 'lo', 'src', 'metric', 'table', 'onlink', 'mtu', 'initcwnd', 'initrwnd'],
    'owner-unaddressed',
    ...['blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast'].map(
      (t) => `type-${t}`,
    ),
  ]
    .map((k) => `route:${k}`)
    .concat(['sysctl:ipv6-forwarding'])
    .concat(['from', 'to', 'no-address', 'table', 'fwmark', 'tos'].map((k) => `rule:${k}`)),
  ['route:scope'],
);

const zero = (f: 4 | 6) => (f === 6 ? '::/0' : '0.0.0.0/0');

function route(r: FinalRoute): Record<string, unknown> {
  const mtu = metricOf(r, 'mtu');
  const initcwnd = metricOf(r, 'initcwnd');
  const initrwnd = metricOf(r, 'initrwnd');
  return {
    // `default` says no family: netplan takes it from the gateway, and without one its generator aborts
    to: r.dest === 'default' && !r.via ? zero(r.family) : r.dest,
    ...(r.via ? { via: r.via } : {}),
    ...(r.src ? { from: r.src } : {}),
    ...(r.onlink ? { 'on-link': true } : {}),
    ...(r.metric !== undefined ? { metric: r.metric } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    ...(r.scope ? { scope: r.scope === 'universe' ? 'global' : r.scope } : {}),
    ...(r.type !== 'unicast' ? { type: r.type } : {}),
    ...(mtu ? { mtu: Number(mtu.value) } : {}),
    ...(initcwnd ? { 'congestion-window': Number(initcwnd.value) } : {}),
    ...(initrwnd ? { 'advertised-receive-window': Number(initrwnd.value) } : {}),
  };
}

function rule(r: FinalRule): Record<string, unknown> {
  return {
    ...(r.from ? { from: r.from } : {}),
    // a rule with neither from nor to: netplan refuses it (and would not know its family); a `to` of the whole
    // address space is the same rule to the kernel, and says the family
    ...(r.to ? { to: r.to } : !r.from ? { to: zero(r.family) } : {}),
    ...(r.table !== undefined ? { table: r.table } : {}),
    priority: r.priority,
    ...(r.fwmark !== undefined ? { mark: Number(r.fwmark) } : {}),
    ...(r.tos ? { 'type-of-service': Number(r.tos) } : {}),
  };
}

const LOOPBACK = ['127.0.0.1', '::1'];

export async function renderNetplan(node: FinalNode, leftOut: LeftOut[] = []): Promise<ExportFile[]> {
  // in the bundle, yaml's functions sit under `default` (as in cli/common.ts)
  const yaml = await import('yaml');
  const stringify = yaml.stringify ?? (yaml as unknown as { default: typeof yaml }).default.stringify;
  const ethernets: Record<string, Record<string, unknown>> = {};
  for (const i of node.interfaces) {
    const routes = node.routes.filter((r) => r.owner === i.name).map(route);
    const rules = node.rules.filter((r) => r.owner === i.name).map(rule);
    const addresses = i.addresses.filter((a) => !(i.name === 'lo' && LOOPBACK.includes(a.address))).map((a) => a.text);
    if (i.name === 'lo' && !addresses.length && !routes.length && !rules.length) continue;
    ethernets[i.name] = {
      ...(i.up ? {} : { 'activation-mode': 'off' }),
      ...(addresses.length ? { addresses } : {}),
      ...(i.mtu ? { mtu: i.mtu } : {}),
      ...(i.mac ? { macaddress: i.mac } : {}),
      ...(i.name === 'lo' ? {} : { 'accept-ra': false }),
      ...(routes.length ? { routes } : {}),
      ...(rules.length ? { 'routing-policy': rules } : {}),
    };
  }
  const doc = stringify({ network: { version: 2, renderer: 'networkd', ethernets } }, { lineWidth: 0 });
  const text = [...header(node), ...leftOutComments(leftOut), doc].join('\n');
  // netplan warns about (and will refuse) a file others can read
  return [
    { path: `/etc/netplan/90-nslab-${slug(node.lab)}.yaml`, text, mode: 0o600 },
    ...sysctlFile(node),
    ...rtTablesFile(node),
  ];
}

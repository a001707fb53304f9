// The machine's routes as the host node's, each as `ip route add` takes it, in every table, both families. Left out:
// the local table, routes of type local, broadcast, multicast, anycast and nat, the routes the kernel made in main for
// an address (protocol kernel), IPv6 link-local and multicast routes; and, with a note, a route through an interface
// the lab does not keep, in a table the snapshot has no number for, or one the lab's own checks refuse. A route that
// takes the place of the kernel's own subnet route goes in the first stage, which replaces, where the node's routes
// only add. The gateways the routes name are what the routers beside the machine hold (surroundings.ts).
import { inSubnet, networkOf, parseAddress, type Family } from '../lab/addr.js';
import { checkRoute, routeKey } from '../lab/iproute.js';
import type { HostView } from './host-view.js';
import type { HostIface } from './interfaces.js';
import { leaveOut, type Ledger, type Note } from './ledger.js';
import type { IpRoute, Snapshot } from './schema.js';

export interface Gateway {
  via: string;
  family: Family;
  /** The interface the route names (an IPv6 link-local gateway is on that interface's link). */
  dev?: string;
}

export interface HostRoutes {
  /** The node's own routes (nodes.HOST.routes). */
  base: string[];
  /** The routes that take the place of the kernel's subnet routes (the first stage's). */
  stage: string[];
  /** Every gateway the routes name. */
  gateways: Gateway[];
  /** Whether a route of the family leads off the machine's subnets (through a gateway). */
  offLink: Record<Family, boolean>;
}

export function hostRoutes(snap: Snapshot, ifaces: HostIface[], hv: HostView, ledger: Ledger): HostRoutes {
  const { host } = hv;
  const connected = new Set<string>();
  for (const i of ifaces)
    for (const a of i.addresses)
      if (a.family === 4 && a.prefix < 32) connected.add(routeKey({ args: [networkOf(a), 'dev', i.name], family: 4 }));
  const base: string[] = [];
  const stage: string[] = [];
  const gateways: Gateway[] = [];
  const offLink: Record<Family, boolean> = { 4: false, 6: false };
  const peerNets = ifaces.flatMap((i) => i.peers);
  /** The local address whose peer ADDRESS is (the source the kernel picks towards it), if it is a peer. */
  const peers = (a: string) => peerNets.find((p) => inSubnet(a, p.net))?.local;
  for (const fam of [4, 6] as const)
    snap.routes[fam].forEach((r, n) => {
      const text = routeText(r, fam, hv, peers);
      if (text === undefined) return;
      const place = { at: ['nodes', host, 'routes'], index: base.length };
      if (typeof text === 'object') {
        leaveOut(ledger, 'route', text.note, place);
        return;
      }
      const c = checkRoute(text, hv.check);
      if (c.errors.length) {
        leaveOut(ledger, 'route', `route '${text}' left out: ${c.errors[0]!.message}`, place);
        return;
      }
      const hops = [{ gateway: r.gateway ?? r.via?.host, dev: r.dev }, ...(r.nexthops ?? [])];
      for (const { gateway: g, dev } of hops)
        if (g && parseAddress(g)) gateways.push({ via: parseAddress(g)!.address, family: fam, dev });
      if (r.gateway || r.via || r.nexthops?.length) offLink[fam] = true;
      // a route the kernel would take for its own subnet route: `up` adds base routes, a stage replaces
      const [list, at] = connected.has(routeKey(c))
        ? [stage, ['stages', 0, 'apply', host, 'routes']]
        : [base, ['nodes', host, 'routes']];
      ledger.origins.push({ at: [...at, list.length], from: ['routes', String(fam), n], what: 'this route' });
      list.push(text);
    });
  return { base, stage, gateways, offLink };
}

/** What the kernel makes itself in the local table (its own addresses, broadcast, multicast): never copied. */
const KERNEL_MADE_LOCAL = ['local', 'broadcast', 'multicast', 'anycast'];
/** Routes that lead nowhere: iproute2 prints an IPv6 one with `dev lo`, which `ip route add` does not take. */
const NOWHERE = ['blackhole', 'unreachable', 'prohibit', 'throw'];
/** The fields of a route import reads, or knows to decide nothing (`expires` of a route learnt from an RA). */
const READ = new Set([
  'type',
  'dst',
  'from',
  'gateway',
  'via',
  'dev',
  'protocol',
  'scope',
  'prefsrc',
  'metric',
  'flags',
  'table',
  'tos',
  'pref',
  'metrics',
  'nexthops',
  'expires',
  'cache',
  'uid',
]);
/** The route metrics a lab takes (lab/iproute.ts), as iproute2 prints them. */
export const METRICS = [
  'mtu',
  'advmss',
  'hoplimit',
  'reordering',
  'window',
  'cwnd',
  'initcwnd',
  'initrwnd',
  'ssthresh',
  'quickack',
  'fastopen_no_cookie',
];
/** The route protocols a lab takes (lab/iproute.ts): a protocol decides nothing, and is kept where it can be. */
const PROTOCOLS =
  /^(kernel|boot|static|gated|ra|mrt|zebra|bird|dnrouted|xorp|ntk|dhcp|keepalived|babel|openr|bgp|isis|ospf|rip|eigrp|redirect|\d{1,3})$/;

/** Whether ADDRESS is an IPv6 link-local one (fe80::/10): a gateway any interface reaches by its own link-local. */
export const linkLocal6 = (address: string): boolean => /^fe[89ab][0-9a-f]?:/i.test(address);

/**
 * One route as after `ip route add`; undefined for what the kernel makes itself; a note for what the lab cannot hold.
 */
function routeText(
  r: IpRoute,
  fam: Family,
  { tableId, tableWord, kept }: HostView,
  peers: (address: string) => string | undefined,
): string | Note | undefined {
  const id = tableId(r.table);
  const type = r.type ?? 'unicast';
  const shown = `ip${fam === 6 ? ' -6' : ''} route ${type !== 'unicast' ? `${type} ` : ''}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.table ? ` table ${r.table}` : ''}`;
  if (id === undefined) return { note: `${shown} left out: table '${r.table}' has no number in the snapshot` };
  const kernel = r.protocol === 'kernel';
  // the kernel's own routes for the machine's addresses (in local, and the subnet routes in main); a point-to-point
  // peer's route is the kernel's too, but the lab's address has no peer: it is written (peers)
  if (kernel && id === 255 && KERNEL_MADE_LOCAL.includes(type)) return undefined;
  if (kernel && id === 254 && !peers(r.dst.includes('/') ? r.dst.split('/')[0]! : r.dst)) return undefined;
  if (fam === 6 && kernel && (r.dst.startsWith('fe80:') || r.dst.startsWith('ff00:'))) return undefined;
  const unread = Object.keys(r).find((k) => r[k] !== undefined && !READ.has(k));
  if (unread) return { note: `${shown} left out: '${unread}' is not read by nslab import` };
  if (type === 'nat') return { note: `${shown} left out: nat routes are not supported in a lab` };
  const nowhere = NOWHERE.includes(type);
  const devs = [nowhere ? undefined : r.dev, ...(r.nexthops ?? []).map((h) => h.dev)].filter((d): d is string => !!d);
  const missing = devs.find((d) => d !== 'lo' && !kept.has(d));
  if (missing) return { note: `${shown} left out: ${missing} is not in the lab (no global address)` };
  const w: string[] = [];
  if (type !== 'unicast') w.push(type);
  w.push(r.dst);
  if (r.from) w.push('from', r.from);
  if (r.tos) w.push('tos', r.tos);
  const via = r.gateway ?? r.via?.host;
  if (via) w.push('via', via);
  if (r.dev && !r.nexthops?.length && !nowhere) w.push('dev', r.dev);
  // through a peer, the kernel takes as source the address whose peer it is: the lab's address has no peer, so the
  // route says it (the same decision; a next hop cannot)
  const src = r.prefsrc ?? (via && !r.nexthops?.length ? peers(via) : undefined);
  if (src) w.push('src', src);
  if (r.metric !== undefined && r.metric !== (fam === 6 ? 1024 : 0)) w.push('metric', String(r.metric));
  const t = tableWord(id);
  if (t) w.push('table', t);
  // boot is what `ip route add` gives; iproute2 prints no protocol for it
  if (r.protocol && r.protocol !== 'boot' && PROTOCOLS.test(r.protocol)) w.push('protocol', r.protocol);
  // the scope `ip route add` gives: host for a local route, link for one through a device alone, else global
  const hopVia = via || (r.nexthops ?? []).some((h) => h.gateway);
  const usual = type === 'local' ? 'host' : (type === 'unicast' && !hopVia) || type === 'broadcast' ? 'link' : 'global';
  if (r.scope && r.scope !== usual && !nowhere) w.push('scope', r.scope === 'universe' ? 'global' : r.scope);
  if (r.pref && r.pref !== 'medium') w.push('pref', r.pref);
  for (const m of r.metrics ?? [])
    for (const [k, v] of Object.entries(m)) {
      if (!METRICS.includes(k) || typeof v !== 'number')
        return { note: `${shown} left out: its metric '${k}' is not read by nslab import` };
      w.push(k, String(v));
    }
  if ((r.flags ?? []).includes('onlink') || (via && peers(via))) w.push('onlink');
  for (const h of r.nexthops ?? []) {
    w.push('nexthop');
    if (h.gateway) w.push('via', h.gateway);
    if (h.dev) w.push('dev', h.dev);
    if (h.weight !== undefined) w.push('weight', String(h.weight));
    if ((h.flags ?? []).includes('onlink') || (h.gateway && peers(h.gateway))) w.push('onlink');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

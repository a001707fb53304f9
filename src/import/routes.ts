// The machine's routes as the host node's, each as `ip route add` takes it, in every table, both families. Left out:
// the local table, routes of type local, broadcast, multicast, anycast and nat, the routes the kernel made in main for
// an address (protocol kernel), IPv6 link-local and multicast routes; and, with a note, a route through an interface
// the lab does not keep, in a table the snapshot has no number for, or one the lab's own checks refuse. A route that
// takes the place of the kernel's own subnet route goes in the first stage, which replaces, where the node's routes
// only add. The gateways the routes name are what the routers beside the machine hold (surroundings.ts).
import { networkOf, parseAddress, type Family } from '../lab/addr.js';
import { checkRoute, routeKey } from '../lab/iproute.js';
import type { HostView } from './host-view.js';
import type { HostIface } from './interfaces.js';
import type { Ledger, Note } from './ledger.js';
import type { IpRoute, Snapshot } from './schema.js';

export interface Gateway {
  via: string;
  family: Family;
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
  for (const fam of [4, 6] as const)
    snap.routes[fam].forEach((r, n) => {
      const text = routeText(r, fam, hv);
      if (text === undefined) return;
      if (typeof text === 'object') {
        ledger.notes.push(text.note);
        return;
      }
      const c = checkRoute(text, hv.check);
      if (c.errors.length) {
        ledger.notes.push(`route '${text}' left out: ${c.errors[0]!.message}`);
        return;
      }
      for (const g of [r.gateway ?? r.via?.host, ...(r.nexthops ?? []).map((h) => h.gateway)])
        if (g && parseAddress(g)) gateways.push({ via: parseAddress(g)!.address, family: fam });
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

const NOT_COPIED_TYPES = ['local', 'broadcast', 'multicast', 'anycast', 'nat'];

/**
 * One route as after `ip route add`; undefined for what the kernel makes itself; a note for what the lab cannot hold.
 */
function routeText(r: IpRoute, fam: Family, { tableId, tableWord, kept }: HostView): string | Note | undefined {
  const id = tableId(r.table);
  const shown = `ip${fam === 6 ? ' -6' : ''} route ${r.type && r.type !== 'unicast' ? `${r.type} ` : ''}${r.dst}${r.gateway ? ` via ${r.gateway}` : ''}${r.dev ? ` dev ${r.dev}` : ''}${r.table ? ` table ${r.table}` : ''}`;
  if (id === undefined) return { note: `${shown} left out: table '${r.table}' has no number in the snapshot` };
  if (id === 255 || NOT_COPIED_TYPES.includes(r.type ?? '')) return undefined;
  if (r.protocol === 'kernel' && id === 254) return undefined; // made by the kernel for an address
  if (fam === 6 && (r.dst.startsWith('fe80:') || r.dst.startsWith('ff00:'))) return undefined;
  const devs = [r.dev, ...(r.nexthops ?? []).map((h) => h.dev)].filter((d): d is string => !!d);
  const missing = devs.find((d) => d !== 'lo' && !kept.has(d));
  if (missing) return { note: `${shown} left out: ${missing} is not in the lab (no global address)` };
  const w: string[] = [];
  if (r.type && r.type !== 'unicast') w.push(r.type);
  w.push(r.dst);
  const via = r.gateway ?? r.via?.host;
  if (via) w.push('via', via);
  if (r.dev && !r.nexthops?.length) w.push('dev', r.dev);
  if (r.prefsrc) w.push('src', r.prefsrc);
  if (r.metric !== undefined && r.metric !== (fam === 6 ? 1024 : 0)) w.push('metric', String(r.metric));
  const t = tableWord(id);
  if (t) w.push('table', t);
  if ((r.flags ?? []).includes('onlink')) w.push('onlink');
  for (const h of r.nexthops ?? []) {
    w.push('nexthop');
    if (h.gateway) w.push('via', h.gateway);
    if (h.dev) w.push('dev', h.dev);
    if (h.weight !== undefined) w.push('weight', String(h.weight));
    if ((h.flags ?? []).includes('onlink')) w.push('onlink');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

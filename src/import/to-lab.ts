// A snapshot -> a lab: the machine as a node with its addresses, routes,
// rules and sysctls exactly; for each interface a neighbour router holding the
// gateway addresses the machine's routes use on that subnet, and a client
// beyond it; the routers joined by a core router, so that a reply the machine
// sends out of the "wrong" interface still arrives, as on the internet. The
// tests: a reply to each local address leaves through the interface the
// request came in on. Pure: the caller reads and writes the files.
//
// The size of the lab is linear in the snapshot's: each router reaches every
// client through one aggregate route via the core, which has one route per
// client (addressing.ts). Every part of the lab remembers the part of the
// snapshot it was made from (`origins`), so that a lab nslab refuses names
// what in the snapshot gave it (verify.ts).
import { existsSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { inSubnet, networkOf, parseAddress, parseCidr, type Cidr, type Family } from '../lab/addr.js';
import { LAB_NAME, SYSCTL_KEY } from '../lab/grammar.js';
import { checkRoute, checkRule, routeKey } from '../lab/iproute.js';
import { routerPlan, type RouterPlan } from './addressing.js';
import { hostView } from './host-view.js';
import { hostInterfaces, type HostIface } from './interfaces.js';
import type { Ledger, Path } from './ledger.js';
import { nodeName, nodeTags } from './names.js';
import { said, type IpRoute, type IpRule, type Snapshot } from './schema.js';

export type { Origin, Path } from './ledger.js';

export interface Imported extends Ledger {
  lab: Record<string, unknown>;
  host: string;
}

/** The gateways on each subnet, found by the subnet (linear in gateways times the host's distinct prefix lengths). */
function gatewaysBySubnet(gateways: { via: string; family: Family }[], hostAddrs: Cidr[], owned: Set<string>) {
  const lengths = { 4: new Set<number>(), 6: new Set<number>() };
  for (const a of hostAddrs) lengths[a.family].add(a.prefix);
  const bySubnet = new Map<string, string[]>();
  for (const g of gateways) {
    if (owned.has(g.via)) continue;
    for (const p of lengths[g.family]) {
      const key = networkOf({ address: g.via, prefix: p, family: g.family, text: '' });
      const list = bySubnet.get(key);
      if (!list) bySubnet.set(key, [g.via]);
      else if (!list.includes(g.via)) list.push(g.via);
    }
  }
  return (a: Cidr) => bySubnet.get(networkOf(a)) ?? [];
}

/**
 * The lab of a checked snapshot; FILE names the snapshot in errors (the snapshot's own problems are checkSnapshot's).
 */
export function snapshotToLab(snap: Snapshot, file = 'the snapshot'): Imported {
  const ledger: Ledger = { notes: [], origins: [] };
  const { notes, origins } = ledger;
  const host = nodeName(snap.name, 'host');
  const coreName = host === 'core' ? 'core-2' : 'core';
  // ---- the machine's interfaces and their addresses ----
  const { ifaces, lo } = hostInterfaces(snap, file, ledger);
  const loAddrs = lo.map((x) => x.cidr);
  const kept = new Set(ifaces.map((i) => i.name));
  const hostAddrs = [...ifaces.flatMap((i) => i.addresses), ...loAddrs];

  // ---- tables, and the node as the checks see it ----
  const hv = hostView(snap, host, { ifaces, lo }, ledger);
  const { tables, check: view } = hv;
  const tableOf = hv.tableId;
  const tableWord = hv.tableWord;

  // ---- routes ----
  const connected = new Set<string>();
  for (const i of ifaces)
    for (const a of i.addresses)
      if (a.family === 4 && a.prefix < 32) connected.add(routeKey({ args: [networkOf(a), 'dev', i.name], family: 4 }));
  const baseRoutes: string[] = [];
  const stageRoutes: string[] = [];
  const gateways: { via: string; family: Family }[] = [];
  const offLink: Record<Family, boolean> = { 4: false, 6: false };
  for (const fam of [4, 6] as const)
    snap.routes[fam].forEach((r, n) => {
      const text = routeText(r, fam, tableOf, tableWord, kept);
      if (text === undefined) return;
      if (typeof text === 'object') {
        notes.push(text.note);
        return;
      }
      const c = checkRoute(text, view);
      if (c.errors.length) {
        notes.push(`route '${text}' left out: ${c.errors[0]!.message}`);
        return;
      }
      for (const g of [r.gateway ?? r.via?.host, ...(r.nexthops ?? []).map((h) => h.gateway)])
        if (g && parseAddress(g)) gateways.push({ via: parseAddress(g)!.address, family: fam });
      if (r.gateway || r.via || r.nexthops?.length) offLink[fam] = true;
      // a route the kernel would take for its own subnet route: `up` adds base routes, a stage replaces
      const [list, at] = connected.has(routeKey(c))
        ? [stageRoutes, ['stages', 0, 'apply', host, 'routes']]
        : [baseRoutes, ['nodes', host, 'routes']];
      origins.push({ at: [...at, list.length], from: ['routes', String(fam), n], what: 'this route' });
      list.push(text);
    });

  // ---- rules ----
  const rules: string[] = [];
  for (const fam of [4, 6] as const)
    snap.rules[fam].forEach((r, n) => {
      const text = ruleText(r, fam, tableOf, tableWord, kept);
      if (text === undefined) return;
      if (typeof text === 'object') {
        notes.push(text.note);
        return;
      }
      const c = checkRule(text, view);
      if (c.errors.length) {
        notes.push(`rule '${text}' left out: ${c.errors[0]!.message}`);
        return;
      }
      origins.push({ at: ['nodes', host, 'rules', rules.length], from: ['rules', String(fam), n], what: 'this rule' });
      rules.push(text);
    });

  // ---- sysctls: those of kept interfaces, that this kernel has ----
  const sysctl: Record<string, string> = {};
  for (const [k, v] of Object.entries(snap.sysctl)) {
    const m = /^net\.ipv4\.conf\.([^.]+)\./.exec(k);
    if (m && !['all', 'default'].includes(m[1]!) && !kept.has(m[1]!.replace(/\//g, '.'))) continue;
    // a lab node starts from the kernel's defaults, 0 for all of these: the others are what the machine changed
    if (!SYSCTL_KEY.test(k) || !/^\d+$/.test(v) || v === '0') continue;
    if (
      existsSync('/proc/sys/net') &&
      !existsSync(`/proc/sys/${k.split('.').join('/')}`.replace(/\/conf\/(?!all|default)[^/]+\//, '/conf/default/'))
    ) {
      notes.push(`sysctl ${k} left out: this kernel does not have it`);
      continue;
    }
    sysctl[k] = v;
    origins.push({ at: ['nodes', host, 'sysctl', k], from: ['sysctl', k], what: 'this sysctl' });
  }

  // ---- the neighbours: a router per interface, a client beyond it, a core router joining the routers ----
  const taken = (n: string) => n === host || n === coreName;
  const tags = nodeTags(
    ifaces.map((i) => i.name),
    taken,
  );
  const owned = new Set(hostAddrs.map((a) => a.address));
  const onSubnet = gatewaysBySubnet(gateways, hostAddrs, owned);
  const core = ifaces.length > 1;
  const any6 = ifaces.some((i) => i.addresses.some((a) => a.family === 6));
  interface Router {
    iface: HostIface;
    gw: string;
    client: string;
    k: number;
    lan: string[];
    plan: RouterPlan;
  }
  const routers: Router[] = ifaces.map((iface, k) => {
    const lan: string[] = [];
    for (const a of iface.addresses) {
      const found = onSubnet(a);
      const picks = found.length ? found : [freeAddress(a, owned)].filter((x): x is string => !!x);
      for (const p of picks) {
        if (owned.has(p)) continue;
        owned.add(p);
        lan.push(`${p}/${a.prefix}`);
      }
    }
    const v6 = iface.addresses.some((a) => a.family === 6);
    return { iface, gw: `gw-${tags[k]}`, client: `client-${tags[k]}`, k, lan, plan: routerPlan(k, v6, core && any6) };
  });
  for (const r of routers)
    if (!r.lan.length)
      notes.push(`no address for ${r.gw} on ${r.iface.name}'s subnets (all taken, or /31 and smaller)`);
  const hostNode: Record<string, unknown> = {
    description: `${snap.name} as the snapshot shows it (${snap.source}, ${snap.taken})`,
    interfaces: Object.fromEntries([
      ...ifaces.map((i) => [
        i.name,
        i.up ? addrList(i.addresses) : { addresses: i.addresses.map((a) => a.text), up: false },
      ]),
      ...(loAddrs.length ? [['lo', addrList(loAddrs)]] : []),
    ]),
    ...(Object.keys(tables).length ? { tables } : {}),
    ...(baseRoutes.length ? { routes: baseRoutes } : {}),
    ...(rules.length ? { rules } : {}),
    ...(Object.keys(sysctl).length ? { sysctl } : {}),
  };
  // where each address of the machine is in the lab: the form addrList and the down form give it
  for (const i of ifaces) {
    const at: Path = ['nodes', host, 'interfaces', i.name, ...(i.up ? [] : ['addresses'])];
    origins.push({ at, from: i.at, what: `interface ${said(i.name)}` });
    const what = `this address of interface ${said(i.name)}`;
    i.from.forEach((from, j) => origins.push({ at: i.up && i.addresses.length === 1 ? at : [...at, j], from, what }));
  }
  lo.forEach((x, j) =>
    origins.push({
      at: ['nodes', host, 'interfaces', 'lo', ...(lo.length === 1 ? [] : [j])],
      from: x.from,
      what: 'this address of lo',
    }),
  );
  const out: Record<string, unknown> = { [host]: hostNode };
  const links: string[] = [];
  const coreInterfaces: Record<string, string[]> = {};
  const coreRoutes: string[] = [];
  for (const r of routers) {
    const { plan } = r;
    const ifs: Record<string, string[]> = { lan: r.lan, cli: plan.cli };
    const routes: string[] = [];
    const made = { from: r.iface.at, what: `interface ${said(r.iface.name)} (its router and client)` };
    if (core) {
      const coreIf = `r${r.k}`;
      ifs.core = plan.routerSide;
      routes.push(...plan.toClients.map((t) => `${t.net} via ${t.via} dev core`));
      coreInterfaces[coreIf] = plan.coreSide;
      origins.push({ at: ['nodes', coreName, 'interfaces', coreIf], ...made });
      for (const c of plan.clientNets) {
        origins.push({ at: ['nodes', coreName, 'routes', coreRoutes.length], ...made });
        coreRoutes.push(`${c.net} via ${c.via} dev ${coreIf}`);
      }
    }
    out[r.gw] = {
      description: `stands in for the gateways on ${host}:${r.iface.name}'s subnets`,
      forwarding: true,
      interfaces: ifs,
      ...(routes.length ? { routes } : {}),
    };
    out[r.client] = {
      description: `a client beyond ${r.gw}`,
      interfaces: { eth0: plan.client },
      routes: plan.clientGateways.map((g) => `default via ${g}`),
    };
    origins.push({ at: ['nodes', r.gw], ...made }, { at: ['nodes', r.client], ...made });
    const ends = [`${host}:${r.iface.name} ${r.gw}:lan`, `${r.gw}:cli ${r.client}:eth0`];
    if (core) ends.push(`${r.gw}:core ${coreName}:r${r.k}`);
    for (const l of ends) {
      origins.push({ at: ['links', links.length], ...made });
      links.push(l);
    }
  }
  if (core) {
    const description = 'joins the routers, as the internet joins the gateways';
    out[coreName] = { description, forwarding: true, interfaces: coreInterfaces, routes: coreRoutes };
  }

  // ---- the tests: each local address answered through the interface it is reached on ----
  const tests: Record<string, unknown>[] = [];
  for (const r of routers) {
    if (!r.iface.up) {
      notes.push(`${r.iface.name} is down: no test for its addresses`);
      continue;
    }
    r.iface.addresses.forEach((a, j) => {
      const routerHas = r.lan.some((x) => parseCidr(x)!.family === a.family);
      if (!routerHas) return;
      // where the machine has no route off its subnets in this family, only its neighbours can reach it
      const from = offLink[a.family] ? r.client : r.gw;
      const what = `this address of interface ${said(r.iface.name)}`;
      origins.push({ at: ['stages', 0, 'tests', tests.length], from: r.iface.from[j]!, what });
      tests.push({
        name: `replies to ${a.address} leave through ${r.iface.name}${from === r.gw ? ` (from ${r.iface.name}'s subnet: no IPv${a.family} route leads off it)` : ''}`,
        ping: { from, to: a.address, count: 2 },
        expect: { 'reply-via': `${host}:${r.iface.name}` },
      });
    });
  }
  const labName = `${host}-import`.slice(0, 32).replace(/-+$/, '');
  const lab: Record<string, unknown> = {
    name: LAB_NAME.test(labName) ? labName : 'imported-host',
    description:
      `Made by nslab import from a snapshot of ${snap.name} (${snap.source}, taken ${snap.taken}): ${host} with its addresses, ` +
      'routes, rules and sysctls as they were; a router per interface holding the gateway addresses its routes use there, ' +
      `a client beyond each${core ? ', the routers joined by a core router' : ''}. ` +
      'The tests say that replies leave through the interface the request came in on.',
    nodes: out,
    links,
    stages: [
      {
        name: 'as in the snapshot',
        ...(stageRoutes.length
          ? {
              description:
                "routes that take the place of the kernel's own subnet routes (a stage replaces, the base only adds)",
              apply: { [host]: { routes: stageRoutes } },
            }
          : {}),
        tests,
      },
    ],
  };
  return { lab, notes, host, origins };
}

const addrList = (cs: Cidr[]) => (cs.length === 1 ? cs[0]!.text : cs.map((c) => c.text));

/**
 * An address on the subnet for a router where the machine's routes name no gateway: the last (IPv4) or first (IPv6) one
 * free.
 */
function freeAddress(a: Cidr, owned: Set<string>): string | undefined {
  if ((a.family === 4 && a.prefix >= 31) || (a.family === 6 && a.prefix >= 127)) return undefined;
  const net = ipaddr.parseCIDR(networkOf(a));
  const bytes = net[0].toByteArray();
  const size = a.family === 4 ? 4 : 16;
  const add = (delta: number) => {
    const b = [...bytes];
    // network + delta, or (IPv4) broadcast - delta
    let carry = delta;
    if (a.family === 4) {
      const hostBits = 32 - a.prefix;
      const n = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]! + (2 ** hostBits - 1) - delta;
      return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
    }
    for (let i = size - 1; i >= 0 && carry; i--) {
      const v = b[i]! + carry;
      b[i] = v & 255;
      carry = v >> 8;
    }
    return ipaddr.fromByteArray(b).toString();
  };
  for (let d = 1; d < 64; d++) {
    const x = add(d);
    if (!owned.has(x) && inSubnet(x, a)) return x;
  }
  return undefined;
}

type Note = { note: string };
const NOT_COPIED_TYPES = ['local', 'broadcast', 'multicast', 'anycast', 'nat'];

/**
 * One route as after `ip route add`; undefined for what the kernel makes itself; a note for what the lab cannot hold.
 */
function routeText(
  r: IpRoute,
  fam: Family,
  tableOf: (t?: string) => number | undefined,
  tableWord: (id: number) => string | undefined,
  kept: Set<string>,
): string | Note | undefined {
  const id = tableOf(r.table);
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

const DEFAULT_RULES: [number, string][] = [
  [0, 'local'],
  [32766, 'main'],
  [32767, 'default'],
];

function ruleText(
  r: IpRule,
  fam: Family,
  tableOf: (t?: string) => number | undefined,
  tableWord: (id: number) => string | undefined,
  kept: Set<string>,
): string | Note | undefined {
  const selectors =
    ['dst', 'fwmark', 'iif', 'oif', 'tos', 'ipproto', 'sport', 'dport', 'not', 'uidrange', 'l3mdev'].some(
      (k) => r[k] !== undefined,
    ) ||
    (r.src && r.src !== 'all');
  if (!selectors && DEFAULT_RULES.some(([p, t]) => r.priority === p && r.table === t)) return undefined;
  const w = ['priority', String(r.priority)];
  if (r.not) w.push('not');
  if (r.src && r.src !== 'all')
    w.push('from', r.srclen !== undefined && r.srclen !== (fam === 6 ? 128 : 32) ? `${r.src}/${r.srclen}` : r.src);
  if (r.dst && r.dst !== 'all')
    w.push('to', r.dstlen !== undefined && r.dstlen !== (fam === 6 ? 128 : 32) ? `${r.dst}/${r.dstlen}` : r.dst);
  if (r.tos) w.push('tos', r.tos);
  if (r.fwmark) w.push('fwmark', r.fwmask && r.fwmask !== '0xffffffff' ? `${r.fwmark}/${r.fwmask}` : r.fwmark);
  for (const k of ['iif', 'oif'] as const) {
    const d = r[k];
    if (d === undefined) continue;
    if (d !== 'lo' && !kept.has(d)) return { note: `rule ${r.priority} left out: ${k} ${d} is not in the lab` };
    w.push(k, d);
  }
  // without /etc/protocols (a minimal image) ip prints a protocol as ipproto-N
  if (r.ipproto) w.push('ipproto', String(r.ipproto).replace(/^ipproto-(\d+)$/, '$1'));
  for (const k of ['sport', 'dport'] as const) {
    const p = r[k];
    if (p !== undefined) w.push(k, typeof p === 'object' ? `${p.start}-${p.end}` : String(p));
  }
  if (r.suppress_prefixlen !== undefined) w.push('suppress_prefixlength', String(r.suppress_prefixlen));
  const unknown = ['uidrange', 'l3mdev', 'tun_id', 'realms'].find((k) => r[k] !== undefined);
  if (unknown) return { note: `rule ${r.priority} left out: '${unknown}' is not supported in a lab` };
  if (r.action && r.action !== 'to_tbl') {
    if (r.action === 'goto') w.push('goto', String(r.target));
    else w.push(r.action);
  } else {
    const id = tableOf(r.table);
    if (id === undefined)
      return { note: `rule ${r.priority} left out: table '${r.table}' has no number in the snapshot` };
    w.push('table', tableWord(id) ?? 'main');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

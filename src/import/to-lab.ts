// A snapshot -> a lab: the machine as a node with its addresses, routes,
// rules and sysctls exactly; for each interface a neighbour router holding the
// gateway addresses the machine's routes use on that subnet, and a client
// beyond it; the routers joined by a core bridge, so that a reply the machine
// sends out of the "wrong" interface still arrives, as on the internet. The
// tests: a reply to each local address leaves through the interface the
// request came in on. Pure: the caller reads and writes the files.
import { existsSync } from 'node:fs';
import ipaddr from 'ipaddr.js';
import { UsageError } from '../errors.js';
import { inSubnet, networkOf, parseAddress, parseCidr, type Cidr, type Family } from '../lab/addr.js';
import { IFNAME, LAB_NAME, NODE_NAME, RESERVED_IFNAMES, SYSCTL_KEY } from '../lab/grammar.js';
import { BUILTIN_TABLES, checkRoute, checkRule, routeKey, type NodeView } from '../lab/iproute.js';
import { SNAPSHOT_VERSION, type IpRoute, type IpRule, type Snapshot } from './snapshot.js';

// the generated subnets: the benchmarking range (RFC 2544) and a unique local IPv6 prefix, rarely on a real machine
const CLIENT4 = (k: number) => `198.18.${k}`;
const CORE4 = '198.19.255';
const ULA = 'fd00:6e73:6c62'; // "nslb"
const CLIENT6 = (k: number) => `${ULA}:${k.toString(16)}`;
const CORE6 = `${ULA}:ffff`;

export interface Imported { lab: Record<string, unknown>; notes: string[]; host: string }

const name = (s: string, fallback: string) => {
  const n = s.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^[^a-z]+/, '').slice(0, 24).replace(/-+$/, '');
  return NODE_NAME.test(n) ? n : fallback;
};

/** Checks what a snapshot file holds before anything is made of it. */
export function checkSnapshot(data: unknown, file: string): Snapshot {
  const s = data as Partial<Snapshot> | null;
  const bad = (what: string) => new UsageError(`${file}: not an nslab snapshot: ${what}`, "make one with 'nslab snapshot -o FILE' (on the machine) or 'nslab snapshot --node LAB NODE'");
  if (!s || typeof s !== 'object' || Array.isArray(s)) throw bad('not a JSON object');
  if (s['nslab-snapshot'] !== SNAPSHOT_VERSION) throw bad(`'nslab-snapshot' is ${JSON.stringify(s['nslab-snapshot'])}, this nslab reads version ${SNAPSHOT_VERSION}`);
  for (const k of ['links', 'addresses'] as const) if (!Array.isArray(s[k])) throw bad(`'${k}' is not a list`);
  for (const k of ['routes', 'rules'] as const) if (!s[k] || !Array.isArray(s[k]![4]) || !Array.isArray(s[k]![6])) throw bad(`'${k}' needs lists '4' and '6'`);
  if (typeof s.name !== 'string') throw bad("'name' is missing");
  return { ...s, tables: s.tables ?? {}, sysctl: s.sysctl ?? {} } as Snapshot;
}

interface HostIface { name: string; addresses: Cidr[]; up: boolean }

export function snapshotToLab(snap: Snapshot): Imported {
  const notes: string[] = [];
  const host = name(snap.name, 'host');
  // ---- the machine's interfaces and their addresses ----
  const ifaces: HostIface[] = [];
  const loAddrs: Cidr[] = [];
  for (const l of snap.addresses) {
    const global = (l.addr_info ?? []).filter((a) => a.scope === 'global' && (a.family === 'inet' || a.family === 'inet6'))
      .map((a) => parseCidr(`${a.local}/${a.prefixlen}`)).filter((c): c is Cidr => !!c);
    if (l.ifname === 'lo') { loAddrs.push(...global); continue; }
    if (!global.length) continue;
    if (!IFNAME.test(l.ifname) || RESERVED_IFNAMES.includes(l.ifname)) { notes.push(`interface '${l.ifname}' left out: not a name a lab interface can have`); continue; }
    ifaces.push({ name: l.ifname, addresses: global, up: (l.flags ?? []).includes('UP') });
  }
  if (!ifaces.length) throw new UsageError(`the snapshot of '${snap.name}' has no interface with a global address`, 'nothing to import: a lab needs the interfaces replies leave by');
  const kept = new Set(ifaces.map((i) => i.name));
  const hostAddrs = [...ifaces.flatMap((i) => i.addresses), ...loAddrs];
  for (const a of hostAddrs)
    if (inSubnet(a.address, parseCidr(a.family === 4 ? '198.18.0.0/15' : `${ULA}::/48`)!))
      throw new UsageError(`${a.text} is in ${a.family === 4 ? '198.18.0.0/15' : `${ULA}::/48`}, where nslab import puts the clients`, 'not supported yet: edit the snapshot or the generated lab');

  // ---- tables: ids, and the names the machine gives them ----
  const byName = new Map(Object.entries(snap.tables).map(([id, n]) => [n, Number(id)]));
  const tableOf = (t: string | undefined): number | undefined => (t === undefined ? 254 : /^\d+$/.test(t) ? Number(t) : BUILTIN_TABLES[t] ?? byName.get(t));
  const tables: Record<string, number> = {};
  const view: NodeView = { interfaces: new Map([['lo', [parseCidr('127.0.0.1/8')!, parseCidr('::1/128')!, ...loAddrs]], ...ifaces.map((i) => [i.name, i.addresses] as [string, Cidr[]])]), tables: new Map(), down: new Set(ifaces.filter((i) => !i.up).map((i) => i.name)) };
  // a name the lab will declare is known to the checks from the route or rule that first uses it
  const tableWord = (id: number) => {
    if (id === 254) return undefined;
    const n = snap.tables[String(id)];
    if (n && /^[A-Za-z][A-Za-z0-9_-]*$/.test(n) && !(n in BUILTIN_TABLES) && (id < 253 || id > 255)) { tables[n] = id; view.tables.set(n, id); return n; }
    return id === 253 ? 'default' : String(id);
  };

  // ---- routes ----
  const connected = new Set<string>();
  for (const i of ifaces) for (const a of i.addresses) if (a.family === 4 && a.prefix < 32) connected.add(routeKey({ args: [networkOf(a), 'dev', i.name], family: 4 }));
  const baseRoutes: string[] = [];
  const stageRoutes: string[] = [];
  const gateways: { via: string; family: Family }[] = [];
  const offLink: Record<Family, boolean> = { 4: false, 6: false };
  for (const fam of [4, 6] as const)
    for (const r of snap.routes[fam]) {
      const text = routeText(r, fam, tableOf, tableWord, kept);
      if (text === undefined) continue;
      if (typeof text === 'object') { notes.push(text.note); continue; }
      const c = checkRoute(text, view);
      if (c.errors.length) { notes.push(`route '${text}' left out: ${c.errors[0]!.message}`); continue; }
      for (const g of [r.gateway ?? r.via?.host, ...(r.nexthops ?? []).map((h) => h.gateway)]) if (g && parseAddress(g)) gateways.push({ via: parseAddress(g)!.address, family: fam });
      if (r.gateway || r.via || r.nexthops?.length) offLink[fam] = true;
      // a route the kernel would take for its own subnet route: `up` adds base routes, a stage replaces
      (connected.has(routeKey(c)) ? stageRoutes : baseRoutes).push(text);
    }

  // ---- rules ----
  const rules: string[] = [];
  for (const fam of [4, 6] as const)
    for (const r of snap.rules[fam]) {
      const text = ruleText(r, fam, tableOf, tableWord, kept);
      if (text === undefined) continue;
      if (typeof text === 'object') { notes.push(text.note); continue; }
      const c = checkRule(text, view);
      if (c.errors.length) { notes.push(`rule '${text}' left out: ${c.errors[0]!.message}`); continue; }
      rules.push(text);
    }

  // ---- sysctls: those of kept interfaces, that this kernel has ----
  const sysctl: Record<string, string> = {};
  for (const [k, v] of Object.entries(snap.sysctl)) {
    const m = /^net\.ipv4\.conf\.([^.]+)\./.exec(k);
    if (m && !['all', 'default'].includes(m[1]!) && !kept.has(m[1]!.replace(/\//g, '.'))) continue;
    // a lab node starts from the kernel's defaults, 0 for all of these: the others are what the machine changed
    if (!SYSCTL_KEY.test(k) || !/^\d+$/.test(v) || v === '0') continue;
    if (existsSync('/proc/sys/net') && !existsSync(`/proc/sys/${k.split('.').join('/')}`.replace(/\/conf\/(?!all|default)[^/]+\//, '/conf/default/'))) { notes.push(`sysctl ${k} left out: this kernel does not have it`); continue; }
    sysctl[k] = v;
  }

  // ---- the neighbours: a router per interface, a client beyond it, a core joining the routers ----
  const nodes: Record<string, unknown> = {};
  const links: string[] = [];
  const routers: { iface: HostIface; gw: string; client: string; k: number; v6: boolean }[] = [];
  const owned = new Set(hostAddrs.map((a) => a.address));
  const lanAddrs = new Map<string, string[]>();
  ifaces.forEach((i, k) => {
    const gw = uniqueName(`gw-${name(i.name, `if${k}`)}`, nodes, host);
    const lan: string[] = [];
    for (const a of i.addresses) {
      const onSubnet = gateways.filter((g) => g.family === a.family && inSubnet(g.via, a) && !owned.has(g.via)).map((g) => g.via);
      const picks = onSubnet.length ? [...new Set(onSubnet)] : [freeAddress(a, owned)].filter((x): x is string => !!x);
      for (const p of picks) {
        if (owned.has(p)) continue;
        owned.add(p);
        lan.push(`${p}/${a.prefix}`);
      }
    }
    lanAddrs.set(gw, lan);
    routers.push({ iface: i, gw, client: uniqueName(`client-${name(i.name, `if${k}`)}`, nodes, host), k, v6: i.addresses.some((a) => a.family === 6) });
    nodes[gw] = {}; // reserve the name
  });
  for (const r of routers) if (!lanAddrs.get(r.gw)!.length) notes.push(`no address for ${r.gw} on ${r.iface.name}'s subnets (all taken, or /31 and smaller)`);
  const core = routers.length > 1;
  const any6 = routers.some((r) => r.v6);
  const hostNode: Record<string, unknown> = {
    description: `${snap.name} as the snapshot shows it (${snap.source}, ${snap.taken})`,
    interfaces: Object.fromEntries([
      ...ifaces.map((i) => [i.name, i.up ? addrList(i.addresses) : { addresses: i.addresses.map((a) => a.text), up: false }]),
      ...(loAddrs.length ? [['lo', addrList(loAddrs)]] : []),
    ]),
    ...(Object.keys(tables).length ? { tables } : {}),
    ...(baseRoutes.length ? { routes: baseRoutes } : {}),
    ...(rules.length ? { rules } : {}),
    ...(Object.keys(sysctl).length ? { sysctl } : {}),
  };
  const out: Record<string, unknown> = { [host]: hostNode };
  for (const r of routers) {
    const ifs: Record<string, string[]> = { lan: lanAddrs.get(r.gw)!, cli: [`${CLIENT4(r.k)}.1/24`, ...(r.v6 ? [`${CLIENT6(r.k)}::1/64`] : [])] };
    const routes: string[] = [];
    if (core) {
      ifs.core = [`${CORE4}.${r.k + 1}/24`, ...(any6 ? [`${CORE6}::${(r.k + 1).toString(16)}/64`] : [])];
      for (const o of routers) {
        if (o === r) continue;
        routes.push(`${CLIENT4(o.k)}.0/24 via ${CORE4}.${o.k + 1}`);
        if (o.v6) routes.push(`${CLIENT6(o.k)}::/64 via ${CORE6}::${(o.k + 1).toString(16)}`);
      }
    }
    out[r.gw] = { description: `stands in for the gateways on ${host}:${r.iface.name}'s subnets`, forwarding: true, interfaces: ifs, ...(routes.length ? { routes } : {}) };
    out[r.client] = {
      description: `a client beyond ${r.gw}`,
      interfaces: { eth0: [`${CLIENT4(r.k)}.2/24`, ...(r.v6 ? [`${CLIENT6(r.k)}::2/64`] : [])] },
      routes: [`default via ${CLIENT4(r.k)}.1`, ...(r.v6 ? [`default via ${CLIENT6(r.k)}::1`] : [])],
    };
    links.push(`${host}:${r.iface.name} ${r.gw}:lan`, `${r.gw}:cli ${r.client}:eth0`);
    if (core) links.push(`${r.gw}:core core`);
  }
  if (core) out.core = { kind: 'bridge', description: 'joins the routers, as the internet joins the gateways' };

  // ---- the tests: each local address answered through the interface it is reached on ----
  const tests: Record<string, unknown>[] = [];
  for (const r of routers) {
    if (!r.iface.up) { notes.push(`${r.iface.name} is down: no test for its addresses`); continue; }
    for (const a of r.iface.addresses) {
      const routerHas = lanAddrs.get(r.gw)!.some((x) => parseCidr(x)!.family === a.family);
      if (!routerHas) continue;
      // where the machine has no route off its subnets in this family, only its neighbours can reach it
      const from = offLink[a.family] ? r.client : r.gw;
      tests.push({
        name: `replies to ${a.address} leave through ${r.iface.name}${from === r.gw ? ` (from ${r.iface.name}'s subnet: no IPv${a.family} route leads off it)` : ''}`,
        ping: { from, to: a.address, count: 2 },
        expect: { 'reply-via': `${host}:${r.iface.name}` },
      });
    }
  }
  const labName = `${name(snap.name, 'host')}-import`.slice(0, 32).replace(/-+$/, '');
  const lab: Record<string, unknown> = {
    name: LAB_NAME.test(labName) ? labName : 'imported-host',
    description: `Made by nslab import from a snapshot of ${snap.name} (${snap.source}, taken ${snap.taken}): ${host} with its addresses, `
      + `routes, rules and sysctls as they were; a router per interface holding the gateway addresses its routes use there, a client beyond each${core ? ', the routers joined by a core bridge' : ''}. `
      + 'The tests say that replies leave through the interface the request came in on.',
    nodes: out,
    links,
    stages: [{
      name: 'as in the snapshot',
      ...(stageRoutes.length ? { description: 'routes that take the place of the kernel\'s own subnet routes (a stage replaces, the base only adds)', apply: { [host]: { routes: stageRoutes } } } : {}),
      tests,
    }],
  };
  return { lab, notes, host };
}

const addrList = (cs: Cidr[]) => (cs.length === 1 ? cs[0]!.text : cs.map((c) => c.text));

function uniqueName(base: string, taken: Record<string, unknown>, host: string): string {
  let n = base.slice(0, 32);
  for (let k = 2; n in taken || n === host || n === 'core'; k++) n = `${base.slice(0, 29)}-${k}`;
  return n;
}

/** An address on the subnet for a router where the machine's routes name no gateway: the last (IPv4) or first (IPv6) one free. */
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
    for (let i = size - 1; i >= 0 && carry; i--) { const v = b[i]! + carry; b[i] = v & 255; carry = v >> 8; }
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

/** One route as after `ip route add`; undefined for what the kernel makes itself; a note for what the lab cannot hold. */
function routeText(r: IpRoute, fam: Family, tableOf: (t?: string) => number | undefined, tableWord: (id: number) => string | undefined, kept: Set<string>): string | Note | undefined {
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

const DEFAULT_RULES: [number, string][] = [[0, 'local'], [32766, 'main'], [32767, 'default']];

function ruleText(r: IpRule, fam: Family, tableOf: (t?: string) => number | undefined, tableWord: (id: number) => string | undefined, kept: Set<string>): string | Note | undefined {
  const selectors = ['dst', 'fwmark', 'iif', 'oif', 'tos', 'ipproto', 'sport', 'dport', 'not', 'uidrange', 'l3mdev'].some((k) => r[k] !== undefined) || (r.src && r.src !== 'all');
  if (!selectors && DEFAULT_RULES.some(([p, t]) => r.priority === p && r.table === t)) return undefined;
  const w = ['priority', String(r.priority)];
  if (r.not) w.push('not');
  if (r.src && r.src !== 'all') w.push('from', r.srclen !== undefined && r.srclen !== (fam === 6 ? 128 : 32) ? `${r.src}/${r.srclen}` : r.src);
  if (r.dst && r.dst !== 'all') w.push('to', r.dstlen !== undefined && r.dstlen !== (fam === 6 ? 128 : 32) ? `${r.dst}/${r.dstlen}` : r.dst);
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
    if (id === undefined) return { note: `rule ${r.priority} left out: table '${r.table}' has no number in the snapshot` };
    w.push('table', tableWord(id) ?? 'main');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

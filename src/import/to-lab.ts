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
import ipaddr from 'ipaddr.js';
import { inSubnet, networkOf, parseCidr, type Cidr } from '../lab/addr.js';
import { LAB_NAME } from '../lab/grammar.js';
import { routerPlan, type RouterPlan } from './addressing.js';
import { hostView } from './host-view.js';
import { hostInterfaces, type HostIface } from './interfaces.js';
import type { Ledger, Path } from './ledger.js';
import { nodeName, nodeTags } from './names.js';
import { hostRoutes, type Gateway } from './routes.js';
import { hostRules } from './rules.js';
import { said, type Snapshot } from './schema.js';
import { hostSysctls } from './sysctls.js';

export type { Origin, Path } from './ledger.js';

export interface Imported extends Ledger {
  lab: Record<string, unknown>;
  host: string;
}

/** The gateways on each subnet, found by the subnet (linear in gateways times the host's distinct prefix lengths). */
function gatewaysBySubnet(gateways: Gateway[], hostAddrs: Cidr[], owned: Set<string>) {
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

  // ---- tables, and the node as the checks see it; routes, rules, sysctls ----
  const hv = hostView(snap, host, { ifaces, lo }, ledger);
  const { tables } = hv;
  const { base: baseRoutes, stage: stageRoutes, gateways, offLink } = hostRoutes(snap, ifaces, hv, ledger);
  const rules = hostRules(snap, hv, ledger);
  const sysctl = hostSysctls(snap, host, kept, ledger);

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

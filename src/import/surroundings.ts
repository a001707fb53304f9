// What import invents around the machine, so that its replies have somewhere to go: for each interface a router
// (gw-TAG, names.ts) on the interface's subnets, holding the gateway addresses the machine's routes use there (or a
// free address of each subnet where they name none), and a client beyond it (client-TAG); with more than one
// interface, a core router joining the routers, so that a reply the machine sends out of the "wrong" interface still
// arrives, as on the internet. The addresses of the clients' and the core's links are addressing.ts's plan: each
// router reaches every client through one aggregate route via the core, which has one route per client, so the lab
// grows linearly with the machine's interfaces.
import ipaddr from 'ipaddr.js';
import { inSubnet, networkOf, type Cidr } from '../lab/addr.js';
import { routerPlan, type RouterPlan } from './addressing.js';
import type { HostIface, HostInterfaces } from './interfaces.js';
import type { Ledger } from './ledger.js';
import { nodeTags } from './names.js';
import { linkLocal6, type Gateway } from './routes.js';
import { said } from './schema.js';

/** The router beside the K-th interface of the machine, and the client beyond it. */
export interface Router {
  iface: HostIface;
  gw: string;
  client: string;
  k: number;
  /** The router's addresses on the interface's subnets. */
  lan: string[];
  plan: RouterPlan;
}

export interface Surroundings {
  routers: Router[];
  /** Whether there is a core router (more than one interface). */
  core: boolean;
  /** The routers, clients and core, in the order the lab lists them after the machine. */
  nodes: Record<string, unknown>;
  links: string[];
}

/** The nodes and links around HOST; CORE names its core router. */
export function surroundings(
  host: string,
  coreName: string,
  { ifaces, lo }: HostInterfaces,
  gateways: Gateway[],
  ledger: Ledger,
): Surroundings {
  const hostAddrs = [...ifaces.flatMap((i) => i.addresses), ...lo.map((x) => x.cidr)];
  const taken = (n: string) => n === host || n === coreName;
  const tags = nodeTags(
    ifaces.map((i) => i.name),
    taken,
  );
  const owned = new Set(hostAddrs.map((a) => a.address));
  const onSubnet = gatewaysBySubnet(gateways, hostAddrs, owned);
  const core = ifaces.length > 1;
  const any6 = ifaces.some((i) => i.addresses.some((a) => a.family === 6));
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
    // an IPv6 link-local gateway (`via fe80::1 dev eth0`, from router advertisements) is on the link its route names
    for (const g of gateways)
      if (g.family === 6 && linkLocal6(g.via) && g.dev === iface.name && !owned.has(g.via)) {
        owned.add(g.via);
        lan.push(`${g.via}/64`);
      }
    const v6 = iface.addresses.some((a) => a.family === 6);
    return { iface, gw: `gw-${tags[k]}`, client: `client-${tags[k]}`, k, lan, plan: routerPlan(k, v6, core && any6) };
  });
  for (const r of routers)
    if (!r.lan.length)
      ledger.notes.push(`no address for ${r.gw} on ${r.iface.name}'s subnets (all taken, or /31 and smaller)`);
  const { origins } = ledger;
  const nodes: Record<string, unknown> = {};
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
    nodes[r.gw] = {
      description: `stands in for the gateways on ${host}:${r.iface.name}'s subnets`,
      forwarding: true,
      interfaces: ifs,
      ...(routes.length ? { routes } : {}),
    };
    nodes[r.client] = {
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
    nodes[coreName] = { description, forwarding: true, interfaces: coreInterfaces, routes: coreRoutes };
  }
  return { routers, core, nodes, links };
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

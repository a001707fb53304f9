// A node's final configuration after its base settings and the stages up to
// one: what `nslab export` writes in a distribution's format. It is folded from
// the checked model the way the plan applies it (base routes added, a stage's
// routes replacing those with the same kernel key, rules added, interfaces
// taken up and down), so it says what the lab's kernel ended up with.
import { UsageError } from '../errors.js';
import { networkOf, parseAddress, parsePrefix, inSubnet, type Cidr, type Family } from '../lab/addr.js';
import { routeKey } from '../lab/iproute.js';
import type { LabModel, Source } from '../lab/model.js';
import { stagesUpTo } from '../plan/build.js';

export interface FinalInterface {
  name: string;
  addresses: Cidr[];
  up: boolean;
  mtu?: number;
  mac?: string;
}

export interface NextHop {
  via?: string;
  dev?: string;
  weight?: number;
  onlink: boolean;
  realms?: string;
}

/** A route metric (`mtu 1400`, `initcwnd 10`, `mtu lock 1400`): its keyword, value and whether it is locked. */
export interface RouteMetric {
  name: string;
  value: string;
  lock: boolean;
}

/** A route taken apart: every keyword the lab's grammar takes, by name. */
export interface FinalRoute {
  family: Family;
  /** The words after `ip route add`, as the lab checked them (table names already numbers). */
  args: string[];
  /** Where the lab file writes it. */
  at?: Source;
  type: string;
  dest: string;
  via?: string;
  dev?: string;
  src?: string;
  /** The source prefix of an IPv6 source-specific route (`from PREFIX`). */
  from?: string;
  metric?: number;
  table?: number;
  scope?: string;
  onlink: boolean;
  protocol?: string;
  tos?: string;
  /** The IPv6 router preference (`pref low|medium|high`). */
  pref?: string;
  realms?: string;
  expires?: string;
  /** mtu, advmss, hoplimit, initcwnd, initrwnd, window, cwnd, rtt, rttvar, ssthresh, reordering, features, quickack, fastopen_no_cookie. */
  metrics: RouteMetric[];
  nexthops: NextHop[];
  /** The interface whose configuration carries the route (its dev, else the one its gateway is on). */
  owner: string;
  /**
   * The interfaces that must be up, with their addresses, before the kernel takes the route: its devices, those of
   * its gateways and of its src. A format that adds routes as each interface comes up adds it with the last of them.
   */
  needs: string[];
  /**
   * The same route to the kernel as the one it adds itself for an address's subnet: `ip route add` refuses it,
   * `replace` takes it.
   */
  replacesKernel: boolean;
  /**
   * The interface carrying it (its owner) has no address of the route's family: a format that configures an
   * interface's routes only with its addresses (NetworkManager's IPv4) cannot say it.
   */
  ownerUnaddressed: boolean;
}

/** A route metric's value, by keyword. */
export const metricOf = (r: FinalRoute, name: string) => r.metrics.find((m) => m.name === name);

/** The ways a rule ends: look up a table, jump to a later rule, do nothing, or drop the packet. */
export type RuleAction = 'table' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

export interface FinalRule {
  family: Family;
  /** The words after `ip rule add`, with `priority N` first: the priority the kernel gave it in the lab. */
  args: string[];
  at?: Source;
  priority: number;
  from?: string;
  to?: string;
  table?: number;
  /** The mark, and its mask when one is written (`fwmark 0x1/0xff`). */
  fwmark?: string;
  fwmask?: string;
  iif?: string;
  oif?: string;
  tos?: string;
  not: boolean;
  action: RuleAction;
  /** The priority a `goto` rule jumps to. */
  goto?: number;
  /** The IP protocol, as a number. */
  ipproto?: string;
  /** A port or a range `A-B`. */
  sport?: string;
  dport?: string;
  uidrange?: string;
  suppressPrefixlength?: number;
  suppressIfgroup?: number;
  realms?: string;
  protocol?: string;
  owner: string;
}

export interface FinalNode {
  lab: string;
  node: string;
  stage?: string;
  stages: string[];
  interfaces: FinalInterface[];
  routes: FinalRoute[];
  rules: FinalRule[];
  /** Table names the node's routes and rules use, by id. */
  tables: { name: string; id: number }[];
  sysctl: [string, string][];
  /** What the lab configures on the node that a network configuration does not carry (nftables, services). */
  notExported: string[];
}

const ROUTE_TYPES = [
  'unicast',
  'local',
  'broadcast',
  'multicast',
  'throw',
  'unreachable',
  'prohibit',
  'blackhole',
  'anycast',
];

export function finalNode(lab: LabModel, nodeName: string, stage?: string): FinalNode {
  const node = lab.nodes.find((n) => n.name === nodeName);
  if (!node)
    throw new UsageError(
      `lab '${lab.name}' has no node '${nodeName}'`,
      `nodes: ${lab.nodes
        .filter((n) => n.kind === 'host')
        .map((n) => n.name)
        .join(', ')}`,
    );
  if (node.kind === 'bridge')
    throw new UsageError(`node '${nodeName}' is a bridge`, 'a bridge node stands for a switch: export a host');
  const stages = stagesUpTo(lab, stage);
  const ifaces = new Map<string, FinalInterface>();
  for (const i of node.interfaces)
    ifaces.set(i.name, {
      name: i.name,
      addresses: [...i.addresses],
      up: i.up,
      ...(i.mtu ? { mtu: i.mtu } : {}),
      ...(i.mac ? { mac: i.mac } : {}),
    });
  const routes = new Map<string, { args: string[]; family: Family; at: Source }>();
  const rules: { args: string[]; family: Family; priority: number; at: Source }[] = [];
  const sysctl = new Map<string, string>();
  const notExported = new Set<string>();
  const prios: Record<Family, number[]> = { 4: [0, 32766, 32767], 6: [0, 32766] };
  const addRule = (args: string[], family: Family, at: Source) => {
    const i = args.indexOf('priority');
    let priority: number;
    if (i >= 0) priority = Number(args[i + 1]);
    else {
      // the kernel's choice for a rule without one: one less than the first rule after priority 0's
      const sorted = [...prios[family]].sort((a, b) => a - b);
      const second = sorted.find((p) => p > 0);
      priority = second !== undefined ? second - 1 : 0;
    }
    const rest = i >= 0 ? [...args.slice(0, i), ...args.slice(i + 2)] : args;
    if (rules.some((r) => r.family === family && r.priority === priority && r.args.join(' ') === rest.join(' ')))
      return; // the kernel refuses a duplicate
    prios[family].push(priority);
    rules.push({ args: rest, family, priority, at });
  };
  const configs = [node.config, ...stages.map((s) => s.apply.get(nodeName)).filter((c) => c !== undefined)];
  configs.forEach((c, k) => {
    const isBase = k === 0;
    if (!isBase) for (const a of c.addresses) ifaces.get(a.iface)?.addresses.push(a.cidr);
    for (const i of c.interfaces) {
      const f = ifaces.get(i.name);
      if (f && i.mtu) f.mtu = i.mtu;
      if (f && i.mac) f.mac = i.mac;
    }
    for (const n of c.down) ifaces.get(n)!.up = false;
    for (const n of c.up) ifaces.get(n)!.up = true;
    for (const r of c.routes) routes.set(routeKey(r), { args: r.args, family: r.family, at: r.at });
    for (const r of c.rules) addRule(r.args, r.family, r.at);
    for (const [key, v] of c.sysctl) sysctl.set(key, v);
    if (c.nftables) notExported.add('nftables ruleset');
    if (c.masquerade.length) notExported.add(`masquerade on ${c.masquerade.join(', ')} (an nftables rule)`);
    for (const s of c.services) notExported.add(`service ${s.name}`);
  });
  const interfaces = [...ifaces.values()];
  const kernelKeys = new Set<string>();
  for (const i of interfaces)
    for (const a of i.addresses)
      if (a.family === 4 && i.name !== 'lo' && a.prefix < 32)
        kernelKeys.add(routeKey({ args: [networkOf(a), 'dev', i.name], family: 4 }));
  const finalRoutes = [...routes.entries()].map(([key, r]) => ({
    ...parseRoute(r.args, r.family, interfaces, kernelKeys.has(key)),
    at: r.at,
  }));
  const finalRules = rules.map((r) => ({ ...parseRule(r.args, r.family, r.priority, interfaces), at: r.at }));
  const used = new Set<number>(
    [...finalRoutes.map((r) => r.table), ...finalRules.map((r) => r.table)].filter((t): t is number => t !== undefined),
  );
  const tables = Object.entries(node.tables)
    .filter(([, id]) => used.has(id))
    .map(([name, id]) => ({ name, id }))
    .sort((a, b) => a.id - b.id);
  return {
    lab: lab.name,
    node: nodeName,
    stage,
    stages: stages.map((s) => s.name),
    interfaces,
    routes: finalRoutes,
    rules: finalRules,
    tables,
    sysctl: [...sysctl.entries()],
    notExported: [...notExported],
  };
}

/** The interface a gateway is reached through: the one with a subnet holding it. */
function ifaceOf(addr: string, interfaces: FinalInterface[]): string | undefined {
  return interfaces.find((i) => i.name !== 'lo' && i.addresses.some((c) => inSubnet(addr, c)))?.name;
}

/** The interface whose address is in a rule's `from` prefix. */
function ifaceOwning(prefix: string, interfaces: FinalInterface[]): string | undefined {
  const p = parsePrefix(prefix);
  if (!p) return undefined;
  return interfaces.find((i) => i.addresses.some((c) => c.family === p.family && inSubnet(c.address, p)))?.name;
}

const firstIface = (interfaces: FinalInterface[]) => interfaces.find((i) => i.name !== 'lo')?.name ?? 'lo';

/** Route keywords whose value is a metric of the route (RTA_METRICS), lockable or not. */
const METRICS = [
  'mtu',
  'advmss',
  'hoplimit',
  'initcwnd',
  'initrwnd',
  'window',
  'cwnd',
  'rtt',
  'rttvar',
  'ssthresh',
  'reordering',
  'features',
  'quickack',
  'fastopen_no_cookie',
];

/**
 * A route as the lab's grammar spells it out (src/lab/iproute.ts: every keyword in full, table names as numbers):
 * each keyword by name. A keyword the grammar does not write out cannot reach here; one that does but is not known
 * below is an error, never dropped in silence.
 */
export function parseRoute(
  args: string[],
  family: Family,
  interfaces: FinalInterface[],
  replacesKernel: boolean,
): FinalRoute {
  let i = 0;
  const r: FinalRoute = {
    family,
    args,
    type: 'unicast',
    dest: '',
    onlink: false,
    metrics: [],
    nexthops: [],
    owner: '',
    needs: [],
    replacesKernel,
    ownerUnaddressed: false,
  };
  if (ROUTE_TYPES.includes(args[0]!)) r.type = args[i++]!;
  r.dest = args[i++]!;
  let hop: NextHop | undefined;
  while (i < args.length) {
    const kw = args[i]!;
    if (kw === 'nexthop') {
      hop = { onlink: false };
      r.nexthops.push(hop);
      i++;
      continue;
    }
    if (kw === 'onlink') {
      if (hop) hop.onlink = true;
      else r.onlink = true;
      i++;
      continue;
    }
    const v = args[i + 1]!;
    i += 2;
    if (hop) {
      if (kw === 'weight') hop.weight = Number(v);
      else if (kw === 'via' || kw === 'dev' || kw === 'realms') hop[kw] = v;
      else throw new Error(`export: unknown next-hop keyword '${kw}' in: ${args.join(' ')}`);
      continue;
    }
    if (METRICS.includes(kw)) {
      const lock = v === 'lock';
      r.metrics.push({ name: kw, value: lock ? args[i++]! : v, lock });
      continue;
    }
    switch (kw) {
      case 'via':
      case 'dev':
      case 'src':
      case 'from':
      case 'scope':
      case 'protocol':
      case 'pref':
      case 'realms':
      case 'expires':
        r[kw] = v;
        break;
      case 'tos':
      case 'dsfield':
        r.tos = v;
        break;
      case 'metric':
        r.metric = Number(v);
        break;
      case 'table':
        r.table = Number(v);
        break;
      default:
        throw new Error(`export: unknown route keyword '${kw}' in: ${args.join(' ')}`);
    }
  }
  if (r.table === 254) delete r.table;
  // as ip route add: these types go to table local unless a table is named (the formats that take a type default to
  // it too, but NM does not)
  if (['local', 'broadcast', 'anycast'].includes(r.type) && r.table === undefined) r.table = 255;
  r.owner =
    r.dev ??
    (r.via && ifaceOf(r.via, interfaces)) ??
    r.nexthops.map((h) => h.dev ?? (h.via && ifaceOf(h.via, interfaces))).find(Boolean) ??
    (r.src && ifaceOwning(r.src, interfaces)) ??
    firstIface(interfaces);
  const gw = (a?: string) => (a ? ifaceOf(a, interfaces) : undefined);
  r.ownerUnaddressed =
    r.owner !== 'lo' && !interfaces.find((i) => i.name === r.owner)?.addresses.some((a) => a.family === family);
  r.needs = [
    ...new Set(
      [
        r.owner,
        r.dev,
        gw(r.via),
        r.src && ifaceOwning(r.src, interfaces),
        ...r.nexthops.flatMap((h) => [h.dev, gw(h.via)]),
      ].filter((x): x is string => !!x),
    ),
  ];
  return r;
}

/** Of the interfaces a route needs, the one brought up last in this order: the route goes with it. */
export function lastNeeded(r: FinalRoute, order: string[]): string {
  return [...r.needs].sort((a, b) => order.indexOf(a) - order.indexOf(b)).at(-1) ?? r.owner;
}

const ACTIONS = ['blackhole', 'unreachable', 'prohibit', 'nop'] as const;

/** A rule as the lab's grammar spells it out, each keyword by name (as parseRoute). */
export function parseRule(args: string[], family: Family, priority: number, interfaces: FinalInterface[]): FinalRule {
  const r: FinalRule = {
    family,
    args: ['priority', String(priority), ...args],
    priority,
    not: false,
    action: 'table',
    owner: '',
  };
  for (let i = 0; i < args.length;) {
    const kw = args[i]!;
    if (kw === 'not') {
      r.not = true;
      i++;
      continue;
    }
    if ((ACTIONS as readonly string[]).includes(kw)) {
      r.action = kw as RuleAction;
      i++;
      continue;
    }
    const v = args[i + 1]!;
    i += 2;
    switch (kw) {
      case 'from':
      case 'to':
        if (!['all', 'any', 'default'].includes(v)) r[kw] = v;
        break;
      case 'table':
        r.table = Number(v);
        break;
      case 'fwmark': {
        const [mark, mask] = v.split('/');
        r.fwmark = mark;
        if (mask !== undefined) r.fwmask = mask;
        break;
      }
      case 'tos':
      case 'dsfield':
        r.tos = v;
        break;
      case 'goto':
        r.action = 'goto';
        r.goto = Number(v);
        break;
      case 'suppress_prefixlength':
        r.suppressPrefixlength = Number(v);
        break;
      case 'suppress_ifgroup':
        r.suppressIfgroup = Number(v);
        break;
      case 'iif':
      case 'oif':
      case 'ipproto':
      case 'sport':
      case 'dport':
      case 'uidrange':
      case 'realms':
      case 'protocol':
        r[kw] = v;
        break;
      case 'priority':
        break; // taken out before: args[0..1] of r.args
      default:
        throw new Error(`export: unknown rule keyword '${kw}' in: ${args.join(' ')}`);
    }
  }
  // ip rule add without an action or a table looks up main
  if (r.action === 'table' && r.table === undefined) r.table = 254;
  const byAddr = (p?: string) => (p && parseAddress(p.split('/')[0]!) ? ifaceOwning(p, interfaces) : undefined);
  r.owner =
    byAddr(r.from) ??
    r.iif ??
    r.oif ??
    (r.to && parseAddress(r.to.split('/')[0]!) ? ifaceOf(r.to.split('/')[0]!, interfaces) : undefined) ??
    firstIface(interfaces);
  return r;
}

/** A table id, with its name as a comment where the lab named it. */
export function tableLabel(node: FinalNode, id: number | undefined): string {
  const name = node.tables.find((t) => t.id === id)?.name;
  return name ? `${id} (${name})` : String(id);
}

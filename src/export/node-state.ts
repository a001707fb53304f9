// A node's final configuration after its base settings and the stages up to
// one: what `nslab export` writes in a distribution's format. It is folded from
// the checked model the way the plan applies it (base routes added, a stage's
// routes replacing those with the same kernel key, rules added, interfaces
// taken up and down), so it says what the lab's kernel ended up with.
import { UsageError } from '../errors.js';
import { networkOf, parseAddress, parsePrefix, inSubnet, type Cidr, type Family } from '../lab/addr.js';
import { routeKey } from '../lab/iproute.js';
import type { LabModel } from '../lab/model.js';
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
}

/** A route taken apart: the words every format knows, and the rest as written. */
export interface FinalRoute {
  family: Family;
  /** The words after `ip route add`, as the lab checked them (table names already numbers). */
  args: string[];
  type: string;
  dest: string;
  via?: string;
  dev?: string;
  src?: string;
  metric?: number;
  table?: number;
  scope?: string;
  onlink: boolean;
  mtu?: string;
  protocol?: string;
  nexthops: NextHop[];
  /** Other keywords and values (as pairs), which not every format can say. */
  extra: string[];
  /** The interface whose configuration carries the route (its dev, else the one its gateway is on). */
  owner: string;
  /**
   * The same route to the kernel as the one it adds itself for an address's subnet: `ip route add` refuses it,
   * `replace` takes it.
   */
  replacesKernel: boolean;
}

export interface FinalRule {
  family: Family;
  /** The words after `ip rule add`, with `priority N` first: the priority the kernel gave it in the lab. */
  args: string[];
  priority: number;
  from?: string;
  to?: string;
  table?: number;
  fwmark?: string;
  iif?: string;
  oif?: string;
  tos?: string;
  not: boolean;
  /** unreachable, blackhole, prohibit: a rule that ends the lookup instead of naming a table. */
  action?: string;
  extra: string[];
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
  const routes = new Map<string, { args: string[]; family: Family }>();
  const rules: { args: string[]; family: Family; priority: number }[] = [];
  const sysctl = new Map<string, string>();
  const notExported = new Set<string>();
  const prios: Record<Family, number[]> = { 4: [0, 32766, 32767], 6: [0, 32766] };
  const addRule = (args: string[], family: Family) => {
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
    rules.push({ args: rest, family, priority });
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
    for (const r of c.routes) routes.set(routeKey(r), { args: r.args, family: r.family });
    for (const r of c.rules) addRule(r.args, r.family);
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
  const finalRoutes = [...routes.entries()].map(([key, r]) =>
    parseRoute(r.args, r.family, interfaces, kernelKeys.has(key)),
  );
  const finalRules = rules.map((r) => parseRule(r.args, r.family, r.priority, interfaces));
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

function parseRoute(args: string[], family: Family, interfaces: FinalInterface[], replacesKernel: boolean): FinalRoute {
  let i = 0;
  const r: FinalRoute = {
    family,
    args,
    type: 'unicast',
    dest: '',
    onlink: false,
    nexthops: [],
    extra: [],
    owner: '',
    replacesKernel,
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
    if (hop && (kw === 'via' || kw === 'dev' || kw === 'weight')) {
      if (kw === 'weight') hop.weight = Number(v);
      else hop[kw] = v;
      i += 2;
      continue;
    }
    if (LOCKABLE_LOCK(args, i)) {
      r.extra.push(kw, 'lock', args[i + 2]!);
      i += 3;
      continue;
    }
    switch (kw) {
      case 'via':
        r.via = v;
        break;
      case 'dev':
        r.dev = v;
        break;
      case 'src':
        r.src = v;
        break;
      case 'metric':
        r.metric = Number(v);
        break;
      case 'table':
        r.table = Number(v);
        break;
      case 'scope':
        r.scope = v;
        break;
      case 'mtu':
        r.mtu = v;
        break;
      case 'protocol':
        r.protocol = v;
        break;
      default:
        r.extra.push(kw, v);
    }
    i += 2;
  }
  if (r.table === 254) delete r.table;
  r.owner =
    r.dev ??
    (r.via && ifaceOf(r.via, interfaces)) ??
    r.nexthops.map((h) => h.dev ?? (h.via && ifaceOf(h.via, interfaces))).find(Boolean) ??
    (r.src && ifaceOwning(r.src, interfaces)) ??
    firstIface(interfaces);
  return r;
}

const LOCKABLE_LOCK = (args: string[], i: number) => args[i + 1] === 'lock' && args[i + 2] !== undefined;

function parseRule(args: string[], family: Family, priority: number, interfaces: FinalInterface[]): FinalRule {
  const r: FinalRule = {
    family,
    args: ['priority', String(priority), ...args],
    priority,
    not: false,
    extra: [],
    owner: '',
  };
  for (let i = 0; i < args.length;) {
    const kw = args[i]!;
    if (kw === 'not') {
      r.not = true;
      i++;
      continue;
    }
    if (['blackhole', 'unreachable', 'prohibit', 'nop'].includes(kw)) {
      r.action = kw;
      i++;
      continue;
    }
    const v = args[i + 1]!;
    switch (kw) {
      case 'from':
        r.from = v;
        break;
      case 'to':
        r.to = v;
        break;
      case 'table':
        r.table = Number(v);
        break;
      case 'fwmark':
        r.fwmark = v;
        break;
      case 'iif':
        r.iif = v;
        break;
      case 'oif':
        r.oif = v;
        break;
      case 'tos':
      case 'dsfield':
        r.tos = v;
        break;
      default:
        r.extra.push(kw, v);
    }
    i += 2;
  }
  if (r.from && ['all', 'any', 'default'].includes(r.from)) delete r.from;
  if (r.to && ['all', 'any', 'default'].includes(r.to)) delete r.to;
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

// Known gaps: to be fixed in src/lab, then removed from here.
//
// The fuzz property is strict: validation never throws, a failed validation
// gives located one-line problems, and a lab that validates comes up. Each gap
// below is a case the fuzzer found (or that follows the same path and that the
// fuzzer can reach) where that does not hold today. The property tolerates a
// failure only when it is exactly one of these: the error text of the failing
// tool AND the construct in the lab that causes it must both be there. Anything
// else fails the test, printing the mutated lab, the error and the seed.
// When src/lab is fixed, delete the entry: the fuzz test then checks the fix.
import type { Problem } from '../../src/errors.js';
import { networkOf, parsePrefix, type Cidr } from '../../src/lab/addr.js';
import type { LabModel, NodeConfig } from '../../src/lab/model.js';
import { LABS } from './lab-mutations.js';

export interface UpFailure {
  model: LabModel;
  /** The node the failing command ran in (CommandError.node). */
  node?: string;
  /** The whole error message. */
  message: string;
}

export interface KnownGap {
  id: string;
  /** The smallest lab part that shows it (with nodes a and b linked by a:eth0 b:eth0, 10.0.0.1/24 and 10.0.0.2/24). */
  minimal: string;
  /** What happens. */
  what: string;
  kind: 'problem' | 'up';
  matchesProblem?: (p: Problem) => boolean;
  matchesUp?: (f: UpFailure) => boolean;
}

const IP_TYPES = [
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

/** Everything the lab configures in one node: base settings and every stage's apply (up applies all stages). */
function configsOf(m: LabModel, node: string | undefined): { base?: NodeConfig; all: NodeConfig[] } {
  const n = m.nodes.find((x) => x.name === node);
  const stages = m.stages.flatMap((s) => (node && s.apply.has(node) ? [s.apply.get(node)!] : []));
  return { base: n?.config, all: [...(n ? [n.config] : []), ...stages] };
}
/** Every address the node has, base and stages, with lo's. */
function addressesOf(f: UpFailure): { iface: string; cidr: Cidr }[] {
  const n = f.model.nodes.find((x) => x.name === f.node);
  return [
    ...(n?.interfaces.flatMap((i) => i.addresses.map((cidr) => ({ iface: i.name, cidr }))) ?? []),
    ...configsOf(f.model, f.node).all.flatMap((c) => c.addresses),
  ];
}
const valueOf = (args: string[], kw: string) => {
  const i = args.indexOf(kw);
  return i >= 0 ? args[i + 1] : undefined;
};
const destOf = (args: string[]) => {
  const a = args.filter((t) => !IP_TYPES.includes(t) && t !== 'to');
  return a[0];
};
const err = (f: UpFailure, re: RegExp) => re.test(f.message);

/** (key, value) pairs the bundled labs set: a sysctl failure on one of these is not the lab's. */
let bundledSysctl: Set<string> | undefined;
function bundledSysctlPair(pair: string): boolean {
  if (!bundledSysctl) {
    bundledSysctl = new Set();
    for (const lab of Object.values<any>(LABS))
      for (const n of Object.values<any>(lab.nodes ?? {}))
        for (const [k, v] of Object.entries(n?.sysctl ?? {})) bundledSysctl.add(`${k}=${v}`);
  }
  return bundledSysctl.has(pair);
}

export const knownGaps: KnownGap[] = [
  {
    id: 'stage-route-replaces-connected-route',
    kind: 'up',
    minimal:
      "stages: [{ name: s1, apply: { a: { routes: ['10.0.0.0/24 dev lo', '10.9.0.0/16 via 10.0.0.2 dev eth0'] } } }]",
    what: "validate: ok (eth0's subnet still counts as connected); up: the stage's `ip route replace` replaced the kernel's connected route, then Nexthop has invalid gateway",
    matchesUp: (f) => {
      if (!err(f, /Nexthop has invalid gateway/)) return false;
      const stageRoutes = configsOf(f.model, f.node)
        .all.slice(1)
        .flatMap((c) => c.routes.map((r) => r.args));
      const connected = addressesOf(f).filter((a) => a.iface !== 'lo');
      return stageRoutes.some((a) => {
        const d = destOf(a);
        const c = d && d !== 'default' ? parsePrefix(d) : undefined;
        return !!c && connected.some((x) => networkOf(x.cidr) === networkOf(c) && valueOf(a, 'dev') !== x.iface);
      });
    },
  },
  {
    id: 'sysctl-key-or-value-unchecked',
    kind: 'up',
    minimal:
      'a: { sysctl: { net.ipv4.fib_multipath_hash_policy: 7 } }   # or a misspelt key: net.ipv4.fib_multipath_hash_policys: 1',
    what: 'validate: ok (any net.* key, any word as value); up: sysctl: cannot stat /proc/sys/... / sysctl: setting key "...": Invalid argument',
    matchesUp: (f) => {
      const m =
        /sysctl: setting key "([^"]+)": Invalid argument/.exec(f.message) ??
        /sysctl: cannot stat \/proc\/sys\/(\S+): No such file/.exec(f.message);
      if (!m) return false;
      const key = m[1]!.includes('/') && !m[1]!.includes('.') ? m[1]!.replace(/\//g, '.') : m[1]!;
      const pairs = configsOf(f.model, f.node).all.flatMap((c) => c.sysctl);
      return pairs.some(
        ([k, v]) => (k === key || k.replace(/\//g, '.') === key.replace(/\//g, '.')) && !bundledSysctlPair(`${k}=${v}`),
      );
    },
  },
];

/** The known gap an `up` failure is, if any. */
export function knownUpGap(f: UpFailure): KnownGap | undefined {
  return knownGaps.find((g) => g.kind === 'up' && g.matchesUp!(f));
}

/** The known gap a malformed problem is, if any. */
export function knownProblemGap(p: Problem): KnownGap | undefined {
  return knownGaps.find((g) => g.kind === 'problem' && g.matchesProblem!(p));
}

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
import { oneLine } from '../../src/errors.js';
import { inSubnet, networkOf, parseAddress, parsePrefix, type Cidr } from '../../src/lab/addr.js';
import type { LabModel, NodeConfig } from '../../src/lab/model.js';
import { rateBits } from '../../src/plan/shaping.js';
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

const BREAK = /[\n\r\u2028\u2029\u0085]/;
const IP_TYPES = ['unicast', 'local', 'broadcast', 'multicast', 'throw', 'unreachable', 'prohibit', 'blackhole', 'anycast'];

/** Everything the lab configures in one node: base settings and every stage's apply (up applies all stages). */
function configsOf(m: LabModel, node: string | undefined): { base?: NodeConfig; all: NodeConfig[] } {
  const n = m.nodes.find((x) => x.name === node);
  const stages = m.stages.flatMap((s) => (node && s.apply.has(node) ? [s.apply.get(node)!] : []));
  return { base: n?.config, all: [...(n ? [n.config] : []), ...stages] };
}
const routesOf = (f: UpFailure) => configsOf(f.model, f.node).all.flatMap((c) => c.routes.map((r) => r.args));
const rulesOf = (f: UpFailure) => configsOf(f.model, f.node).all.flatMap((c) => c.rules.map((r) => r.args));
const linesOf = (f: UpFailure) => [...routesOf(f), ...rulesOf(f)];
/** Every address the node has, base and stages, with lo's. */
function addressesOf(f: UpFailure): { iface: string; cidr: Cidr }[] {
  const n = f.model.nodes.find((x) => x.name === f.node);
  return [...(n?.interfaces.flatMap((i) => i.addresses.map((cidr) => ({ iface: i.name, cidr }))) ?? []),
    ...configsOf(f.model, f.node).all.flatMap((c) => c.addresses)];
}
const valueOf = (args: string[], kw: string) => { const i = args.indexOf(kw); return i >= 0 ? args[i + 1] : undefined; };
const typeOf = (args: string[]) => (IP_TYPES.includes(args[0]!) ? args[0]! : 'unicast');
const destOf = (args: string[]) => { const a = args.filter((t) => !IP_TYPES.includes(t) && t !== 'to'); return a[0]; };
const err = (f: UpFailure, re: RegExp) => re.test(f.message);

function hostBitsSet(dest: string | undefined): boolean {
  const c = dest && dest !== 'default' ? parsePrefix(dest) : undefined;
  return !!c && networkOf(c) !== `${c.address}/${c.prefix}`;
}

/** The key the kernel refuses a second `ip route add` for: family, table, destination, metric, tos. */
function routeKey(args: string[]): string | undefined {
  const dest = destOf(args);
  if (!dest) return undefined;
  const via = valueOf(args, 'via');
  const fam = dest === 'default' ? (via && via.includes(':') ? 6 : 4) : parsePrefix(dest)?.family;
  const c = dest === 'default' ? undefined : parsePrefix(dest);
  const net = dest === 'default' ? 'default' : c ? networkOf(c) : dest;
  const metric = valueOf(args, 'metric') ?? valueOf(args, 'preference') ?? valueOf(args, 'priority') ?? '';
  return `${fam} ${valueOf(args, 'table') ?? '254'} ${typeOf(args)} ${net === '0.0.0.0/0' || net === '::/0' ? 'default' : net} ${metric} ${valueOf(args, 'tos') ?? ''}`;
}

/** (key, value) pairs the bundled labs set: a sysctl failure on one of these is not the lab's. */
let bundledSysctl: Set<string> | undefined;
function bundledSysctlPair(pair: string): boolean {
  if (!bundledSysctl) {
    bundledSysctl = new Set();
    for (const lab of Object.values(LABS) as any[])
      for (const n of Object.values(lab.nodes ?? {}) as any[]) for (const [k, v] of Object.entries(n?.sysctl ?? {})) bundledSysctl.add(`${k}=${v}`);
  }
  return bundledSysctl.has(pair);
}

export const knownGaps: KnownGap[] = [
  {
    id: 'problem-message-raw-line-break',
    kind: 'problem',
    minimal: "nodes: { a: { routes: [\"a\\nb\"] } }   # or any unknown key, node, value echoed in a message",
    what: "a Problem's message or hint echoes lab content raw (route/rule text, unknown keys and node names, zod's \"got '...'\", suggest()'s lists), " +
      'so it can contain \\n, \\r, U+2028, U+2029 or U+0085; formatProblem escapes them, the Problem objects of the API do not',
    matchesProblem: (p) => (BREAK.test(p.message) || BREAK.test(p.hint ?? '')) && !BREAK.test(oneLine(p.message)) && !BREAK.test(oneLine(p.hint ?? '')),
  },
  {
    id: 'route-duplicate',
    kind: 'up',
    minimal: 'a: { routes: [default via 10.0.0.2, default via 10.0.0.2] }   # also: [10.0.0.0/24 dev eth0], the connected route',
    what: 'validate: ok; up: RTNETLINK answers: File exists (base routes are added, not replaced)',
    matchesUp: (f) => {
      if (!err(f, /RTNETLINK answers: File exists/)) return false;
      const base = configsOf(f.model, f.node).base;
      const keys = (base?.routes ?? []).map((r) => routeKey(r.args));
      if (new Set(keys).size !== keys.length) return true;
      const connected = addressesOf(f).filter((a) => a.iface !== 'lo' && a.cidr.family === 4).map((a) => routeKey([networkOf(a.cidr)]));
      return keys.some((k) => connected.includes(k));
    },
  },
  {
    id: 'route-without-nexthop',
    kind: 'up',
    minimal: 'a: { routes: [10.9.0.0/16] }   # no dev, no via; also [default nexthop weight 1 nexthop via 10.0.0.2]',
    what: 'validate: ok; up: RTNETLINK answers: No such device',
    matchesUp: (f) => err(f, /RTNETLINK answers: No such device/)
      && routesOf(f).some((a) => !['blackhole', 'unreachable', 'prohibit', 'throw'].includes(typeOf(a))
        && (!['dev', 'via', 'nexthop', 'nhid'].some((k) => a.includes(k)) || a.join(' ').split(/\bnexthop\b/).slice(1).some((seg) => !/\b(via|dev)\b/.test(seg)))),
  },
  {
    id: 'route-destination-host-bits',
    kind: 'up',
    minimal: 'a: { routes: [10.9.0.1/16 via 10.0.0.2] }',
    what: 'validate: ok; up: Error: Invalid prefix for given prefix length.',
    matchesUp: (f) => err(f, /Invalid prefix for given prefix length/) && routesOf(f).some((a) => hostBitsSet(destOf(a))),
  },
  {
    id: 'route-type-with-nexthop',
    kind: 'up',
    minimal: 'a: { routes: [multicast default via 10.0.0.2] }   # also local/blackhole/broadcast ... with via or dev',
    what: 'validate: ok (gateways of non-unicast routes are not checked); up: Nexthop has invalid gateway / Route with host scope can not have a gateway / Gateway, device and multipath can not be specified for this route type',
    matchesUp: (f) => err(f, /Nexthop has invalid gateway|Route with host scope can not have a gateway|Gateway, device and multipath can not be specified for this route type/)
      && routesOf(f).some((a) => typeOf(a) !== 'unicast' && ['via', 'dev', 'nexthop'].some((k) => a.includes(k))),
  },
  {
    id: 'route-scope-with-gateway',
    kind: 'up',
    minimal: "a: { routes: ['10.9.0.0/16 via 10.0.0.2 scope host'] }   # likewise scope link, scope nowhere",
    what: 'validate: ok; up: Error: Route with host scope can not have a gateway. / Nexthop has invalid gateway. / Invalid scope.',
    matchesUp: (f) => err(f, /Route with host scope can not have a gateway|Nexthop has invalid gateway|Invalid scope/)
      && routesOf(f).some((a) => { const sc = valueOf(a, 'scope'); return sc !== undefined && sc !== 'global' && sc !== 'universe' && sc !== '0' && a.includes('via'); }),
  },
  {
    id: 'route-keyword-repeated-in-nexthop',
    kind: 'up',
    minimal: 'a: { routes: [default nexthop via 10.0.0.2 dev eth0 via 10.0.0.3 dev eth0] }   # the 2nd "nexthop" missing',
    what: 'validate: ok (the last via/dev wins in the check); up: Nexthop has invalid gateway (iproute2 pairs them otherwise)',
    matchesUp: (f) => err(f, /Nexthop has invalid gateway/) && routesOf(f).some((a) => {
      const scopes = a.join(' ').split(/\bnexthop\b/);
      return scopes.some((s) => (s.match(/\bvia\b/g)?.length ?? 0) > 1 || (s.match(/\bdev\b/g)?.length ?? 0) > 1);
    }),
  },
  {
    id: 'route-through-down-interface',
    kind: 'up',
    minimal: "stages: [{ name: s1, apply: { a: { down: [eth0] } } }, { name: s2, apply: { a: { routes: ['10.9.0.0/16 via 10.0.0.2'] } } }]   # or a: { interfaces: { eth0: { addresses: [10.0.0.1/24], up: false } }, routes: ['10.9.0.0/16 via 10.0.0.2'] }",
    what: 'validate: ok (interface state across stages is not tracked); up (all stages): Nexthop has invalid gateway / Device for nexthop is not up (a route with dev eth0)',
    matchesUp: (f) => {
      if (!err(f, /Nexthop has invalid gateway|Device for nexthop is not up/)) return false;
      // as the stages run: a stage's apply takes interfaces down and up, then writes its routes
      const down = new Set((f.model.nodes.find((n) => n.name === f.node)?.interfaces ?? []).filter((i) => !i.up).map((i) => i.name));
      const addrs = addressesOf(f);
      return configsOf(f.model, f.node).all.some((c) => {
        c.down.forEach((i) => down.add(i));
        c.up.forEach((i) => down.delete(i));
        const downNets = addrs.filter((a) => down.has(a.iface)).map((a) => a.cidr);
        return c.routes.some(({ args: a }) => a.some((t, i) => (t === 'dev' && down.has(a[i + 1]!))
          || (t === 'via' && !!parseAddress(a[i + 1] ?? '') && downNets.some((n) => inSubnet(a[i + 1]!, n)))));
      });
    },
  },
  {
    id: 'stage-route-replaces-connected-route',
    kind: 'up',
    minimal: "stages: [{ name: s1, apply: { a: { routes: ['10.0.0.0/24 dev lo', '10.9.0.0/16 via 10.0.0.2 dev eth0'] } } }]",
    what: "validate: ok (eth0's subnet still counts as connected); up: the stage's `ip route replace` replaced the kernel's connected route, then Nexthop has invalid gateway",
    matchesUp: (f) => {
      if (!err(f, /Nexthop has invalid gateway/)) return false;
      const stageRoutes = configsOf(f.model, f.node).all.slice(1).flatMap((c) => c.routes.map((r) => r.args));
      const connected = addressesOf(f).filter((a) => a.iface !== 'lo');
      return stageRoutes.some((a) => {
        const d = destOf(a); const c = d && d !== 'default' ? parsePrefix(d) : undefined;
        return !!c && connected.some((x) => networkOf(x.cidr) === networkOf(c) && valueOf(a, 'dev') !== x.iface);
      });
    },
  },
  {
    id: 'route-gateway-loopback',
    kind: 'up',
    minimal: 'a: { routes: [default via ::1] }',
    what: "validate: ok (lo's ::1/128 counts as a connected subnet); up: Error: Egress device can not be loopback device for this route.",
    matchesUp: (f) => err(f, /Egress device can not be loopback device|Nexthop has invalid gateway/)
      && routesOf(f).some((a) => a.some((t, i) => t === 'via' && /^(::1|127\.)/.test(a[i + 1] ?? ''))),
  },
  {
    id: 'route-onlink-without-dev-or-gateway',
    kind: 'up',
    minimal: 'a: { routes: [10.9.0.0/16 via 10.0.0.2 onlink] }   # or [10.9.0.0/16 onlink dev eth0]',
    what: 'validate: ok; up: Error: Nexthop device required for onlink. / Invalid flags for nexthop - PERVASIVE and ONLINK can not be set.',
    matchesUp: (f) => err(f, /Nexthop device required for onlink|PERVASIVE and ONLINK can not be set/)
      && routesOf(f).some((a) => a.includes('onlink') && (!a.includes('dev') || !a.includes('via'))),
  },
  {
    id: 'route-pervasive',
    kind: 'up',
    minimal: 'a: { routes: [10.9.0.0/16 via 10.0.0.2 pervasive] }',
    what: "validate: ok ('pervasive' is in ROUTE_FLAGS); up: Error: either \"to\" is duplicate, or \"pervasive\" is a garbage. (iproute2 6.1 has no such keyword)",
    matchesUp: (f) => err(f, /"pervasive" is a garbage|instead of "pervasive"/) && routesOf(f).some((a) => a.includes('pervasive')),
  },
  {
    id: 'route-empty-nexthop',
    kind: 'up',
    minimal: 'a: { routes: [default via 10.0.0.2 nexthop] }',
    what: 'validate: ok; up: Error: unexpected end of line after "nexthop"',
    matchesUp: (f) => err(f, /unexpected end of line after "nexthop"/) && routesOf(f).some((a) => a.at(-1) === 'nexthop'),
  },
  {
    id: 'route-src-family',
    kind: 'up',
    minimal: 'a: { interfaces: { eth0: [10.0.0.1/24, 2001:db8::1/64] }, routes: [2001:db8:9::/64 dev eth0 src 10.0.0.1] }',
    what: "validate: ok (src's family is not compared with the destination's); up: Error: inet6 address is expected rather than \"10.0.0.1\".",
    matchesUp: (f) => err(f, /inet6? address is expected rather than "(?!via")/) && routesOf(f).some((a) => {
      const d = destOf(a); const src = valueOf(a, 'src'); const via = valueOf(a, 'via');
      const fd = d && d !== 'default' ? parsePrefix(d)?.family : via ? parseAddress(via)?.family : 4;
      const fs = src ? parseAddress(src)?.family : undefined;
      return fd !== undefined && fs !== undefined && fd !== fs;
    }),
  },
  {
    id: 'route-rule-value-out-of-range',
    kind: 'up',
    minimal: "a: { routes: ['default via 10.0.0.2 metric 9999999999'] }   # likewise weight 999, scope 999, proto 999, proto eth0, hoplimit 999, realm 9999999999, tos 0xff, congctl eth0, nhid 5; " +
      "rules: ['tos 0xff table main'], ['ipproto tcp sport 2-1 table main'], ['uidrange 2000-1000 table main'], ['from 10.0.0.1 goto 5'], ['suppress_ifgroup x table main']",
    what: 'validate: ok (NUM is any 1-10 digits, weight 1-999, scope/proto any 1-3 digits or any name, tos any byte, ranges unordered, nhid/goto targets and congctl names unchecked); ' +
      'up: Error: argument "V" is wrong: "K" value is invalid / Invalid dsfield (tos): ECN bits must be 0 / Invalid sport|dport|uid range / Backward goto not supported / Nexthop id does not exist / Unknown tcp congestion algorithm',
    matchesUp: (f) => {
      const m = /argument "([^"]*)" is wrong: (?:invalid )?"([a-z_]+)"/i.exec(f.message);
      if (m) {
        const [, value, kw] = m;
        const names = kw === 'protocol' ? ['proto', 'protocol'] : kw === 'realm' ? ['realm', 'realms'] : kw === 'metric' ? ['metric', 'preference', 'priority'] : [kw!];
        return linesOf(f).some((a) => a.some((t, i) => names.includes(t) && (a[i + 1] === value || (a[i + 1] === 'lock' && a[i + 2] === value))));
      }
      if (err(f, /Invalid dsfield \(tos\): ECN bits must be 0/)) return linesOf(f).some((a) => ['tos', 'dsfield'].some((k) => { const v = valueOf(a, k); return v !== undefined && (Number(v) & 3) !== 0; }));
      const range = /Invalid (sport|dport|uid) range/.exec(f.message);
      if (range) {
        const kw = range[1] === 'uid' ? 'uidrange' : range[1]!;
        return rulesOf(f).some((a) => { const v = valueOf(a, kw)?.split('-').map(Number); return !!v && v.length === 2 && v[0]! > v[1]!; });
      }
      if (err(f, /Backward goto not supported/)) return rulesOf(f).some((a) => a.includes('goto'));
      if (err(f, /Nexthop id does not exist/)) return routesOf(f).some((a) => a.includes('nhid'));
      if (err(f, /Unknown tcp congestion algorithm/)) return routesOf(f).some((a) => a.includes('congctl'));
      return false;
    },
  },
  {
    id: 'route-via-family-word',
    kind: 'up',
    minimal: 'a: { routes: [10.9.0.0/16 via inet 10.0.0.2] }',
    what: "validate: ok, but checkRoute writes the gateway as 'via inet via 10.0.0.2' (args get 'via' twice); up: Error: inet address is expected rather than \"via\".",
    matchesUp: (f) => err(f, /inet6? address is expected rather than "via"/) && routesOf(f).some((a) => a.some((t, i) => t === 'via' && (a[i + 1] === 'inet' || a[i + 1] === 'inet6'))),
  },
  {
    id: 'route-via-and-nexthop-mixed',
    kind: 'up',
    minimal: 'a: { routes: [default via 10.0.0.2 nexthop dev eth0] }',
    what: 'validate: ok; up: Error: Nexthop gateway does not match RTA_GATEWAY or RTA_VIA.',
    matchesUp: (f) => err(f, /Nexthop gateway does not match RTA_GATEWAY or RTA_VIA/) && routesOf(f).some((a) => { const n = a.indexOf('nexthop'); const v = a.indexOf('via'); return n >= 0 && v >= 0 && v < n; }),
  },
  {
    id: 'rule-ipv6',
    kind: 'up',
    minimal: "a: { interfaces: { eth0: [10.0.0.1/24, 2001:db8::1/64] }, rules: ['from 2001:db8::1 table main'] }",
    what: "validate: ok; up: Error: Invalid source address. (a batch line is `rule add ...`, which iproute2 reads as IPv4: IPv6 rules need `ip -6 rule`)",
    matchesUp: (f) => err(f, /Invalid (source|destination) address/) && rulesOf(f).some((a) => ['from', 'to'].some((k) => { const v = valueOf(a, k); return !!v && v !== 'all' && parsePrefix(v)?.family === 6; })),
  },
  {
    id: 'rule-l3mdev-with-table',
    kind: 'up',
    minimal: "a: { rules: ['l3mdev table main'] }",
    what: 'validate: ok; up: table can not be specified for l3mdev rules',
    matchesUp: (f) => err(f, /table can not be specified for l3mdev rules/) && rulesOf(f).some((a) => a.includes('l3mdev') && (a.includes('table') || a.includes('lookup'))),
  },
  {
    id: 'sysctl-key-or-value-unchecked',
    kind: 'up',
    minimal: 'a: { sysctl: { net.ipv4.fib_multipath_hash_policy: 7 } }   # or a misspelt key: net.ipv4.fib_multipath_hash_policys: 1',
    what: 'validate: ok (any net.* key, any word as value); up: sysctl: cannot stat /proc/sys/... / sysctl: setting key "...": Invalid argument',
    matchesUp: (f) => {
      const m = /sysctl: setting key "([^"]+)": Invalid argument/.exec(f.message) ?? /sysctl: cannot stat \/proc\/sys\/(\S+): No such file/.exec(f.message);
      if (!m) return false;
      const key = m[1]!.includes('/') && !m[1]!.includes('.') ? m[1]!.replace(/\//g, '.') : m[1]!;
      const pairs = configsOf(f.model, f.node).all.flatMap((c) => c.sysctl);
      return pairs.some(([k, v]) => (k === key || k.replace(/\//g, '.') === key.replace(/\//g, '.')) && !bundledSysctlPair(`${k}=${v}`));
    },
  },
  {
    id: 'link-rate-out-of-tc-range',
    kind: 'up',
    minimal: 'links: [{ endpoints: [a:eth0, b:eth0], rate: 7bit }]   # or 999999999999tbit',
    what: 'validate: ok (any rate above zero); up: tbf: the "rate" parameter is mandatory. (below 1 byte/s) / tbf: illegal value for "burst" (huge rates)',
    matchesUp: (f) => err(f, /tbf: the "rate" parameter is mandatory|tbf: illegal value for "burst"/) && f.model.links.some((l) => {
      if (!l.rate) return false;
      const bits = rateBits(l.rate);
      const burst = Math.max(3200, Math.ceil(bits / 8 / 50)); // as src/plan/shaping.ts computes it
      return bits < 8 || !Number.isFinite(burst) || burst > 0xffffffff;
    }),
  },
  {
    id: 'mac-not-unicast',
    kind: 'up',
    minimal: "a: { interfaces: { eth0: { addresses: [10.0.0.1/24], mac: '01:00:5e:00:00:01' } } }   # or 00:00:00:00:00:00",
    what: 'validate: ok (any six hex pairs); up: RTNETLINK answers: Cannot assign requested address',
    matchesUp: (f) => err(f, /Cannot assign requested address/) && [...(f.model.nodes.find((n) => n.name === f.node)?.interfaces ?? []).map((i) => i.mac), ...configsOf(f.model, f.node).all.flatMap((c) => c.interfaces.map((i) => i.mac))]
      .some((mac) => mac !== undefined && ((parseInt(mac.slice(0, 2), 16) & 1) === 1 || /^(00:){5}00$/.test(mac))),
  },
  {
    id: 'ipv6-address-with-mtu-below-1280',
    kind: 'up',
    minimal: 'a: { interfaces: { eth0: { addresses: [10.0.0.1/24, 2001:db8::1/64], mtu: 1000 } } }   # or links: [{ endpoints: [...], mtu: 1000 }]',
    what: 'validate: ok; up: RTNETLINK answers: Invalid argument (the kernel disables IPv6 on a device with MTU < 1280)',
    matchesUp: (f) => err(f, /RTNETLINK answers: Invalid argument/) && (f.model.nodes.find((n) => n.name === f.node)?.interfaces ?? [])
      .some((i) => (i.mtu ?? 1500) < 1280 && addressesOf(f).some((a) => a.iface === i.name && a.cidr.family === 6)),
  },
  {
    id: 'ipv6-loopback-on-interface',
    kind: 'up',
    minimal: "a: { interfaces: { eth0: [10.0.0.1/24, '::1/128'] } }",
    what: 'validate: ok; up: Error: ipv6: Cannot assign loopback address on this device.',
    matchesUp: (f) => err(f, /Cannot assign loopback address on this device/) && addressesOf(f).some((a) => a.iface !== 'lo' && a.cidr.address === '::1'),
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

// What a route or rule is made of, construct by construct, and which formats can
// carry each: an export writes a node's routes and rules exactly, or refuses the
// ones with a construct its format cannot express, naming the construct and the
// formats that can. A line is written whole or not at all: never without the
// selector or the attribute a format lacks (that would install a different route
// or rule, often a catch-all).
import type { Family } from '../lab/addr.js';
import type { FinalRoute, FinalRule } from './node-state.js';

/**
 * A construct's id: `route:KEYWORD` or `rule:KEYWORD` for a keyword of ip route / ip rule, `sysctl:WHAT` for a
 * setting that bears on routes, and a few shapes that
 * are no single keyword (`route:multipath`, `rule:no-address`, `route:replaces-kernel`, `route:owner-unaddressed`).
 */
export type ConstructId = string;

export interface Construct {
  id: ConstructId;
  family: Family;
}

const LABELS: Record<string, string> = {
  'route:dev': 'a route through an interface without a gateway',
  'route:via': 'a route through a gateway',
  'route:via-link-local': 'a route through a link-local IPv6 gateway (fe80::/10)',
  'route:lo': 'a route through lo',
  'route:src': "a route's preferred source (src)",
  'route:from': "a source-specific route ('from PREFIX')",
  'route:metric': "a route's metric",
  'route:table': 'a route in a table of its own',
  'route:scope': "a route's scope (global, link or host)",
  'route:scope-site': 'a route of scope site',
  'route:scope-nowhere': 'a route of scope nowhere',
  'route:scope-number': 'a route scope given as a number',
  'route:onlink': 'onlink (a gateway on no connected subnet)',
  'route:protocol': "a route's protocol (proto)",
  'route:tos': "a route's tos",
  'route:pref': "an IPv6 route's router preference (pref)",
  'route:realms': "a route's realms",
  'route:expires': "a route's lifetime (expires)",
  'route:multipath': 'a multipath route (nexthop ... nexthop ...)',
  'route:nexthop-weight': "a next hop's weight",
  'route:nexthop-dev': 'a next hop without a gateway (nexthop dev IF)',
  'route:nexthop-onlink': 'a next hop with onlink',
  'route:nexthop-realms': "a next hop's realms",
  'route:replaces-kernel': "a route that takes the place of the kernel's own route to an address's subnet",
  'route:owner-unaddressed': 'a route through an interface without an address of its family',
  'rule:from': "a rule's source prefix (from)",
  'rule:to': "a rule's destination prefix (to)",
  'rule:no-address': 'a rule with neither from nor to',
  'rule:table': 'a rule looking up a table',
  'rule:not': "an inverted rule ('not')",
  'rule:fwmark': 'a firewall mark (fwmark)',
  'rule:fwmask': 'a firewall mark with a mask (fwmark M/MASK)',
  'rule:iif': 'an incoming interface (iif)',
  'rule:oif': 'an outgoing interface (oif)',
  'rule:tos': "a rule's tos",
  'rule:ipproto': 'an IP protocol (ipproto)',
  'rule:sport': 'a source port (sport)',
  'rule:sport-range': 'a source port range (sport A-B)',
  'rule:dport': 'a destination port (dport)',
  'rule:dport-range': 'a destination port range (dport A-B)',
  'rule:uidrange': 'a range of user ids (uidrange)',
  'rule:suppress_prefixlength': 'suppress_prefixlength',
  'rule:suppress_ifgroup': 'suppress_ifgroup',
  'rule:goto': 'a goto rule',
  'rule:nop': 'a nop rule',
  'rule:blackhole': 'a blackhole rule',
  'rule:unreachable': 'an unreachable rule',
  'rule:prohibit': 'a prohibit rule',
  'rule:realms': "a rule's realms",
  'rule:protocol': "a rule's protocol (proto)",
  'sysctl:ipv6-forwarding':
    "IPv6 forwarding on the node's interfaces (with it the kernel adds each subnet's router anycast route)",
};

/** A construct in words, with its family: "IPv6 an inverted rule ('not')" reads badly, so the family goes last. */
export function constructLabel(c: Construct): string {
  const [kind, name] = c.id.split(':') as [string, string];
  const label =
    LABELS[c.id] ??
    (kind === 'route' && name.startsWith('type-')
      ? `a ${name.slice(5)} route`
      : kind === 'route' && name.startsWith('lock-')
        ? `a locked route metric (${name.slice(5)} lock)`
        : kind === 'route'
          ? `a route's ${name}`
          : `a rule's ${name}`);
  return `${label}, IPv${c.family}`;
}

const isLinkLocal = (a: string) => /^fe[89ab]/i.test(a);

/** Every construct of a route, once each. */
export function routeConstructs(r: FinalRoute): Construct[] {
  const ids: string[] = [];
  if (r.type !== 'unicast') ids.push(`route:type-${r.type}`);
  if (r.via) ids.push(isLinkLocal(r.via) ? 'route:via-link-local' : 'route:via');
  else if (r.dev && r.type === 'unicast' && !r.nexthops.length) ids.push('route:dev');
  if (r.dev === 'lo' || r.owner === 'lo') ids.push('route:lo');
  for (const k of ['src', 'from', 'metric', 'table', 'protocol', 'tos', 'pref', 'realms', 'expires'] as const)
    if (r[k] !== undefined) ids.push(`route:${k}`);
  if (r.scope !== undefined)
    ids.push(
      ['global', 'universe', 'link', 'host'].includes(r.scope)
        ? 'route:scope'
        : /^\d+$/.test(r.scope)
          ? 'route:scope-number'
          : `route:scope-${r.scope}`,
    );
  if (r.onlink) ids.push('route:onlink');
  for (const m of r.metrics) ids.push(`route:${m.name}`, ...(m.lock ? [`route:lock-${m.name}`] : []));
  if (r.nexthops.length) ids.push('route:multipath');
  for (const h of r.nexthops) {
    if (h.weight !== undefined) ids.push('route:nexthop-weight');
    if (!h.via) ids.push('route:nexthop-dev');
    else if (isLinkLocal(h.via)) ids.push('route:via-link-local');
    if (h.onlink) ids.push('route:nexthop-onlink');
    if (h.realms !== undefined) ids.push('route:nexthop-realms');
  }
  if (r.replacesKernel) ids.push('route:replaces-kernel');
  if (r.ownerUnaddressed) ids.push('route:owner-unaddressed');
  return [...new Set(ids)].map((id) => ({ id, family: r.family }));
}

/** Every construct of a rule, once each. */
export function ruleConstructs(r: FinalRule): Construct[] {
  const ids: string[] = [];
  if (r.from) ids.push('rule:from');
  if (r.to) ids.push('rule:to');
  if (!r.from && !r.to) ids.push('rule:no-address');
  if (r.action === 'table') ids.push('rule:table');
  else ids.push(`rule:${r.action}`);
  if (r.not) ids.push('rule:not');
  if (r.fwmark !== undefined) ids.push('rule:fwmark', ...(r.fwmask !== undefined ? ['rule:fwmask'] : []));
  for (const k of ['iif', 'oif', 'tos', 'ipproto', 'uidrange', 'realms', 'protocol'] as const)
    if (r[k] !== undefined) ids.push(`rule:${k}`);
  for (const k of ['sport', 'dport'] as const)
    if (r[k] !== undefined) ids.push(`rule:${k}`, ...(r[k].includes('-') ? [`rule:${k}-range`] : []));
  if (r.suppressPrefixlength !== undefined) ids.push('rule:suppress_prefixlength');
  if (r.suppressIfgroup !== undefined) ids.push('rule:suppress_ifgroup');
  return [...new Set(ids)].map((id) => ({ id, family: r.family }));
}

/** The constructs of a node's sysctl setting that bear on its routes. */
export function sysctlConstructs(key: string, value: string): Construct[] {
  return /^net\.ipv6\.conf\.[^.]+\.forwarding$/.test(key) && value !== '0'
    ? [{ id: 'sysctl:ipv6-forwarding', family: 6 }]
    : [];
}

/** What a format can carry: a construct it writes exactly, and the kernel gets back from the real program. */
export type Carries = (c: Construct) => boolean;

/** For formats that write iproute2's own words (ip, ifupdown, rhel): everything the lab's grammar takes. */
export const carriesAll: Carries = () => true;

/** A format's constructs as a set of ids, with the ones it carries for one family only. */
export function carriesOnly(both: string[], v4only: string[] = [], v6only: string[] = []): Carries {
  const [b, f4, f6] = [new Set(both), new Set(v4only), new Set(v6only)];
  return (c) => b.has(c.id) || (c.family === 4 ? f4 : f6).has(c.id);
}

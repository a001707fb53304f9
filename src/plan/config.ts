// Steps that configure one node: sysctls, interfaces, addresses, routes, rules,
// nftables. Used for a node's base settings and for a stage's apply.
import type { LinkModel, NodeConfig, NodeModel, ServiceModel } from '../lab/model.js';
import { masqueradeRuleset } from './nft.js';
import { shapingLines } from './shaping.js';
import type { Step } from './step.js';

interface Ctx {
  ns: string;
  node: string;
}

function ip(ctx: Ctx, args: string[], at?: Step['at'], family?: 4 | 6): Step {
  return {
    phase: 'configure',
    ns: ctx.ns,
    node: ctx.node,
    tool: 'ip',
    args,
    ...(family === 6 ? { family: 6 as const } : {}),
    ...(at ? { at } : {}),
  };
}

/** Base configuration of a node, after its links exist; `links` holds at least the node's own. */
export function nodeSteps(node: NodeModel, links: LinkModel[], ns: string, ipv6: boolean): Step[] {
  const ctx = { ns, node: node.name };
  const steps: Step[] = [];
  const c = node.config;
  const sysctl = [...(ipv6 ? noDad(node) : []), ...c.sysctl];
  if (sysctl.length) steps.push(sysctlStep(ctx, sysctl));
  steps.push(ip(ctx, ['link', 'set', 'dev', 'lo', 'up']));
  if (node.kind === 'bridge') {
    steps.push(ip(ctx, ['link', 'add', 'name', 'br0', 'type', 'bridge']));
    steps.push(ip(ctx, ['link', 'set', 'dev', 'br0', 'up']));
  }
  for (const i of node.interfaces) {
    if (i.name === 'lo') continue;
    const set = [
      ...(i.mtu ? ['mtu', String(i.mtu)] : []),
      ...(i.mac ? ['address', i.mac] : []),
      ...(node.kind === 'bridge' ? ['master', 'br0'] : []),
    ];
    if (set.length) steps.push(ip(ctx, ['link', 'set', 'dev', i.name, ...set]));
  }
  steps.push(...addressSteps(ctx, c));
  for (const i of node.interfaces)
    if (i.name !== 'lo' && i.up) steps.push(ip(ctx, ['link', 'set', 'dev', i.name, 'up']));
  for (const r of c.routes) steps.push(ip(ctx, ['route', 'add', ...r.args], r.at, r.family));
  for (const r of c.rules) steps.push(ip(ctx, ['rule', 'add', ...r.args], r.at, r.family));
  for (const l of links)
    for (const end of [l.a, l.b])
      if (end.node === node.name)
        for (const line of shapingLines(l, end.iface))
          steps.push({ phase: 'configure', ns, node: node.name, tool: 'tc', args: line, at: l.at });
  steps.push(...nftSteps(ctx, c));
  return steps;
}

/** A stage's apply for one node: the same settings, routes replaced rather than added, and interfaces up/down. */
export function applySteps(c: NodeConfig, ns: string, node: string): Step[] {
  const ctx = { ns, node };
  const steps: Step[] = [];
  if (c.sysctl.length) steps.push(sysctlStep(ctx, c.sysctl));
  for (const i of c.interfaces)
    steps.push(
      ip(ctx, [
        'link',
        'set',
        'dev',
        i.name,
        ...(i.mtu ? ['mtu', String(i.mtu)] : []),
        ...(i.mac ? ['address', i.mac] : []),
      ]),
    );
  steps.push(...addressSteps(ctx, c));
  for (const i of c.down) steps.push(ip(ctx, ['link', 'set', 'dev', i, 'down']));
  for (const i of c.up) steps.push(ip(ctx, ['link', 'set', 'dev', i, 'up']));
  // A fix usually changes an existing route (a src on the default route): replace, which also adds.
  for (const r of c.routes) steps.push(ip(ctx, ['route', 'replace', ...r.args], r.at, r.family));
  for (const r of c.rules) steps.push(ip(ctx, ['rule', 'add', ...r.args], r.at, r.family));
  steps.push(...nftSteps(ctx, c));
  return steps;
}

/**
 * No duplicate address detection in a lab (its addresses are unique by
 * validation): without this, every interface's link-local address stays
 * tentative for ~2 s after it comes up, routers do not forward IPv6 yet, and the
 * first IPv6 test after `up` sees no reply. Set before the links go up, for the
 * veth ends that exist already and as the default for interfaces made later, in
 * the nodes that have IPv6 addresses (a process per node costs time: IPv4-only
 * nodes are spared it; a bridge forwards whatever its own addresses do).
 */
function noDad(node: NodeModel): [string, string][] {
  const ifs = node.interfaces.filter((i) => i.name !== 'lo').map((i) => i.name.replace(/\./g, '/'));
  return ['all', 'default', ...ifs].map((i) => [`net.ipv6.conf.${i}.accept_dad`, '0']);
}

function sysctlStep(ctx: Ctx, sysctl: [string, string][]): Step {
  return { phase: 'configure', ns: ctx.ns, node: ctx.node, tool: 'sysctl', args: sysctl.map(([k, v]) => `${k}=${v}`) };
}

function addressSteps(ctx: Ctx, c: NodeConfig): Step[] {
  // nodad: IPv6 addresses are usable at once, without the duplicate-address-detection wait
  return c.addresses.map((a) =>
    ip(ctx, ['addr', 'add', a.cidr.text, 'dev', a.iface, ...(a.cidr.family === 6 ? ['nodad'] : [])]),
  );
}

function nftSteps(ctx: Ctx, c: NodeConfig): Step[] {
  const steps: Step[] = [];
  if (c.nftables)
    steps.push({
      phase: 'configure',
      ns: ctx.ns,
      node: ctx.node,
      tool: 'nft',
      args: ['-f', '-'],
      input: c.nftables.text,
      at: c.nftables.at,
    });
  if (c.masquerade.length)
    steps.push({
      phase: 'configure',
      ns: ctx.ns,
      node: ctx.node,
      tool: 'nft',
      args: ['-f', '-'],
      input: masqueradeRuleset(c.masquerade),
    });
  return steps;
}

/** The step that starts a service as declared. */
export function startStep(s: ServiceModel, ns: string, node: string): Step {
  return {
    phase: 'services' as const,
    ns,
    node,
    tool: 'service' as const,
    args: s.argv,
    service: s.name,
    at: s.at,
    ...(s.env || s.cwd || s.user || s.ready
      ? {
          run: {
            ...(s.env ? { env: s.env } : {}),
            ...(s.cwd ? { cwd: s.cwd } : {}),
            ...(s.user ? { user: s.user } : {}),
            ...(s.ready ? { ready: s.ready } : {}),
          },
        }
      : {}),
  };
}

export function serviceSteps(c: NodeConfig, ns: string, node: string): Step[] {
  return c.services.map((s) => startStep(s, ns, node));
}

/** A stage's stop, start, restart and signal, in that order (resolve.ts keeps it). */
export function serviceActionSteps(c: NodeConfig, ns: string, node: string): Step[] {
  return (c.serviceActions ?? []).map((a) => ({
    ...(a.def
      ? startStep(a.def, ns, node)
      : { phase: 'services' as const, ns, node, tool: 'service' as const, args: [] }),
    service: a.service,
    action: a.action,
    ...(a.signal ? { signal: a.signal } : {}),
    at: a.at,
  }));
}

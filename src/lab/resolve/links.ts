// Links: which interfaces exist where. Each link joins two nodes' interfaces (a bridge's ports may go unnamed:
// p1, p2, ...); an interface is one end of one link; its name is one Linux takes and not one every namespace
// already has. Also what tc can hold of a link's rate and delay.
import { durationMs, IFNAME, rateBits, RESERVED_IFNAMES, shown } from '../grammar.js';
import type { Path } from '../load.js';
import type { Endpoint, LinkModel } from '../model.js';
import { LinkSpec } from '../schema.js';
import { suggest } from '../suggest.js';
import { asRecord, lenient, type ResolveContext } from './context.js';

/**
 * The links, each between two existing nodes' interfaces, and the interfaces they create: per node, each
 * interface and the index of its link.
 */
export function resolveLinks(cx: ResolveContext): { links: LinkModel[]; ifaces: Map<string, Map<string, number>> } {
  const out: LinkModel[] = [];
  const ifaces = new Map<string, Map<string, number>>();
  const bridgePorts = new Map<string, number>();
  const rawLinks = Array.isArray(cx.raw.links) ? cx.raw.links : [];
  const rawNodes = asRecord(cx.raw.nodes);
  rawLinks.forEach((raw, i) => {
    const data = lenient(LinkSpec, raw);
    if (data === undefined) return;
    const p = { data };
    const spec = typeof p.data === 'string' ? { endpoints: p.data.trim().split(/\s+/) as [string, string] } : p.data;
    const path: Path = typeof p.data === 'string' ? ['links', i] : ['links', i, 'endpoints'];
    const ends: Endpoint[] = [];
    spec.endpoints.forEach((ep, j) => {
      const epPath = typeof p.data === 'string' ? path : [...path, j];
      const [node, ifname] = ep.split(':') as [string, string | undefined];
      if (!cx.nodeNames.has(node)) {
        cx.problem(epPath, `link ${i + 1} names unknown node '${node}'`, suggest(node, [...cx.nodeNames], 'nodes'));
        return;
      }
      const isBridge = asRecord(rawNodes[node]).kind === 'bridge';
      let iface = ifname;
      if (iface === undefined) {
        if (!isBridge) {
          cx.problem(epPath, `link ${i + 1}: endpoint '${node}' has no interface name`, `write it as ${node}:eth0`);
          return;
        }
        const n = (bridgePorts.get(node) ?? 0) + 1;
        bridgePorts.set(node, n);
        iface = `p${n}`;
      }
      if (!checkLinkIfname(cx, iface, epPath, isBridge)) return;
      const have = ifaces.get(node) ?? new Map<string, number>();
      ifaces.set(node, have);
      if (have.has(iface)) {
        cx.problem(
          epPath,
          have.get(iface) === i
            ? `link ${i + 1} names ${node}:${iface} at both ends`
            : `interface ${node}:${iface} is in two links (links ${have.get(iface)! + 1} and ${i + 1})`,
          'each interface is one end of one link; use another name, or a bridge node for a shared segment',
        );
        return;
      }
      have.set(iface, i);
      ends.push({ node, iface });
    });
    if (ends.length === 2) {
      const o: { mtu?: number; rate?: string; delay?: string; loss?: string } =
        typeof p.data === 'string' ? {} : p.data;
      // what tc can hold: tbf needs at least a bit a second, netem's delay a 32-bit count of microseconds
      if (o.rate && rateBits(o.rate) < 8)
        cx.problem(
          ['links', i, 'rate'],
          `rate ${o.rate} is less than a byte a second`,
          'tc reads it as no rate at all; use e.g. 10kbit',
        );
      if (o.rate && rateBits(o.rate) > 1e12)
        cx.problem(
          ['links', i, 'rate'],
          `rate ${o.rate} is more than tbf can shape (1tbit)`,
          'leave rate out for an unshaped link',
        );
      if (o.delay && durationMs(o.delay) > 4_000_000)
        cx.problem(
          ['links', i, 'delay'],
          `delay ${o.delay} is longer than netem can hold (about 71 minutes)`,
          'use a delay such as 20ms',
        );
      out.push({
        a: ends[0]!,
        b: ends[1]!,
        mtu: o.mtu,
        rate: o.rate,
        delay: o.delay,
        loss: o.loss,
        at: cx.at(['links', i]),
      });
    }
  });
  return { links: out, ifaces };
}

/** An interface name Linux takes. */
export function checkIfname(cx: ResolveContext, name: string, path: Path, key = false): boolean {
  if (name.length > 15) {
    cx.problem(
      path,
      `interface name '${shown(name)}' is too long (${name.length} characters; Linux allows 15)`,
      'use a shorter name such as eth0',
      key,
    );
    return false;
  }
  if (!IFNAME.test(name) || name === '.' || name === '..') {
    cx.problem(
      path,
      `interface name '${shown(name)}' is not valid`,
      'use letters, digits, _, . and -, starting with a letter, digit or _',
      key,
    );
    return false;
  }
  return true;
}

/** A link end: a valid name that is not one every namespace already has, nor a bridge's own br0. */
function checkLinkIfname(cx: ResolveContext, name: string, path: Path, bridge: boolean): boolean {
  if (!checkIfname(cx, name, path)) return false;
  if (RESERVED_IFNAMES.includes(name) || (bridge && name === 'br0')) {
    cx.problem(
      path,
      `'${name}' cannot be the name of a link's interface`,
      name === 'lo'
        ? 'every node already has lo, the loopback interface; name the link end eth0 or similar'
        : name === 'br0'
          ? "a bridge node's own bridge is br0; name its ports otherwise, or leave them unnamed"
          : `'${name}' means every interface to the kernel's per-interface settings; use another name`,
    );
    return false;
  }
  return true;
}

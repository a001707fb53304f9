// From the observations of one packet's journey (the same probe packet seen at
// several nodes, each with interface and direction) to its hop-by-hop path.

/** What a route rule or a firewall rule may match of a packet beyond its addresses, as captured. */
export interface PacketFacts {
  proto: 'icmp' | 'tcp' | 'udp' | 'other';
  sport?: number;
  dport?: number;
  icmpType?: number;
  tcpFlags?: number;
  /** IPv4 tos / IPv6 traffic class */
  tos?: number;
}

export interface Observation {
  node: string;
  iface: string;
  dir: 'in' | 'out';
  ts: number;
  /** 1-based frame number in that node's capture; absent for observations made up in tests */
  frame?: number;
  src: string;
  dst: string;
  /** the packet's protocol, ports, ICMP type and tos (absent for observations made up in tests) */
  facts?: PacketFacts;
}

export interface Hop {
  node: string;
  in?: string;
  out?: string;
  /** Addresses as seen at this hop (on entry, else on exit): NAT shows here. */
  src: string;
  dst: string;
  /** the sightings that make this hop (entering, then leaving): the frames that prove it */
  seen?: Observation[];
}

/** node:iface -> the other end of its link. */
export type Peers = Map<string, { node: string; iface: string }>;

/**
 * Folds one packet's observations into hops by following the lab's links: an
 * `out` at one end of a link is followed by the `in` at its peer, then by an
 * `out` of that node. Time only orders candidates; it cannot be trusted alone,
 * as the two ends of a veth see a packet within the same microsecond.
 * Without links (peers empty), observations are folded in time order.
 */
export function pathOf(observations: Observation[], peers: Peers = new Map()): Hop[] {
  // the first sighting at each interface and direction: retransmissions add nothing to the path
  const first = new Map<string, Observation>();
  for (const o of [...observations].sort((a, b) => a.ts - b.ts)) {
    const k = `${o.node}:${o.iface}:${o.dir}`;
    if (o.iface !== 'lo' && !first.has(k)) first.set(k, o);
  }
  const obs = [...first.values()].sort((a, b) => a.ts - b.ts || (a.dir === 'out' ? -1 : 1));
  if (!obs.length) return [];
  if (!peers.size) return byTime(obs);
  const used = new Set<Observation>();
  const at = (node: string, iface: string, dir: 'in' | 'out') => first.get(`${node}:${iface}:${dir}`);
  // the origin: the earliest `out` that no `in` on the same node precedes, else the earliest sighting
  const origin =
    obs.find((o) => o.dir === 'out' && !obs.some((i) => i.node === o.node && i.dir === 'in' && i.ts < o.ts)) ?? obs[0]!;
  const hops: Hop[] = [];
  let cur: Observation | undefined = origin;
  let hop: Hop | undefined;
  while (cur && hops.length < 64) {
    used.add(cur);
    if (cur.dir === 'in') {
      hop = { node: cur.node, in: cur.iface, src: cur.src, dst: cur.dst, seen: [cur] };
      hops.push(hop);
      const inObs: Observation = cur;
      // where it left this node: the earliest unused `out` here, not before it came in
      cur =
        obs.find(
          (o) =>
            o.node === inObs.node &&
            o.dir === 'out' &&
            !used.has(o) &&
            o.ts >= inObs.ts - 1e-6 &&
            o.iface !== inObs.iface,
        ) ?? obs.find((o) => o.node === inObs.node && o.dir === 'out' && !used.has(o) && o.ts >= inObs.ts - 1e-6);
    } else {
      if (!hop || hop.node !== cur.node || hop.out) {
        hop = { node: cur.node, src: cur.src, dst: cur.dst, seen: [] };
        hops.push(hop);
      }
      hop.out = cur.iface;
      hop.seen!.push(cur);
      const peer = peers.get(`${cur.node}:${cur.iface}`);
      const next = peer && at(peer.node, peer.iface, 'in');
      cur = next && !used.has(next) ? next : undefined;
    }
  }
  return hops;
}

function byTime(obs: Observation[]): Hop[] {
  const hops: Hop[] = [];
  for (const o of obs) {
    const last = hops[hops.length - 1];
    if (o.dir === 'out' && last && last.node === o.node && !last.out) {
      last.out = o.iface;
      last.seen!.push(o);
      continue;
    }
    hops.push({
      node: o.node,
      ...(o.dir === 'in' ? { in: o.iface } : { out: o.iface }),
      src: o.src,
      dst: o.dst,
      seen: [o],
    });
  }
  return hops;
}

export function formatHop(h: Hop): string {
  return `${h.in ? `${h.in}>` : ''}${h.node}${h.out ? `>${h.out}` : ''}`;
}

export function formatPath(hops: Hop[]): string {
  return hops.length ? hops.map(formatHop).join(' -> ') : '(not seen)';
}

/** Where a reply path is not the exact reverse of the request path, or undefined if it is. */
export function asymmetry(request: Hop[], reply: Hop[]): string | undefined {
  const back = [...reply].reverse();
  if (back.length !== request.length || back.some((h, i) => h.node !== request[i]!.node))
    return `the reply crossed ${reply.map((h) => h.node).join(', ')}; the request crossed ${request.map((h) => h.node).join(', ')}`;
  // from the target back: where a reply first leaves by another interface is the hop to name
  for (let i = request.length - 1; i >= 0; i--) {
    const q = request[i]!;
    const r = back[i]!;
    if (q.in !== r.out)
      return `at ${q.node}: the request came in on ${q.in ?? '(origin)'}, the reply left through ${r.out ?? '(none)'}`;
    if (q.out !== r.in)
      return `at ${q.node}: the request left through ${q.out ?? '(none)'}, the reply came in on ${r.in ?? '(destination)'}`;
  }
  return undefined;
}

// From the observations of one packet's journey (the same probe packet seen at
// several nodes, each with interface and direction) to its hop-by-hop path.

export interface Observation {
  node: string;
  iface: string;
  dir: 'in' | 'out';
  ts: number;
  src: string;
  dst: string;
}

export interface Hop {
  node: string;
  in?: string;
  out?: string;
  /** Addresses as seen at this hop (on entry, else on exit): NAT shows here. */
  src: string;
  dst: string;
}

/** Orders observations in time and folds them into hops: in at a node, then out of it. */
export function pathOf(observations: Observation[]): Hop[] {
  // the first sighting at each interface and direction: retransmissions add nothing to the path
  const first = new Map<string, Observation>();
  for (const o of [...observations].sort((a, b) => a.ts - b.ts)) if (o.iface !== 'lo') first.set(`${o.node}:${o.iface}:${o.dir}`, first.get(`${o.node}:${o.iface}:${o.dir}`) ?? o);
  const obs = [...first.values()].sort((a, b) => a.ts - b.ts);
  const hops: Hop[] = [];
  for (const o of obs) {
    const last = hops[hops.length - 1];
    if (o.dir === 'out' && last && last.node === o.node && !last.out) {
      last.out = o.iface;
      continue;
    }
    if (o.dir === 'out' && last && last.node === o.node && last.out === o.iface) continue; // duplicate (e.g. bridge device)
    if (o.dir === 'in' && last && last.node === o.node && last.in === o.iface) continue;
    hops.push({ node: o.node, ...(o.dir === 'in' ? { in: o.iface } : { out: o.iface }), src: o.src, dst: o.dst });
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
  for (let i = 0; i < request.length; i++) {
    const q = request[i]!;
    const r = back[i]!;
    if (q.in !== r.out) return `at ${q.node}: the request came in on ${q.in ?? '(origin)'}, the reply left through ${r.out ?? '(none)'}`;
    if (q.out !== r.in) return `at ${q.node}: the request left through ${q.out ?? '(none)'}, the reply came in on ${r.in ?? '(destination)'}`;
  }
  return undefined;
}

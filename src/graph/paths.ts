// Observed paths as an overlay on the topology: for each direction of a test, an
// arrow per link crossed (request and reply in two colours), and marks where the
// path diverged from the expectation or ended short.
import type { Disposition, Trace } from '../traces/trace.js';
import type { Topology } from './topology.js';

export type Direction = Trace['direction'];

export interface PathEdge {
  direction: Direction;
  /** 1-based: the n-th link this direction crossed */
  step: number;
  from: { node: string; iface?: string };
  to: { node: string; iface?: string };
  /** the topology link it crossed, when the hops name both of its ends */
  link?: string;
  /** addresses as the packet carried them on this link */
  src: string;
  dst: string;
}

export interface PathMark {
  direction: Direction;
  node: string;
  /** the interface the mark is about (where the diverging packet left, or came in) */
  iface?: string;
  kind: 'diverges' | 'ended';
  text: string;
}

export interface Overlay {
  edges: PathEdge[];
  marks: PathMark[];
  dispositions: Partial<Record<Direction, Disposition>>;
}

const ENDED: Partial<Record<Disposition, string>> = {
  unanswered: 'no reply left here',
  'dropped-no-route': 'dropped here: no route',
  'dropped-filtered': 'dropped here: filtered',
  'dropped-rp-filter': 'dropped here: reverse-path filter',
  'dropped-no-neighbour': 'dropped here: no neighbour',
  dropped: 'dropped here',
  'not-sent': 'nothing was sent',
};

/** The paths of these traces on this topology; a hop at a node the topology lacks is left out (it cannot be drawn). */
export function overlay(traces: Trace[], topo: Topology): Overlay {
  const edges: PathEdge[] = [];
  const marks: PathMark[] = [];
  const dispositions: Overlay['dispositions'] = {};
  const known = new Set(topo.nodes.map((n) => n.name));
  const linkOf = (a: string, ai: string | undefined, b: string, bi: string | undefined) =>
    topo.links.find(
      (l) =>
        (l.a.node === a && l.a.iface === ai && l.b.node === b && l.b.iface === bi) ||
        (l.b.node === a && l.b.iface === ai && l.a.node === b && l.a.iface === bi),
    )?.id;
  for (const t of traces) {
    dispositions[t.direction] = t.disposition;
    t.hops.slice(0, -1).forEach((h, i) => {
      const n = t.hops[i + 1]!;
      if (!known.has(h.node) || !known.has(n.node)) return;
      const link = linkOf(h.node, h.out, n.node, n.in);
      edges.push({
        direction: t.direction,
        step: i + 1,
        from: { node: h.node, ...(h.out ? { iface: h.out } : {}) },
        to: { node: n.node, ...(n.in ? { iface: n.in } : {}) },
        ...(link ? { link } : {}),
        src: h.nat?.src ?? h.src,
        dst: h.nat?.dst ?? h.dst,
      });
    });
    const d = t.divergesAt !== undefined ? t.hops[t.divergesAt] : undefined;
    if (d && known.has(d.node))
      marks.push({
        direction: t.direction,
        node: d.node,
        ...((d.out ?? d.in) ? { iface: d.out ?? d.in } : {}),
        kind: 'diverges',
        text: `${t.direction} diverges here${d.out ? ` (left through ${d.out})` : ''}`,
      });
    const ended = ENDED[t.disposition];
    const end = t.at ?? t.hops.at(-1)?.node;
    // the interface it was last seen on there: where it came in, or left
    const last = [...t.hops].reverse().find((h) => h.node === end);
    const iface = last?.out ?? last?.in;
    if (ended && end && known.has(end))
      marks.push({
        direction: t.direction,
        node: end,
        ...(iface ? { iface } : {}),
        kind: 'ended',
        text: `${t.direction}: ${ended}`,
      });
  }
  return { edges, marks, dispositions };
}

/**
 * The traces of a result; without them (a result written before traces existed,
 * or by a probe that does not fill them) the path text `in>node>out -> ...` is
 * read back, knowing the lab's node names. Such traces carry no evidence; where
 * a failed reply check (reply-via, symmetric, reply-path) says the reply went
 * astray, the first hop where it leaves the request's way back is marked.
 */
export function tracesOf(
  r: { traces?: Trace[]; request?: string; reply?: string; status?: string; checks?: { name: string; ok: boolean }[] },
  nodes: string[],
): Trace[] {
  if (r.traces?.length) return r.traces;
  const read = (text: string) =>
    text === '(not seen)'
      ? []
      : text.split(' -> ').map((tok) => {
          const parts = tok.split('>');
          const at = parts.findIndex((p) => nodes.includes(p));
          return {
            node: parts[at] ?? tok,
            ...(at > 0 ? { in: parts[at - 1] } : {}),
            ...(at >= 0 && at < parts.length - 1 ? { out: parts[at + 1] } : {}),
            src: '',
            dst: '',
            evidence: [],
          };
        });
  const out: Trace[] = [];
  const req = r.request !== undefined ? read(r.request) : undefined;
  if (req) out.push({ direction: 'request', hops: req, disposition: req.length ? 'delivered' : 'not-sent' });
  if (r.reply !== undefined) {
    const hops = read(r.reply);
    const t: Trace = { direction: 'reply', hops, disposition: hops.length ? 'delivered' : 'not-sent' };
    const astray =
      r.status === 'failed' && r.checks?.some((c) => !c.ok && /^(reply-via|symmetric|reply-path)/.test(c.name));
    if (astray && req?.length) {
      const i = hops.findIndex((h, k) => {
        const q = req[req.length - 1 - k];
        return !q || q.node !== h.node || q.in !== h.out;
      });
      if (i >= 0) t.divergesAt = i;
    }
    out.push(t);
  }
  return out;
}

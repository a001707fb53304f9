// From a probe's two reconstructed paths to its traces: per direction the hops
// with the frames that prove them, how the direction ended (its disposition),
// and the hop where it parts from what the test expects. Pure: no kernel here;
// the cause of a drop is asked of the kernel later (explain/why.ts), for failures.
import type { Hop } from '../capture/paths.js';
import type { ExpectT } from '../lab/schema.js';
import type { Disposition, Trace, TraceHop } from './trace.js';

export interface TraceInput {
  request: Hop[];
  reply: Hop[];
  /** the node the probe ran in */
  origin: string;
  /** the node that owns the address the probe was sent to */
  target: string;
  /** the address it was sent to: a request that never left carries it, as no hop does */
  to: string;
  expect: ExpectT;
  /** sent to a broadcast address: the answer comes from the address of the node that answers, not the one asked */
  broadcast?: boolean;
  /** the node that owns an address (a request whose destination NAT rewrote is delivered to that node) */
  ownerOf?: (address: string) => string | undefined;
}

export function traceHop(h: Hop): TraceHop {
  const seen = h.seen ?? [];
  const out = seen.find((o) => o.dir === 'out');
  const first = seen[0];
  const th: TraceHop = {
    node: h.node,
    src: h.src,
    dst: h.dst,
    evidence: seen.map((o) => ({ frame: o.frame ?? 0, ts: o.ts, iface: o.iface, dir: o.dir })),
  };
  if (h.in) th.in = h.in;
  if (h.out) th.out = h.out;
  const f = first?.facts;
  if (f && f.proto !== 'other') {
    th.proto = f.proto;
    if (f.sport !== undefined) th.sport = f.sport;
    if (f.dport !== undefined) th.dport = f.dport;
    if (f.icmpType !== undefined) th.icmpType = f.icmpType;
  }
  if (f?.tos) th.tos = f.tos;
  // NAT between entry and exit: the exit's addresses (or ports) differ from the entry's
  const o = out?.facts;
  const ports = first?.dir === 'in' && o && f && (o.sport !== f.sport || o.dport !== f.dport);
  if (first?.dir === 'in' && out && (out.src !== first.src || out.dst !== first.dst || ports)) {
    th.nat = { src: out.src, dst: out.dst };
    if (ports && o.sport !== undefined) th.nat.sport = o.sport;
    if (ports && o.dport !== undefined) th.nat.dport = o.dport;
  }
  return th;
}

/** The addresses a hop's packet carries when it leaves (after any NAT there). */
const leaving = (h: TraceHop) => h.nat ?? { src: h.src, dst: h.dst };

/** The first hop unlike the expected path; `died`: a trace that ends early diverged nowhere (it died). */
function pathDivergence(hops: TraceHop[], want: string[] | undefined, died = false): number | undefined {
  if (!want) return undefined;
  for (let i = 0; i < Math.max(hops.length, want.length); i++) {
    const h = hops[i];
    const [node, iface] = (want[i] ?? '').split(':');
    if (!h && died) return undefined;
    if (!h || h.node !== node || (iface !== undefined && h.in !== iface && h.out !== iface))
      return Math.max(0, Math.min(i, hops.length - 1));
  }
  return undefined;
}

/**
 * Where a reply first leaves a node by another interface than the one the
 * request came in on there (or reaches a node the request never crossed: the
 * hop before it sent it astray). Undefined when it retraces the request.
 */
export function replyDivergence(request: TraceHop[], reply: TraceHop[]): number | undefined {
  for (let i = 0; i < reply.length; i++) {
    const r = reply[i]!;
    const q = request.find((h) => h.node === r.node);
    if (!q) return Math.max(0, i - 1);
    if (r.out !== undefined && q.in !== r.out) return i;
  }
  // a reply that retraced the request as far as it went and died there diverged nowhere: it died
  return undefined;
}

/**
 * The request: delivered to the target, dropped on the way, not sent; wrong-source where the target saw another source
 * than expected.
 */
function requestTrace(t: TraceInput): Trace {
  const hops = t.request.map(traceHop);
  if (!hops.length)
    return {
      direction: 'request',
      hops,
      disposition: 'not-sent',
      at: t.origin,
      to: t.to,
      detail: `no request was captured leaving ${t.origin}`,
    };
  const last = hops[hops.length - 1]!;
  // NAT that rewrote the destination on the way delivers it to the node owning the new one
  const natted = hops.some((h) => h.nat && h.nat.dst !== h.dst);
  const reached =
    last.in !== undefined && (last.node === t.target || (natted && !last.out && t.ownerOf?.(last.dst) === last.node));
  const divergesAt = pathDivergence(hops, t.expect.path, !reached);
  if (!reached) {
    const detail = last.out
      ? `last seen leaving ${last.node} through ${last.out}`
      : `last seen entering ${last.node}${last.in ? ` on ${last.in}` : ''}`;
    return {
      direction: 'request',
      hops,
      disposition: 'dropped',
      at: last.node,
      ...(divergesAt !== undefined ? { divergesAt } : {}),
      detail,
    };
  }
  const want = t.expect.source;
  if (want !== undefined && last.src !== want) {
    // the hop that put this source on it: the last NAT before the target, else the origin that chose it
    let i = hops.length - 1;
    while (i > 0 && !(hops[i - 1]!.nat && leaving(hops[i - 1]!).src === last.src)) i--;
    const at = i > 0 ? i - 1 : 0;
    return {
      direction: 'request',
      hops,
      disposition: 'wrong-source',
      at: hops[at]!.node,
      divergesAt: at,
      detail: `${t.target} saw source ${last.src}, expected ${want}`,
    };
  }
  return {
    direction: 'request',
    hops,
    disposition: 'delivered',
    at: last.node,
    ...(divergesAt !== undefined ? { divergesAt } : {}),
  };
}

function replyTrace(t: TraceInput, request: Trace): Trace | undefined {
  const hops = t.reply.map(traceHop);
  const delivered = request.disposition === 'delivered' || request.disposition === 'wrong-source';
  if (!hops.length)
    return delivered
      ? {
          direction: 'reply',
          hops,
          disposition: 'unanswered',
          at: t.target,
          detail: `no reply was captured leaving ${t.target}`,
        }
      : undefined;
  const last = hops[hops.length - 1]!;
  // the expectation names the hop first: reply-via's node, then the whole reply path; else where it parts from the
  // request's path
  let divergesAt: number | undefined;
  const via = t.expect['reply-via'];
  if (via) {
    const [node, iface] = via.split(':');
    const i = hops.findIndex((h) => h.node === node);
    if (i >= 0 && hops[i]!.out !== iface) divergesAt = i;
  }
  divergesAt ??= pathDivergence(hops, t.expect['reply-path']);
  const astray = replyDivergence(request.hops, hops);
  divergesAt ??= astray;
  const base = { direction: 'reply' as const, hops, ...(divergesAt !== undefined ? { divergesAt } : {}) };
  if (last.node !== t.origin || last.in === undefined) {
    const detail = last.out
      ? `last seen leaving ${last.node} through ${last.out}`
      : `last seen entering ${last.node}${last.in ? ` on ${last.in}` : ''}`;
    return { ...base, disposition: 'dropped', at: last.node, detail };
  }
  const asked = request.hops[0] ? leaving(request.hops[0]).dst : undefined;
  if (asked !== undefined && last.src !== asked && !t.broadcast)
    return {
      ...base,
      disposition: 'wrong-source',
      at: last.node,
      detail: `the reply came from ${last.src}, the request went to ${asked}`,
    };
  if (astray !== undefined) {
    const h = hops[astray]!;
    const q = request.hops.find((x) => x.node === h.node);
    const detail = q
      ? `at ${h.node} the request came in on ${q.in ?? '(origin)'}, the reply left through ${h.out ?? '(none)'}`
      : `the reply crossed ${hops.map((x) => x.node).join(', ')}`;
    return { ...base, disposition: 'asymmetric', at: h.node, detail };
  }
  return { ...base, disposition: 'delivered', at: last.node };
}

/** Both directions of a request/reply probe. */
export function traces(t: TraceInput): Trace[] {
  const q = requestTrace(t);
  const r = replyTrace(t, q);
  return r ? [q, r] : [q];
}

export const DROPPED: ReadonlySet<Disposition> = new Set([
  'dropped',
  'dropped-no-route',
  'dropped-filtered',
  'dropped-rp-filter',
  'dropped-no-neighbour',
]);

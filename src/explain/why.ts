// explain/: why a packet went where it went. At the hop where a trace parts from
// the expectation, and where it died, nslab asks that node's kernel about the packet
// as it was there (packet.ts: its selectors, the mark its nftables gave it) and words
// the decision, the cause and a fix in the lab's own terms. This file is the entry
// (explain: traces -> whys; explainRoute: a route test's decision); kernel.ts asks
// the kernel, fib.ts reasons over its rules and tables, nft.ts walks its firewall,
// drop-cause.ts finds what killed a packet, nat.ts names the NAT that rewrote one,
// hints.ts words the fix: the lines of a stage not yet applied, or commands that are
// checked before they are printed. Used through run/why.ts: by `nslab test` (failed tests), the API's matchers,
// `nslab explain` and lab.explain().
import { ipprotoNumber } from '../lab/iproute.js';
import type { ExpectT } from '../lab/schema.js';
import type { Trace, TraceHop, Why } from '../traces/trace.js';
import { death, unanswered, unsent, type Finding } from './drop-cause.js';
import type { Lookup, Selectors } from './fib.js';
import {
  checkRouting,
  gatewayOn,
  hintText,
  noFix,
  replyThrough,
  routingFix,
  sourceByRoute,
  stageHint,
  toward,
  type Hint,
} from './hints.js';
import { decision, family, routeGet, type RouteGot, type WhyContext } from './kernel.js';
import { dnatBefore, natWhy } from './nat.js';
import { markWords, packetAt, UID_UNKNOWN, uidWords } from './packet.js';

export type { Ask, WhyContext } from './kernel.js';
export { answeredBy, protoOf } from './kernel.js';

/** The port a test's spec sends to, for the why of a packet that was never captured. */
export const portOf = (spec: unknown): { port?: number } => {
  const port = (spec as { port?: unknown } | undefined)?.port;
  return typeof port === 'number' ? { port } : {};
};

/** A why's hint fields: the fix as one line, or why there is none. */
const hinted = (h: Hint | undefined): Pick<Why, 'hint' | 'noFix'> =>
  !h ? {} : 'fix' in h ? { hint: hintText(h.fix) } : { noFix: h.none };

/** The interface a reply should have left `node` by: reply-via's, else the one the request came in on. */
function wantedOut(expect: ExpectT, request: Trace | undefined, node: string): string | undefined {
  const via = expect['reply-via'];
  if (via?.startsWith(`${node}:`)) return via.slice(node.length + 1);
  return request?.hops.find((h) => h.node === node)?.in;
}

/** Whether the test claims something of this direction's path (then a divergence is itself a failure to fix). */
const claimsPath = (e: ExpectT, t: Trace) =>
  t.direction === 'request'
    ? e.path !== undefined || e.source !== undefined
    : e.symmetric === true || e['reply-via'] !== undefined || e['reply-path'] !== undefined;

/**
 * The hop whose routing decision sent a trace astray: where it left by the wrong interface, or, where the hop that
 * parts from the expected path is another node than expected (or came in by another interface), the hop before it.
 */
function decidingHop(t: Trace, e: ExpectT): number {
  const i = t.divergesAt!;
  const want = t.direction === 'request' ? e.path : e['reply-path'];
  const [node, iface] = (want?.[i] ?? '').split(':');
  const h = t.hops[i]!;
  if (want && i > 0 && (h.node !== node || (iface !== undefined && h.in === iface) === false) && h.out !== iface)
    return i - 1;
  return i;
}

/** The node a request should have gone to next from hop `i`, by the expected path. */
const expectedNext = (e: ExpectT, i: number) => e.path?.[i + 1]?.split(':')[0];

/** The routing why at a divergence: the kernel's decision for the packet as it was, and the fix for what was wanted. */
async function divergence(ctx: WhyContext, t: Trace, request: Trace | undefined, withHint: boolean): Promise<Why> {
  const i = decidingHop(t, ctx.expect);
  const h = t.hops[i]!;
  const node = h.node;
  const wrongSource = t.disposition === 'wrong-source' && t.direction === 'request';
  const at = await packetAt(ctx, h, t.direction, request, { noFrom: wrongSource && i === 0 });
  const s = at.sel;
  if (at.markUnknown)
    return {
      node,
      decision: `${node}: ${t.direction} from ${h.src} to ${s.to}: a rule of ${node} selects by mark, and nslab cannot know this packet's: ${at.markUnknown}`,
      noFix: 'the routing decision depends on a mark nslab cannot tell',
    };
  if (at.uidUnknown)
    return {
      node,
      decision: `${node}: ${t.direction} from ${h.src} to ${s.to}: the uid of its socket is not known: ${at.uidUnknown}`,
      noFix: UID_UNKNOWN,
    };
  const g = await routeGet(ctx, node, s);
  if (!g.route) return { node, decision: `${node}: ${t.direction} to ${s.to}: ${g.error}` };
  const what = `${t.direction} ${s.from ? `from ${s.from} ` : ''}to ${s.to}`;
  const d = await decision(ctx, node, what, s, g.route, markWords(at) + uidWords(at));
  let text = d.text;
  const want =
    t.direction === 'reply'
      ? wantedOut(ctx.expect, request, node)
      : ctx.expect.path
        ? toward(ctx, node, s.to) && expectedIface(ctx, node, expectedNext(ctx.expect, i))
        : undefined;
  if (want && g.route.dev && want !== g.route.dev)
    text += `, not ${want}${request?.hops.find((x) => x.node === node)?.in === want ? ' where the request came in' : ''}`;
  text += d.tail;
  if (!withHint) return { node, decision: text };
  return {
    node,
    decision: text,
    ...hinted(await divergenceHint(ctx, t, request, i, s, { route: g.route }, d.lookup, want)),
  };
}

/** The interface of `node` on its link to `next`. */
function expectedIface(ctx: WhyContext, node: string, next: string | undefined): string | undefined {
  if (!next) return undefined;
  for (const l of ctx.model.links) {
    if (l.a.node === node && l.b.node === next) return l.a.iface;
    if (l.b.node === node && l.a.node === next) return l.b.iface;
  }
  return undefined;
}

async function divergenceHint(
  ctx: WhyContext,
  t: Trace,
  request: Trace | undefined,
  i: number,
  s: Selectors,
  got: { route?: RouteGot },
  used: Lookup | undefined,
  want: string | undefined,
): Promise<Hint> {
  const node = t.hops[i]!.node;
  const f = family(s.to);
  // the source a node chose for a request it sent
  if (t.disposition === 'wrong-source' && t.direction === 'request' && ctx.expect.source !== undefined) {
    const source = ctx.expect.source;
    const st = await stageHint(ctx, node, s, 'route', (add) =>
      checkRouting(ctx, node, s, got, add, (l) => l.route?.prefsrc === source),
    );
    return st ? { fix: st } : sourceByRoute(ctx, node, s, got, used, source);
  }
  if (!want) return noFix(`nslab does not know which interface of ${node} it should have left by`);
  const byWant = (l: Lookup) => l.route?.dev === want;
  const st = await stageHint(ctx, node, s, 'route', (add) => checkRouting(ctx, node, s, got, add, byWant), used?.table);
  if (st) return { fix: st };
  if (t.direction === 'reply') {
    // back the way the request came: through the neighbour it came from on that interface
    const q = request?.hops.findIndex((x) => x.node === node) ?? -1;
    const prev = q > 0 ? request!.hops[q - 1] : undefined;
    const gw = prev?.out ? gatewayOn(ctx, node, want, f) : undefined;
    return replyThrough(ctx, node, s, got, used, want, gw);
  }
  const gw = gatewayOn(ctx, node, want, f);
  const p = toward(ctx, node, s.to);
  if (!gw || !p) return noFix(`no neighbour of ${node} on ${want} leads to ${s.to}`);
  const row = { dst: p.prefix, gateway: gw, dev: want };
  return routingFix(
    ctx,
    node,
    s,
    got,
    {
      rules: [],
      routes: [row],
      commands: [`${f === 6 ? 'ip -6' : 'ip'} route replace ${p.prefix} via ${gw} dev ${want}`],
    },
    byWant,
  );
}

/** A death as a why, with the disposition it names written back to the trace. */
function died(t: Trace, d: Finding): Why {
  t.disposition = d.disposition;
  t.at = d.node;
  if (d.disposition !== 'dropped') t.detail = t.detail ? `${t.detail}; ${d.cause}` : d.cause;
  return { node: d.node, decision: d.cause, cause: d.cause, ...hinted(d.hint) };
}

/**
 * Explains the traces of a test: for each direction, in the order things happened, the divergence (the decision that
 * sent it astray, or the NAT that rewrote it) and the death (what killed it), each with its own evidence and fix.
 * Refines `dropped` dispositions to their cause (and an unanswered request that died entering the target) in place.
 * A divergence before a death gets a hint only where the test claims that path: otherwise the death's fix is the one
 * the claim needs.
 */
export async function explain(traces: Trace[], ctx: WhyContext): Promise<Why[]> {
  ctx.cache ??= new Map();
  const whys: Why[] = [];
  const request = traces.find((t) => t.direction === 'request');
  for (const t of [...traces]) {
    const dies = t.disposition === 'dropped' && t.hops.length > 0;
    const last = t.hops[t.hops.length - 1];
    if (t.divergesAt !== undefined && t.hops[t.divergesAt]) {
      const i = decidingHop(t, ctx.expect);
      const h = t.hops[i]!;
      // a divergence at the hop where it died is the death, not a decision that sent it astray
      const astray = !dies || i < t.hops.length - 1 || (h.out !== undefined && h !== last);
      if (astray) whys.push(await diverged(ctx, t, request, i, !dies || claimsPath(ctx.expect, t)));
    }
    if (dies) whys.push(died(t, await death(ctx, last!, t.direction, request)));
    if (t.disposition === 'not-sent' && t.at && t.to) {
      const d = await unsent(ctx, t);
      whys.push({ node: d.node, decision: d.cause, cause: d.cause, ...hinted(d.hint) });
    }
    if (t.disposition === 'unanswered' && request?.hops.length) {
      const u = await unanswered(ctx, request);
      if (u.died) {
        // it died on the way in: there is no reply to speak of
        whys.push(died(request, u.died));
        traces.splice(traces.indexOf(t), 1);
      } else if (u.reply) {
        const { decision: text, ...r } = u.reply;
        if (r.disposition !== 'unanswered') {
          t.disposition = r.disposition;
          t.detail = r.cause;
        } else if (r.cause === 'no route for the reply') t.detail = text.replace(/^[^:]+: /, '') + ` at ${r.node}`;
        whys.push({ node: r.node, decision: text, cause: r.cause, ...hinted(r.hint) });
      }
    }
  }
  return whys;
}

/** A divergence: NAT that rewrote the packet (named as NAT), else the routing decision. */
async function diverged(
  ctx: WhyContext,
  t: Trace,
  request: Trace | undefined,
  i: number,
  withHint: boolean,
): Promise<Why> {
  const h: TraceHop = t.hops[i]!;
  const keep = (w: { decision: string; hint: Hint }): Why => ({
    node: h.node,
    decision: w.decision,
    ...(withHint ? hinted(w.hint) : {}),
  });
  if (t.direction === 'request' && t.disposition === 'wrong-source' && h.nat && h.nat.src !== h.src)
    return keep(await natWhy(ctx, h, 'request', 'source', ctx.expect.source));
  if (t.direction === 'request') {
    const k = dnatBefore(t, i);
    if (k >= 0) return keep({ ...(await natWhy(ctx, t.hops[k]!, 'request', 'destination')) });
  }
  if (t.direction === 'reply' && h.nat && h.nat.src !== h.src) return keep(await natWhy(ctx, h, 'reply', 'source'));
  return divergence(ctx, t, request, withHint);
}

/** A failed `route` test: the kernel's decision for its selectors, and the stage that would change it. */
export async function explainRoute(
  spec: { node: string; to: string; from?: string; iif?: string; mark?: string | number; [k: string]: unknown },
  ctx: WhyContext,
): Promise<Why[]> {
  ctx.cache ??= new Map();
  const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : undefined);
  const s: Selectors = { to: spec.to };
  if (spec.from) s.from = spec.from;
  if (spec.iif) s.iif = spec.iif;
  if (typeof spec.oif === 'string') s.oif = spec.oif;
  if (spec.mark !== undefined) s.mark = num(spec.mark);
  const tos = num(spec.tos ?? spec.dsfield);
  if (tos) s.tos = tos;
  if (typeof spec.uid === 'number') s.uid = spec.uid;
  if (typeof spec.ipproto === 'string') s.ipproto = Number(ipprotoNumber(spec.ipproto));
  if (typeof spec.sport === 'number') s.sport = spec.sport;
  if (typeof spec.dport === 'number') s.dport = spec.dport;
  const g = await routeGet(ctx, spec.node, s);
  const st = await stageHint(ctx, spec.node, s, 'route');
  const hint = st ? { hint: hintText(st) } : {};
  if (!g.route)
    return [
      {
        node: spec.node,
        decision: `${spec.node}: no route to ${spec.to}${s.from ? ` from ${s.from}` : ''} (${g.error})`,
        ...hint,
      },
    ];
  const d = await decision(ctx, spec.node, `${s.from ? `from ${s.from} ` : ''}to ${s.to}`, s, g.route);
  return [{ node: spec.node, decision: d.text + d.tail, ...hint }];
}

// explain/: why a packet went where it went. At the hop where a trace parts from
// the expectation, or where it died, nslab asks that node's kernel and words the
// decision, the cause and a fix in the lab's own terms. This file is the entry
// (explain: traces -> whys; explainRoute: a route test's decision); kernel.ts asks
// the kernel (ip route get, ip rule, a table, a sysctl), drop-cause.ts finds what
// killed a packet, hints.ts words the fix: preferably the lines of a stage not yet
// applied. Used by run/ (failed tests), api/ (matchers) and cli/explain.ts.
import { ipprotoNumber } from '../lab/iproute.js';
import type { ExpectT } from '../lab/schema.js';
import { death, unsent } from './drop-cause.js';
import { genericHint, stageHint } from './hints.js';
import { decision, routeGet, type Selectors, type WhyContext } from './kernel.js';
import type { Trace, Why } from '../traces/trace.js';

export type { Ask, WhyContext } from './kernel.js';
export { matchedEntry, protoOf, selectingRule } from './kernel.js';

/** The interface a reply should have left `node` by: reply-via's, else the one the request came in on. */
function wantedOut(expect: ExpectT, request: Trace | undefined, node: string): string | undefined {
  const via = expect['reply-via'];
  if (via?.startsWith(`${node}:`)) return via.slice(node.length + 1);
  return request?.hops.find((h) => h.node === node)?.in;
}

/**
 * Explains the traces of a failed test: at each divergence and each drop, the
 * kernel's decision and a hint. Refines `dropped` dispositions to their cause
 * (and an unanswered request that died entering the target) in place.
 */
export async function explain(traces: Trace[], ctx: WhyContext): Promise<Why[]> {
  const whys: Why[] = [];
  const request = traces.find((t) => t.direction === 'request');
  for (const t of [...traces]) {
    // divergence: the decision at that hop
    if (t.divergesAt !== undefined && t.hops[t.divergesAt]) {
      const h = t.hops[t.divergesAt]!;
      const first = t.divergesAt === 0;
      const wrongSource = t.disposition === 'wrong-source' && t.direction === 'request';
      const s: Selectors = {
        to: h.dst,
        ...(wrongSource && first ? {} : { from: h.src }),
        ...(h.in && !first ? { iif: h.in } : {}),
      };
      const g = await routeGet(ctx, h.node, s);
      if (g.route) {
        const what = `${t.direction} ${s.from ? `from ${s.from} ` : ''}to ${s.to}`;
        const d = await decision(ctx, h.node, what, s, g.route);
        const want = t.direction === 'reply' ? wantedOut(ctx.expect, request, h.node) : undefined;
        let text = d.text;
        if (want && g.route.dev && want !== g.route.dev)
          text += `, not ${want}${request?.hops.find((x) => x.node === h.node)?.in === want ? ' where the request came in' : ''}`;
        text += d.tail;
        const hint = stageHint(ctx, h.node, s) ?? genericHint(ctx, h.node, s, t, want, d.noRuleFrom, g.route);
        whys.push({ node: h.node, decision: text, ...(hint ? { hint } : {}) });
      } else whys.push({ node: h.node, decision: `${h.node}: ${t.direction} to ${h.dst}: ${g.error}` });
    }
    // a drop: where, and the likely cause
    if (t.disposition === 'dropped' && t.hops.length) {
      const last = t.hops[t.hops.length - 1]!;
      const d = await death(ctx, last, !last.in);
      t.disposition = d.disposition;
      if (d.disposition !== 'dropped') t.detail = t.detail ? `${t.detail}; ${d.cause}` : d.cause;
      const hint = stageHint(ctx, last.node, d.sel, d.disposition) ?? d.hint;
      if (!whys.some((w) => w.node === last.node))
        whys.push({ node: last.node, decision: d.cause, cause: d.cause, ...(hint ? { hint } : {}) });
      else whys.find((w) => w.node === last.node)!.cause = d.cause;
    }
    // nothing left the sender: its route to the target, or the lack of one
    if (t.disposition === 'not-sent' && t.at && t.to) {
      const d = await unsent(ctx, t.at, t.to);
      const hint = stageHint(ctx, t.at, d.sel) ?? d.hint;
      whys.push({ node: t.at, decision: d.cause, cause: d.cause, ...(hint ? { hint } : {}) });
    }
    // unanswered: the request may have died entering the target (rp_filter, its firewall), or the reply found no route
    if (t.disposition === 'unanswered' && request?.hops.length) {
      const last = request.hops[request.hops.length - 1]!;
      const d = await death(ctx, last, false);
      if (d.disposition !== 'dropped') {
        request.disposition = d.disposition;
        request.at = last.node;
        request.detail = d.cause;
        traces.splice(traces.indexOf(t), 1); // it died on the way in: there is no reply to speak of
        whys.push({
          node: last.node,
          decision: d.cause,
          cause: d.cause,
          ...(d.hint ? { hint: stageHint(ctx, last.node, d.sel, d.disposition) ?? d.hint } : {}),
        });
      } else {
        const back = await routeGet(ctx, last.node, { to: last.src, from: last.dst });
        if (back.error) t.detail = `no route back to ${last.src} from ${last.dst} at ${last.node} (${back.error})`;
        if (back.error)
          whys.push({
            node: last.node,
            decision: `${last.node}: no route back to ${last.src} from ${last.dst} (${back.error})`,
            cause: 'no route for the reply',
            hint:
              stageHint(ctx, last.node, { to: last.src, from: last.dst }) ?? `on ${last.node}: a route to ${last.src}`,
          });
        else {
          // an answer its own output firewall took leaves no trace either: ask about the reply's way out
          const out = await death(ctx, { node: last.node, src: last.dst, dst: last.src, evidence: [] }, true);
          // only a counter that moved proves it: no answer was captured to hold a rule's ports or types against
          if (out.counted) {
            t.disposition = out.disposition;
            t.detail = out.cause;
            whys.push({
              node: last.node,
              decision: `${last.node}: the request arrived; its answer did not leave: ${out.cause.replace(/^[^:]+: /, '')}`,
              cause: out.cause,
              ...(out.hint ? { hint: out.hint } : {}),
            });
          } else {
            const suspects = out.suspects
              ? `; the firewall's output hook has drop rules ${out.disposition === 'dropped-filtered' ? 'naming its addresses, which may take it' : 'that may take it'}: ${out.suspects.join('; ')}`
              : '';
            whys.push({
              node: last.node,
              decision: `${last.node}: the request arrived; nothing answered it (no listener, or the answer was not a reply nslab recognises${suspects ? ', or its firewall took it' : ''})${suspects}`,
              cause: 'no answer',
              ...(out.hint && suspects ? { hint: out.hint } : {}),
            });
          }
        }
      }
    }
  }
  return whys;
}

/** A failed `route` test: the kernel's decision for its selectors, and the stage that would change it. */
export async function explainRoute(
  spec: { node: string; to: string; from?: string; iif?: string; mark?: string | number; [k: string]: unknown },
  ctx: WhyContext,
): Promise<Why[]> {
  const extra: string[] = [];
  for (const k of ['oif', 'tos', 'dsfield', 'uid', 'ipproto', 'sport', 'dport'] as const)
    if (typeof spec[k] === 'string' || typeof spec[k] === 'number')
      extra.push(k, k === 'ipproto' ? ipprotoNumber(String(spec[k])) : String(spec[k]));
  const s: Selectors = {
    to: spec.to,
    ...(spec.from ? { from: spec.from } : {}),
    ...(spec.iif ? { iif: spec.iif } : {}),
    ...(spec.mark !== undefined ? { mark: String(spec.mark) } : {}),
    extra,
  };
  const g = await routeGet(ctx, spec.node, s);
  const hint = stageHint(ctx, spec.node, s);
  if (!g.route)
    return [
      {
        node: spec.node,
        decision: `${spec.node}: no route to ${spec.to}${s.from ? ` from ${s.from}` : ''} (${g.error})`,
        ...(hint ? { hint } : {}),
      },
    ];
  const d = await decision(ctx, spec.node, `${s.from ? `from ${s.from} ` : ''}to ${s.to}`, s, g.route);
  return [{ node: spec.node, decision: d.text + d.tail, ...(hint ? { hint } : {}) }];
}

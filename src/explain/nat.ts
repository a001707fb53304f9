// NAT named as NAT: where a hop's packet left with another source (masquerade, snat,
// in postrouting) or came in and was sent on to another destination (dnat, redirect, in
// prerouting), the rule that rewrote it, found by walking the packet through the node's
// NAT chains as the kernel does for a connection's first packet. The fix changes that
// rule: an exception just before it for this packet, or an snat to the address the test
// wanted. A route's `src` never changes a forwarded packet's source, so none is offered.
import type { Trace, TraceHop } from '../traces/trace.js';
import { addressesOf, noFix, type Hint } from './hints.js';
import { family, rulesetOf, type WhyContext } from './kernel.js';
import { natMatchWords, ruleName, walk, withException, type NftPacket, type Ruleset, type Step } from './nft.js';
import { nftPacket } from './packet.js';

export interface NatWhy {
  decision: string;
  hint: Hint;
}

/** The packet walked through the hooks before the NAT one (for its marks), then the NAT hook: its NAT step. */
function natStep(rs: Ruleset, hooks: string[], p: NftPacket): { step?: Step; uncertain?: string } {
  let q = p;
  for (const hook of hooks) {
    const w = walk(rs, hook, q);
    const step = w.steps.find((s) => s.nat);
    if (step) return { step };
    if (w.uncertain) return { uncertain: `${ruleName(w.uncertain.rule)} matches on ${w.uncertain.why}` };
    q = w.packet;
  }
  return {};
}

/** Its counter, as evidence: moved during the probe, or what it shows. */
function counter(ctx: WhyContext, node: string, step: Step): string {
  const moved = ctx.counters?.find((c) => c.node === node && c.rule === ruleName(step.rule));
  if (moved) return ` (its counter moved by ${moved.packets} packet${moved.packets > 1 ? 's' : ''} during the probe)`;
  return step.rule.packets !== undefined ? ` (its counter: ${step.rule.packets} packets)` : '';
}

/**
 * Why a hop's packet left with another source (`what: 'source'`) or destination than it came with, and a fix for a
 * test that wanted `want` (for a source: the one it came with, or another address of the node).
 */
export async function natWhy(
  ctx: WhyContext,
  h: TraceHop,
  direction: 'request' | 'reply',
  what: 'source' | 'destination',
  want?: string,
): Promise<NatWhy> {
  const node = h.node;
  const rs = await rulesetOf(ctx, node);
  const to = h.nat?.dst ?? h.dst;
  const base = nftPacket(ctx, h, direction, { state: 'new', mark: 0 });
  // SNAT happens in postrouting, after the routing decision (the destination is already DNAT's); DNAT in prerouting
  const hooks =
    what === 'source'
      ? h.in
        ? ['prerouting', 'forward', 'postrouting']
        : ['output', 'postrouting']
      : h.in
        ? ['prerouting']
        : ['output'];
  const p: NftPacket = what === 'source' ? { ...base, dst: to, oif: h.out ?? '' } : base;
  const at = `${node}: ${direction} from ${h.src} to ${h.dst}${h.in ? ` in on ${h.in}` : ''}${h.out ? ` out on ${h.out}` : ''}`;
  const rewritten =
    what === 'source' ? `its source was rewritten to ${h.nat?.src}` : `its destination was rewritten to ${to}`;
  const { step, uncertain } = natStep(rs, hooks, p);
  if (!step)
    return {
      decision: `${at}: ${rewritten} by NAT; ${uncertain ? `nslab cannot tell which rule (${uncertain})` : `no NAT rule of ${node} matches it as nslab reads them`}`,
      hint: noFix(`nslab cannot name the rule that rewrote it, so it cannot change it`),
    };
  const r = step.rule;
  const decision = `${at}: ${rewritten} by ${ruleName(r)}${counter(ctx, node, step)}`;
  const nat = family(h.dst) === 6 ? 'ip6' : 'ip';
  // an exception just before the rule: this packet's connection is not rewritten (NAT rules see its first packet only)
  const exception = () => {
    const { rs: after, command } = withException(rs, { rule: r }, h.src, what === 'source' ? to : h.dst, false);
    const again = natStep(after, hooks, p);
    return again.step
      ? noFix(`with an exception before it, ${ruleName(again.step.rule)} would still rewrite it`)
      : ({ fix: { node, commands: [command] } } as Hint);
  };
  if (what === 'destination') return { decision, hint: exception() };
  if (want === undefined || want === h.src) return { decision, hint: exception() };
  if (addressesOf(ctx, node).some((a) => a.cidr.address === want)) {
    const snat = r.family === 'inet' ? `snat ${nat} to ${want}` : `snat to ${want}`;
    const words = natMatchWords(r);
    return {
      decision,
      hint: {
        fix: {
          node,
          commands: [
            `nft 'replace rule ${r.family} ${r.table} ${r.chain} handle ${r.handle} ${words ? `${words} ` : ''}${snat}'`,
          ],
        },
      },
    };
  }
  return {
    decision,
    hint: noFix(`${want} is neither the source the packet came to ${node} with (${h.src}) nor an address of ${node}`),
  };
}

/** The hop of a request where NAT rewrote its destination, at or before hop `i`. */
export const dnatBefore = (t: Trace, i: number) =>
  t.hops.slice(0, i + 1).findIndex((h) => !!h.nat && h.nat.dst !== h.dst);

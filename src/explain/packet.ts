// The packet as it was at a hop, which is what the kernel is asked about: its
// destination after a DNAT there, its source, the interface it came in on, its
// protocol, ports and tos as captured, the uid of a locally sent packet's socket (0 for
// nslab's probes and listeners, and the kernel's echo replies; not known for an answer
// from a lab's own program, see senderUid), and the mark the node's own
// nftables gave it before the routing decision (prerouting for a packet that came in,
// the output `route` chains for one the node sent), including a connection's mark
// restored into it (`meta mark set ct mark`), that mark being set when the request
// crossed the node. The mark is worked out only where a rule selects by one; where a
// rule on the way cannot be evaluated from what nslab knows, the mark is not known,
// and the why says so rather than answer for another packet.
import type { Trace, TraceHop } from '../traces/trace.js';
import type { Selectors } from './fib.js';
import { family, rulesetOf, rulesOf, type WhyContext } from './kernel.js';
import { ruleName, walk, type NftPacket, type Ruleset, type Step } from './nft.js';

export interface AtHop {
  node: string;
  /** the kernel's routing question for it */
  sel: Selectors;
  /** the packet as it reaches the routing decision (its mark set), for the hooks after it */
  nft: NftPacket;
  /** the rules that gave it its mark (and its connection's) on the way, in order */
  marks: Step[];
  /** where a rule selects by mark and nslab cannot know this packet's: why */
  markUnknown?: string;
  /** a rule of the node selects by uid: the uid the packet was routed with, and why it is that, are worth saying */
  byUid?: string;
  /** where a rule selects by uid and nslab cannot know this packet's socket's: why */
  uidUnknown?: string;
  /** sent by this node (its output path), rather than come in */
  local: boolean;
}

const PROTO = { icmp: [1, 58], tcp: [6, 6], udp: [17, 17] } as const;

/** The ICMP type a probe's packet carries where no capture says: an echo request, or its reply. */
const echo = (direction: 'request' | 'reply', f: 4 | 6) =>
  direction === 'request' ? (f === 6 ? 128 : 8) : f === 6 ? 129 : 0;

/** Whether some chain on this hook sets a packet's or a connection's mark. */
const setsMark = (rs: Ruleset, hook: string) =>
  rs.chains.some(
    (c) => (c.hook === hook || !c.hook) && c.rules.some((r) => /\b(meta )?mark set\b|\bct mark set\b/.test(r.text)),
  );

/** A why's "no fix found" where the routing decision depends on a uid nslab cannot know. */
export const UID_UNKNOWN = 'the routing decision depends on the uid of a socket nslab does not know';

/**
 * The uid of the socket that sent a packet from `node`: nslab's probe sends the request, and nslab's listener (or the
 * kernel, for an echo) the answer, as root: 0. An answer from a program of the lab's: 0 where every service the lab
 * declares on the node runs as root; otherwise (a service with a `user:`, a program nslab did not start) not known.
 */
export function senderUid(
  ctx: WhyContext,
  node: string,
  direction: 'request' | 'reply',
): { uid: number; who: string } | { unknown: string } {
  if (direction === 'request') return { uid: 0, who: "nslab's probe runs as root" };
  if (ctx.answeredBy !== 'lab') return { uid: 0, who: "nslab's listener, or the kernel, answers as root" };
  const services = [
    ...(ctx.model.nodes.find((n) => n.name === node)?.config.services ?? []),
    ...ctx.model.stages.flatMap((s) => s.apply.get(node)?.services ?? []),
  ];
  const users = [...new Set(services.map((s) => s.user).filter((u) => u !== undefined && u !== 'root' && u !== '0'))];
  if (services.length && !users.length) return { uid: 0, who: `the lab's services on ${node} run as root` };
  return {
    unknown: users.length
      ? `the answer is sent by a program of the lab's on ${node}, and ${users.length > 1 ? 'its services run as users' : 'a service there runs as user'} ${users.map((u) => `'${u}'`).join(', ')}: nslab does not know the uid of the socket that answered`
      : `the answer is sent by a program of the lab's on ${node} that nslab did not start: it does not know the uid of its socket`,
  };
}

/** The packet a trace's hop carried, as nftables sees it when it enters the node (before any rule). */
export function nftPacket(
  ctx: WhyContext,
  h: TraceHop,
  direction: 'request' | 'reply',
  conn: { state?: 'new' | 'established'; mark?: number },
): NftPacket {
  const f = family(h.dst);
  const proto = h.proto ?? ctx.proto;
  return {
    family: f,
    src: h.src,
    dst: h.dst,
    ...(proto ? { proto } : {}),
    ...(h.sport !== undefined ? { sport: h.sport } : {}),
    ...(h.dport !== undefined ? { dport: h.dport } : {}),
    ...(proto === 'icmp' ? { icmpType: h.icmpType ?? echo(direction, f) } : {}),
    tos: h.tos ?? 0,
    iif: h.in ?? '',
    oif: h.in ? '' : (h.out ?? ''),
    mark: 0,
    ...(conn.state ? { ctState: conn.state } : {}),
    ...(conn.mark !== undefined ? { ctMark: conn.mark } : {}),
    ...(h.in ? {} : uidOf(senderUid(ctx, h.node, direction))),
  };
}

const uidOf = (u: { uid: number } | { unknown: string }) => ('uid' in u ? { uid: u.uid } : {});

/**
 * The connection's mark when the request had crossed this node (prerouting, then forward and postrouting, or input;
 * output and postrouting where it was sent from here), and the rules that set it. Undefined where the request did not
 * cross the node or a rule on its way there cannot be evaluated.
 */
export async function connMark(
  ctx: WhyContext,
  request: Trace | undefined,
  node: string,
): Promise<{ mark?: number; steps: Step[]; unknown?: string }> {
  const q = request?.hops.find((h) => h.node === node);
  if (!q) return { steps: [], unknown: 'the request did not cross it' };
  const rs = await rulesetOf(ctx, node);
  let p = nftPacket(ctx, q, 'request', { state: 'new', mark: 0 });
  const steps: Step[] = [];
  const hooks = q.in
    ? ['prerouting', q.out ? 'forward' : 'input', ...(q.out ? ['postrouting'] : [])]
    : ['output', 'postrouting'];
  for (const hook of hooks) {
    if (hook === 'forward' || hook === 'postrouting') p = { ...p, oif: q.out ?? '' };
    const w = walk(rs, hook, p);
    steps.push(...w.steps.filter((s) => s.ctMark !== undefined));
    if (w.uncertain && setsMark(rs, hook))
      return { steps, unknown: `${ruleName(w.uncertain.rule)} matches on ${w.uncertain.why}, which nslab cannot tell` };
    p = w.packet;
  }
  return p.ctMark === undefined ? { steps, unknown: "its connection's mark" } : { mark: p.ctMark, steps };
}

/**
 * The packet at a trace's hop, as the node's routing decision saw it. `noFrom`: the node chose the source (a request
 * it sent whose source is the question).
 */
export async function packetAt(
  ctx: WhyContext,
  h: TraceHop,
  direction: 'request' | 'reply',
  request: Trace | undefined,
  opts: { noFrom?: boolean } = {},
): Promise<AtHop> {
  const f = family(h.dst);
  const local = !h.in;
  const crossed = direction === 'reply' && request?.hops.some((x) => x.node === h.node);
  const conn =
    direction === 'request' ? { state: 'new' as const, mark: 0 } : crossed ? { state: 'established' as const } : {};
  let p = nftPacket(ctx, h, direction, conn);
  const marks: Step[] = [];
  let markUnknown: string | undefined;
  // the mark matters only to rules that select by one
  const byMark = (await rulesOf(ctx, h.node, f)).some((r) => r.fwmark !== undefined);
  if (byMark) {
    if (direction === 'reply' && crossed) {
      const c = await connMark(ctx, request, h.node);
      if (c.mark !== undefined) p = { ...p, ctMark: c.mark };
      marks.push(...c.steps);
      if (c.unknown) markUnknown = c.unknown;
    }
    const rs = await rulesetOf(ctx, h.node);
    // a locally sent packet is routed with its socket's mark (0), then again if an output `route` chain marks it
    const hook = local ? 'output' : 'prerouting';
    const w = walk(rs, hook, p, local ? ['route'] : undefined);
    marks.push(...w.steps.filter((s) => s.mark !== undefined));
    if (w.uncertain && setsMark(rs, hook))
      markUnknown ??= `${ruleName(w.uncertain.rule)} matches on ${w.uncertain.why}, which nslab cannot tell`;
    else if (w.packet.mark === undefined) markUnknown ??= "its connection's mark, which nslab cannot tell";
    else markUnknown = undefined;
    p = { ...w.packet, mark: w.packet.mark ?? 0 };
  }
  // a locally sent packet's uid matters to a rule that selects by one: where nslab does not know it, it says so
  const sender = local ? senderUid(ctx, h.node, direction) : { uid: 0, who: '' };
  const byUid = (await rulesOf(ctx, h.node, f)).find((r) => r.uid_start !== undefined);
  const uidUnknown =
    local && byUid && 'unknown' in sender
      ? `rule ${byUid.priority} selects by uid (uidrange ${byUid.uid_start}-${byUid.uid_end ?? byUid.uid_start}); ${sender.unknown}`
      : undefined;
  const proto = p.proto ? PROTO[p.proto][f === 6 ? 1 : 0] : undefined;
  const ports = p.proto === 'tcp' || p.proto === 'udp';
  const dport = h.nat?.dport ?? p.dport;
  const sel: Selectors = {
    // a DNAT in prerouting has rewritten the destination before the routing decision; SNAT comes after it
    to: h.in ? (h.nat?.dst ?? h.dst) : h.dst,
    ...(opts.noFrom ? {} : { from: h.src }),
    ...(h.in ? { iif: h.in } : uidOf(sender)),
    ...(byMark ? { mark: p.mark ?? 0 } : {}),
    ...(p.tos ? { tos: p.tos } : {}),
    ...(proto !== undefined ? { ipproto: proto } : {}),
    ...(ports && p.sport !== undefined ? { sport: p.sport } : {}),
    ...(ports && dport !== undefined ? { dport } : {}),
  };
  return {
    node: h.node,
    sel,
    nft: p,
    marks,
    local,
    ...(markUnknown ? { markUnknown } : {}),
    ...(uidUnknown ? { uidUnknown } : {}),
    ...(local && byUid && 'who' in sender ? { byUid: sender.who } : {}),
  };
}

/** The uid a locally sent packet was routed with, where a rule of its node selects by uid: ` as uid 0 (...)`. */
export function uidWords(at: AtHop): string {
  return at.byUid && at.sel.uid !== undefined ? ` as uid ${at.sel.uid} (${at.byUid})` : '';
}

/** How a packet got its mark, in words: `with mark 0x1 (table inet m chain pre: ... meta mark set 0x00000001)`. */
export function markWords(at: AtHop): string {
  if (at.markUnknown) return '';
  const m = at.sel.mark;
  const conn = at.marks.filter((s) => s.ctMark !== undefined);
  const own = at.marks.filter((s) => s.mark !== undefined);
  if (!m && !own.length) return '';
  const set = own.length ? own.map((s) => ruleName(s.rule)).join('; ') : '';
  const from = conn.length
    ? `; its connection's mark 0x${conn[conn.length - 1]!.ctMark!.toString(16)} was set when the request crossed ${at.node}: ${conn.map((s) => ruleName(s.rule)).join('; ')}`
    : '';
  return ` with mark 0x${(m ?? 0).toString(16)}${set || from ? ` (${set}${from})` : ''}`;
}

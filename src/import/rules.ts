// The machine's rules (`ip rule`) as the host node's, both families, each as `ip rule add` takes it. Left out: the
// kernel's three default rules, and, with a note (on stderr, on top of the lab and at the place in the node's rules),
// a rule whose iif or oif the lab does not keep, a selector or action the lab cannot hold or import does not read, a
// table the snapshot has no number for, or a rule the lab's own checks refuse. A rule is written with every selector
// it has or not at all: iproute2 6.1 prints `not` as null, a range as `*_start`/`*_end`, uidrange as
// `uid_start`/`uid_end`, goto as `"goto": N`, nop as `"nop": null`, and each is read as such (issue 18), so no rule
// becomes a wider one.
import type { Family } from '../lab/addr.js';
import { checkRule } from '../lab/iproute.js';
import type { HostView } from './host-view.js';
import { leaveOut, type Ledger, type Note } from './ledger.js';
import type { IpRule, Snapshot } from './schema.js';

export function hostRules(snap: Snapshot, hv: HostView, ledger: Ledger): string[] {
  const rules: string[] = [];
  const at = (): { at: (string | number)[]; index: number } => ({
    at: ['nodes', hv.host, 'rules'],
    index: rules.length,
  });
  for (const fam of [4, 6] as const)
    snap.rules[fam].forEach((r, n) => {
      const text = ruleText(r, fam, hv);
      if (text === undefined) return;
      if (typeof text === 'object') {
        leaveOut(ledger, 'rule', text.note, at());
        return;
      }
      const c = checkRule(text, hv.check);
      if (c.errors.length) {
        leaveOut(ledger, 'rule', `rule '${text}' left out: ${c.errors[0]!.message}`, at());
        return;
      }
      ledger.origins.push({
        at: ['nodes', hv.host, 'rules', rules.length],
        from: ['rules', String(fam), n],
        what: 'this rule',
      });
      rules.push(text);
    });
  return rules;
}

const DEFAULT_RULES: [number, string][] = [
  [0, 'local'],
  [32766, 'main'],
  [32767, 'default'],
];

/**
 * The fields of a rule import reads. Any other field (l3mdev, tun_id, a field a newer iproute2 prints) may be a
 * selector or an action: such a rule is left out with a note, never written without it.
 */
const READ = new Set([
  'priority',
  'not',
  'src',
  'srclen',
  'dst',
  'dstlen',
  'tos',
  'fwmark',
  'fwmask',
  'iif',
  'oif',
  'ipproto',
  'sport',
  'dport',
  'sport_start',
  'sport_end',
  'dport_start',
  'dport_end',
  'uid_start',
  'uid_end',
  'suppress_prefixlen',
  'suppress_ifgroup',
  'protocol',
  'flow_from',
  'flow_to',
  'table',
  'action',
  'goto',
  'target',
  'nop',
]);
/** What the lab cannot hold (lab/iproute.ts refuses it), said by name. */
const NOT_IN_LABS: Record<string, string> = {
  l3mdev: 'l3mdev (VRF) is not supported in a lab',
  tun_id: 'tun_id is not supported in a lab',
};
/** The rule protocols a lab takes (lab/iproute.ts); a rule's protocol decides nothing, but is kept where it can be. */
const PROTOCOLS =
  /^(kernel|boot|static|gated|ra|mrt|zebra|bird|dnrouted|xorp|ntk|dhcp|keepalived|babel|openr|bgp|isis|ospf|rip|eigrp|redirect|\d{1,3})$/;

/** A range printed as START/END fields, or one value printed alone: its words, or undefined. */
function range(r: IpRule, k: 'sport' | 'dport' | 'uid'): string | undefined {
  const one = k === 'uid' ? undefined : r[k];
  if (one !== undefined) return typeof one === 'object' ? `${one.start}-${one.end}` : String(one);
  const [s, e] = [r[`${k}_start`], r[`${k}_end`]];
  if (s === undefined && e === undefined) return undefined;
  return `${String(s ?? e)}-${String(e ?? s)}`;
}

/** One rule as after `ip rule add`; undefined for the kernel's defaults; a note for what the lab cannot hold. */
function ruleText(r: IpRule, fam: Family, { tableId, tableWord, kept }: HostView): string | Note | undefined {
  const fields = Object.keys(r).filter((k) => r[k] !== undefined);
  const left = (why: string): Note => ({ note: `${fam === 6 ? 'IPv6 ' : ''}rule ${r.priority} left out: ${why}` });
  const unread = fields.find((k) => !READ.has(k));
  if (unread) return left(NOT_IN_LABS[unread] ?? `'${unread}' is not read by nslab import`);
  const selectors =
    fields.some((k) => !['priority', 'src', 'table', 'action', 'protocol'].includes(k)) ||
    (r.src && r.src !== 'all') ||
    (r.action && r.action !== 'to_tbl');
  if (!selectors && DEFAULT_RULES.some(([p, t]) => r.priority === p && r.table === t)) return undefined;
  const w = ['priority', String(r.priority)];
  // iproute2 6.1 prints `"not": null` for a negated rule; false (or absent) is not negated
  if ('not' in r && r.not !== false && r.not !== undefined) w.push('not');
  if (r.src && r.src !== 'all')
    w.push('from', r.srclen !== undefined && r.srclen !== (fam === 6 ? 128 : 32) ? `${r.src}/${r.srclen}` : r.src);
  if (r.dst && r.dst !== 'all')
    w.push('to', r.dstlen !== undefined && r.dstlen !== (fam === 6 ? 128 : 32) ? `${r.dst}/${r.dstlen}` : r.dst);
  if (r.tos) w.push('tos', r.tos);
  if (r.fwmark !== undefined)
    w.push('fwmark', r.fwmask && r.fwmask !== '0xffffffff' ? `${r.fwmark}/${r.fwmask}` : r.fwmark);
  else if (r.fwmask !== undefined) return left(`a mask (${r.fwmask}) without a mark`);
  for (const k of ['iif', 'oif'] as const) {
    const d = r[k];
    if (d === undefined) continue;
    if (d !== 'lo' && !kept.has(d)) return left(`${k} ${d} is not in the lab`);
    w.push(k, d);
  }
  // without /etc/protocols (a minimal image) ip prints a protocol as ipproto-N
  if (r.ipproto) w.push('ipproto', String(r.ipproto).replace(/^ipproto-(\d+)$/, '$1'));
  for (const k of ['sport', 'dport'] as const) {
    const p = range(r, k);
    if (p !== undefined) w.push(k, p);
  }
  const uids = range(r, 'uid');
  if (uids !== undefined) w.push('uidrange', uids);
  if (r.flow_from !== undefined || r.flow_to !== undefined)
    w.push('realms', r.flow_from !== undefined ? `${r.flow_from}/${r.flow_to ?? '0'}` : r.flow_to!);
  if (r.suppress_prefixlen !== undefined) w.push('suppress_prefixlength', String(r.suppress_prefixlen));
  if (r.suppress_ifgroup !== undefined) w.push('suppress_ifgroup', r.suppress_ifgroup);
  if (r.protocol !== undefined && PROTOCOLS.test(r.protocol)) w.push('protocol', r.protocol);
  const gotoTarget = r.goto ?? (r.action === 'goto' ? r.target : undefined);
  if (r.action === 'goto' && gotoTarget === undefined) return left('a goto without its target');
  if (gotoTarget !== undefined) w.push('goto', String(gotoTarget));
  else if ('nop' in r || r.action === 'nop') w.push('nop');
  else if (r.action && r.action !== 'to_tbl') {
    if (!['blackhole', 'unreachable', 'prohibit'].includes(r.action))
      return left(`action '${r.action}' is not read by nslab import`);
    w.push(r.action);
  } else {
    const id = tableId(r.table);
    if (id === undefined) return left(`table '${r.table}' has no number in the snapshot`);
    w.push('table', tableWord(id) ?? 'main');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

// The machine's rules (`ip rule`) as the host node's, both families, each as `ip rule add` takes it. Left out: the
// kernel's three default rules, and, with a note, a rule whose iif or oif the lab does not keep, a selector the lab
// cannot hold, a table the snapshot has no number for, or a rule the lab's own checks refuse.
import type { Family } from '../lab/addr.js';
import { checkRule } from '../lab/iproute.js';
import type { HostView } from './host-view.js';
import type { Ledger, Note } from './ledger.js';
import type { IpRule, Snapshot } from './schema.js';

export function hostRules(snap: Snapshot, hv: HostView, ledger: Ledger): string[] {
  const rules: string[] = [];
  for (const fam of [4, 6] as const)
    snap.rules[fam].forEach((r, n) => {
      const text = ruleText(r, fam, hv);
      if (text === undefined) return;
      if (typeof text === 'object') {
        ledger.notes.push(text.note);
        return;
      }
      const c = checkRule(text, hv.check);
      if (c.errors.length) {
        ledger.notes.push(`rule '${text}' left out: ${c.errors[0]!.message}`);
        return;
      }
      const at = ['nodes', hv.host, 'rules', rules.length];
      ledger.origins.push({ at, from: ['rules', String(fam), n], what: 'this rule' });
      rules.push(text);
    });
  return rules;
}

const DEFAULT_RULES: [number, string][] = [
  [0, 'local'],
  [32766, 'main'],
  [32767, 'default'],
];

/** One rule as after `ip rule add`; undefined for the kernel's defaults; a note for what the lab cannot hold. */
function ruleText(r: IpRule, fam: Family, { tableId, tableWord, kept }: HostView): string | Note | undefined {
  const selectors =
    ['dst', 'fwmark', 'iif', 'oif', 'tos', 'ipproto', 'sport', 'dport', 'not', 'uidrange', 'l3mdev'].some(
      (k) => r[k] !== undefined,
    ) ||
    (r.src && r.src !== 'all');
  if (!selectors && DEFAULT_RULES.some(([p, t]) => r.priority === p && r.table === t)) return undefined;
  const w = ['priority', String(r.priority)];
  if (r.not) w.push('not');
  if (r.src && r.src !== 'all')
    w.push('from', r.srclen !== undefined && r.srclen !== (fam === 6 ? 128 : 32) ? `${r.src}/${r.srclen}` : r.src);
  if (r.dst && r.dst !== 'all')
    w.push('to', r.dstlen !== undefined && r.dstlen !== (fam === 6 ? 128 : 32) ? `${r.dst}/${r.dstlen}` : r.dst);
  if (r.tos) w.push('tos', r.tos);
  if (r.fwmark) w.push('fwmark', r.fwmask && r.fwmask !== '0xffffffff' ? `${r.fwmark}/${r.fwmask}` : r.fwmark);
  for (const k of ['iif', 'oif'] as const) {
    const d = r[k];
    if (d === undefined) continue;
    if (d !== 'lo' && !kept.has(d)) return { note: `rule ${r.priority} left out: ${k} ${d} is not in the lab` };
    w.push(k, d);
  }
  // without /etc/protocols (a minimal image) ip prints a protocol as ipproto-N
  if (r.ipproto) w.push('ipproto', String(r.ipproto).replace(/^ipproto-(\d+)$/, '$1'));
  for (const k of ['sport', 'dport'] as const) {
    const p = r[k];
    if (p !== undefined) w.push(k, typeof p === 'object' ? `${p.start}-${p.end}` : String(p));
  }
  if (r.suppress_prefixlen !== undefined) w.push('suppress_prefixlength', String(r.suppress_prefixlen));
  const unknown = ['uidrange', 'l3mdev', 'tun_id', 'realms'].find((k) => r[k] !== undefined);
  if (unknown) return { note: `rule ${r.priority} left out: '${unknown}' is not supported in a lab` };
  if (r.action && r.action !== 'to_tbl') {
    if (r.action === 'goto') w.push('goto', String(r.target));
    else w.push(r.action);
  } else {
    const id = tableId(r.table);
    if (id === undefined)
      return { note: `rule ${r.priority} left out: table '${r.table}' has no number in the snapshot` };
    w.push('table', tableWord(id) ?? 'main');
  }
  const text = w.join(' ');
  return fam === 6 && !text.includes(':') ? `-6 ${text}` : text;
}

// A plain ip script, and the ip commands the ifupdown and RHEL formats share.
// Routes are `replace`d (a fix often changes a route the kernel or an earlier
// line made), rules deleted before they are added: the script can run twice.
import { shellQuote } from '../plan/render.js';
import { carriesAll } from './constructs.js';
import { header, leftOutComments, slug, type ExportFile, type LeftOut } from './files.js';
import { tableLabel, type FinalNode, type FinalRoute, type FinalRule } from './node-state.js';

const q = (args: string[]) => args.map(shellQuote).join(' ');
const fam = (f: 4 | 6) => (f === 6 ? '-6 ' : '');

export function routeCommand(r: FinalRoute, verb = 'replace'): string {
  return `ip ${fam(r.family)}route ${verb} ${q(r.args)}`;
}

export function ruleCommand(r: FinalRule, verb = 'add'): string {
  return `ip ${fam(r.family)}rule ${verb} ${q(r.args)}`;
}

/** A comment naming the tables a node uses, for formats that write table ids. */
export function tableComment(node: FinalNode, c = '#'): string[] {
  return node.tables.length
    ? [`${c} routing tables: ${node.tables.map((t) => tableLabel(node, t.id)).join(', ')}`]
    : [];
}

/** The script runs iproute2's own words: whatever the lab's grammar takes. */
export const IP_CARRIES = carriesAll;

export function renderIp(node: FinalNode, leftOut: LeftOut[] = []): ExportFile[] {
  const out = ['#!/bin/sh', ...header(node), ...tableComment(node), ...leftOutComments(leftOut), 'set -e', ''];
  if (node.sysctl.length) out.push(...node.sysctl.map(([k, v]) => `sysctl -q -w ${shellQuote(`${k}=${v}`)}`), '');
  for (const i of node.interfaces) {
    const set = [...(i.mtu ? ['mtu', String(i.mtu)] : []), ...(i.mac ? ['address', i.mac] : [])];
    if (set.length) out.push(`ip link set dev ${q([i.name, ...set])}`);
    for (const a of i.addresses) out.push(`ip addr replace ${q([a.text, 'dev', i.name])}`);
    out.push(`ip link set dev ${q([i.name])} ${i.up ? 'up' : 'down'}`);
  }
  if (node.routes.length) out.push('', ...node.routes.map((r) => routeCommand(r)));
  if (node.rules.length)
    out.push('', ...node.rules.flatMap((r) => [`${ruleCommand(r, 'del')} 2>/dev/null || true`, ruleCommand(r)]));
  out.push('');
  return [{ path: `nslab-${slug(node.lab)}-${slug(node.node)}.sh`, text: out.join('\n'), mode: 0o755 }];
}

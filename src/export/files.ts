// What every export format shares: the files it writes, the header that says
// where they came from, and the files that are the same in every distribution
// (sysctl.d, iproute2's table names).
import { oneLine } from '../errors.js';
import type { Source } from '../lab/model.js';
import type { Construct } from './constructs.js';
import type { FinalNode, FinalRoute, FinalRule } from './node-state.js';

export interface ExportFile {
  /** Where the file goes on the target machine (absolute), or a script's name (relative). */
  path: string;
  text: string;
  /** Permissions it needs (NetworkManager ignores a keyfile others can read). */
  mode?: number;
}

/** A route or rule the format cannot express, left out of the files (only with --allow-partial). */
export interface LeftOut {
  kind: 'route' | 'rule' | 'sysctl';
  family: 4 | 6;
  route?: FinalRoute;
  rule?: FinalRule;
  /** A setting of the node's (key, value) whose effect on routing the format's program undoes. */
  sysctl?: [string, string];
  /** The interface whose file would have carried it. */
  owner: string;
  /** As `ip [-6] route|rule add ...` or `sysctl -w KEY=VALUE`. */
  line: string;
  at?: Source;
  /** The constructs the format lacks. */
  missing: Construct[];
  /** The sentence said on stderr and, as a comment, where the line would have been. */
  note: string;
}

/** The comments marking what was left out, for one owner's file (or, with no owner given, all of them). */
export function leftOutComments(leftOut: LeftOut[], owner?: string, c = '#'): string[] {
  return leftOut.filter((l) => owner === undefined || l.owner === owner).map((l) => `${c} LEFT OUT: ${l.note}`);
}

export const FORMATS = ['rhel', 'nm', 'networkd', 'netplan', 'ifupdown', 'ip'] as const;
export type Format = (typeof FORMATS)[number];

/** The first lines of every file, in the file's comment syntax. */
export function header(node: FinalNode, c = '#'): string[] {
  const stage = node.stage ? `, stages up to '${node.stage}'` : ', base configuration';
  const lines = [`${c} nslab export: lab '${node.lab}', node '${node.node}'${stage}`];
  if (node.notExported.length)
    lines.push(`${c} not exported (not network configuration): ${node.notExported.join('; ')}`);
  return lines.map(oneLine);
}

/** A file name part made of the lab's name (it is [a-z0-9-] already; kept safe anyway). */
export const slug = (s: string) => s.replace(/[^A-Za-z0-9_.-]/g, '_');

/** /etc/sysctl.d: the node's sysctls, applied at boot by systemd-sysctl or procps on every distribution. */
export function sysctlFile(node: FinalNode): ExportFile[] {
  if (!node.sysctl.length) return [];
  return [
    {
      path: `/etc/sysctl.d/90-nslab-${slug(node.lab)}.conf`,
      text: [...header(node), ...node.sysctl.map(([k, v]) => `${k} = ${v}`), ''].join('\n'),
    },
  ];
}

/**
 * iproute2's table names, as a drop-in (never the shared /etc/iproute2/rt_tables itself): `ip route show table NAME`
 * then works.
 */
export function rtTablesFile(node: FinalNode): ExportFile[] {
  if (!node.tables.length) return [];
  return [
    {
      path: `/etc/iproute2/rt_tables.d/nslab-${slug(node.lab)}.conf`,
      text: [...header(node), ...node.tables.map((t) => `${t.id}\t${t.name}`), ''].join('\n'),
    },
  ];
}

/** Files printed one after another, each under a header line a reader (and a shell) can tell apart. */
export function concatFiles(files: ExportFile[]): string {
  if (files.length === 1 && !files[0]!.path.startsWith('/')) return files[0]!.text;
  return files.map((f) => `### ${f.path}${f.mode ? ` (mode ${f.mode.toString(8)})` : ''}\n${f.text}`).join('\n');
}

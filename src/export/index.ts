// nslab export: a node's final configuration in a distribution's own format,
// exactly, or refused: a route or rule with a construct the format cannot
// express stops the export (exit 2, nothing written), naming each construct and
// the formats that can express it; with allowPartial the rest is written and
// each left-out line is marked where it would have been.
import { UsageError, oneLine } from '../errors.js';
import type { LabModel } from '../lab/model.js';
import {
  constructLabel,
  routeConstructs,
  ruleConstructs,
  sysctlConstructs,
  type Carries,
  type Construct,
} from './constructs.js';
import { FORMATS, type ExportFile, type Format, type LeftOut } from './files.js';
import { IFUPDOWN_CARRIES, renderIfupdown } from './format-ifupdown.js';
import { IP_CARRIES, renderIp } from './format-ip.js';
import { NETPLAN_CARRIES, renderNetplan } from './format-netplan.js';
import { NETWORKD_CARRIES, renderNetworkd } from './format-networkd.js';
import { NM_CARRIES, renderNm } from './format-nm.js';
import { RHEL_CARRIES, renderRhel } from './format-rhel.js';
import { finalNode, type FinalNode, type FinalRoute, type FinalRule } from './node-state.js';

export { FORMATS, concatFiles, type ExportFile, type Format, type LeftOut } from './files.js';
export { finalNode, type FinalNode } from './node-state.js';
export { constructLabel, routeConstructs, ruleConstructs, type Construct } from './constructs.js';

type Render = (n: FinalNode, leftOut: LeftOut[]) => ExportFile[] | Promise<ExportFile[]>;

const FORMAT: Record<Format, { render: Render; carries: Carries }> = {
  rhel: { render: renderRhel, carries: RHEL_CARRIES },
  nm: { render: renderNm, carries: NM_CARRIES },
  networkd: { render: renderNetworkd, carries: NETWORKD_CARRIES },
  netplan: { render: renderNetplan, carries: NETPLAN_CARRIES },
  ifupdown: { render: renderIfupdown, carries: IFUPDOWN_CARRIES },
  ip: { render: renderIp, carries: IP_CARRIES },
};

/** The formats that carry a construct. */
export const formatsCarrying = (c: Construct): Format[] => FORMATS.filter((f) => FORMAT[f].carries(c));

/** Whether a format carries a construct (the matrix docs/export.md prints). */
export const carries = (format: Format, c: Construct): boolean => FORMAT[format].carries(c);

/** The node's routes and rules this format cannot express, each with the constructs it lacks. */
export function leftOutOf(node: FinalNode, format: Format): LeftOut[] {
  const { carries } = FORMAT[format];
  const out: LeftOut[] = [];
  for (const r of node.routes) {
    const missing = routeConstructs(r).filter((c) => !carries(c));
    if (missing.length) out.push(leftOut(format, { kind: 'route', route: r, line: ipLine('route', r), missing }));
  }
  for (const r of node.rules) {
    const missing = ruleConstructs(r).filter((c) => !carries(c));
    if (missing.length) out.push(leftOut(format, { kind: 'rule', rule: r, line: ipLine('rule', r), missing }));
  }
  for (const [key, value] of node.sysctl) {
    const missing = sysctlConstructs(key, value).filter((c) => !carries(c));
    if (missing.length) {
      const line = `sysctl -w ${key}=${value}`;
      const note = oneLine(
        `${line}: ${format} cannot express ${missing.map(constructLabel).join('; ')} ` +
          `(formats that can: ${formatsFor(missing).join(', ') || 'none'})`,
      );
      out.push({ kind: 'sysctl', sysctl: [key, value], family: 6, owner: '', line, missing, note });
    }
  }
  return out;
}

function leftOut(
  format: Format,
  l: { kind: 'route' | 'rule'; route?: FinalRoute; rule?: FinalRule; line: string; missing: Construct[] },
): LeftOut {
  const r = (l.route ?? l.rule)!;
  const at = r.at ? ` (${r.at.file}:${r.at.line}:${r.at.col})` : '';
  const note = oneLine(
    `${l.line}${at}: ${format} cannot express ${l.missing.map(constructLabel).join('; ')} ` +
      `(formats that can: ${formatsFor(l.missing).join(', ') || 'none'})`,
  );
  return { ...l, family: r.family, owner: r.owner, at: r.at, note };
}

const ipLine = (what: 'route' | 'rule', r: { family: 4 | 6; args: string[] }) =>
  `ip ${r.family === 6 ? '-6 ' : ''}${what} add ${r.args.join(' ')}`;

export interface ExportResult {
  files: ExportFile[];
  /** What the files leave out (only with allowPartial; otherwise exportNode throws). */
  leftOut: LeftOut[];
}

/** The node with only the routes and rules the format carries; the rest as LeftOut. */
export async function renderExport(
  lab: LabModel,
  node: string,
  stage: string | undefined,
  format: Format,
  opts: { allowPartial?: boolean } = {},
): Promise<ExportResult> {
  const fin = finalNode(lab, node, stage);
  const leftOut = leftOutOf(fin, format);
  if (leftOut.length && !opts.allowPartial) throw new ExportRefused(fin, format, leftOut);
  const kept: FinalNode = {
    ...fin,
    routes: fin.routes.filter((r) => !leftOut.some((l) => l.route === r)),
    rules: fin.rules.filter((r) => !leftOut.some((l) => l.rule === r)),
    sysctl: fin.sysctl.filter((x) => !leftOut.some((l) => l.sysctl === x)),
  };
  return { files: await FORMAT[format].render(kept, leftOut), leftOut };
}

/** The files of `nslab export`; throws ExportRefused (exit 2) when the format cannot express everything. */
export async function exportNode(
  lab: LabModel,
  node: string,
  stage: string | undefined,
  format: Format,
  opts: { allowPartial?: boolean } = {},
): Promise<ExportFile[]> {
  return (await renderExport(lab, node, stage, format, opts)).files;
}

/** Where a lab file writes a line, as file:line:col. */
const where = (l: LeftOut) => (l.at ? ` (${l.at.file}:${l.at.line}:${l.at.col})` : '');

/** The formats that carry every one of these constructs. */
const formatsFor = (cs: Construct[]) => FORMATS.filter((f) => cs.every((c) => FORMAT[f].carries(c)));

/** The export refused: the format cannot express some of the node's routes or rules. Exit 2, nothing written. */
export class ExportRefused extends UsageError {
  constructor(
    readonly node: FinalNode,
    readonly format: Format,
    readonly leftOut: LeftOut[],
  ) {
    const constructs = new Map<string, { c: Construct; lines: LeftOut[] }>();
    for (const l of leftOut)
      for (const c of l.missing) {
        const key = `${c.family}:${c.id}`;
        const e = constructs.get(key) ?? { c, lines: [] };
        e.lines.push(l);
        constructs.set(key, e);
      }
    const body = [...constructs.values()].map(
      ({ c, lines }) =>
        `  ${constructLabel(c)} (formats that can: ${formatsCarrying(c).join(', ') || 'none'}):\n` +
        lines.map((l) => `      ${oneLine(l.line)}${where(l)}`).join('\n'),
    );
    super(
      `${format} cannot express ${constructs.size} construct${constructs.size === 1 ? '' : 's'} of node ` +
        `'${node.node}' (nothing written):\n${body.join('\n')}`,
      `export to a format that can, or add --allow-partial to write the rest, each left-out line marked`,
    );
    this.name = 'ExportRefused';
  }
}

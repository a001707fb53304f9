// nslab graph: the topology as SVG, DOT or Mermaid, from the lab file alone
// (nothing is brought up, no root). With --results, one test's observed paths
// from a JSON report are drawn on it.
import { readFileSync } from 'node:fs';
import { writeOutputFile } from '../engine/output.js';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { toDot } from '../graph/dot.js';
import { toMermaid } from '../graph/mermaid.js';
import { overlay, tracesOf, type Overlay } from '../graph/paths.js';
import { topology } from '../graph/topology.js';
import { loadLab } from '../lab/resolve.js';
import type { LabRun, TestResult } from '../run/results.js';

export const FORMATS = ['svg', 'dot', 'mermaid'] as const;
type Format = (typeof FORMATS)[number];

export interface GraphOpts { stage?: string; format?: string; output?: string; results?: string; test?: string }

const BY_EXTENSION: Record<string, Format> = { '.svg': 'svg', '.dot': 'dot', '.gv': 'dot', '.mmd': 'mermaid', '.mermaid': 'mermaid' };

export async function run(file: string, opts: GraphOpts): Promise<number> {
  const format = (opts.format ?? BY_EXTENSION[extname(opts.output ?? '').toLowerCase()] ?? 'svg') as Format;
  if (!FORMATS.includes(format)) throw new UsageError(`unknown format '${opts.format}'`, `use one of: ${FORMATS.join(', ')}`);
  if (opts.test !== undefined && !opts.results) throw new UsageError('--test picks a test from --results FILE', 'run with --reporter json (or --artifacts DIR, which keeps report.json) and pass that file');
  const lab = loadLab(file);
  let stage = opts.stage;
  let paths: Overlay | undefined;
  if (opts.results) {
    const r = pickResult(lab.name, opts.results, opts.test);
    if (stage !== undefined && stage !== r.stage) throw new UsageError(`test '${r.name}' ran at stage '${r.stage}', not '${stage}'`, 'leave out --stage: the test\'s own stage is drawn');
    stage = r.stage;
    paths = overlay(tracesOf(r, lab.nodes.map((n) => n.name)), topology(lab, stage));
  }
  const topo = topology(lab, stage);
  const text = format === 'mermaid' ? toMermaid(topo, paths)
    : format === 'dot' ? toDot(topo, paths)
    : await (await import('../graph/svg.js')).dotToSvg(toDot(topo, paths));
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

/** The one result of this lab in a JSON report whose 'stage › name' matches PATTERN (the first failure when no pattern). */
function pickResult(labName: string, file: string, pattern?: string): TestResult {
  let report: { labs?: LabRun[] };
  try { report = JSON.parse(readFileSync(file, 'utf8')) as { labs?: LabRun[] }; } catch (e) {
    throw new UsageError(`cannot read results '${file}': ${(e as Error).message}`, 'pass the report.json of a run (--reporter json, or --artifacts DIR)');
  }
  let re: RegExp | undefined;
  try { re = pattern !== undefined ? new RegExp(pattern) : undefined; } catch { throw new UsageError(`--test '${pattern}' is not a valid regular expression`); }
  const tests = (report.labs ?? []).filter((l) => l.lab === labName).flatMap((l) => l.tests);
  if (!tests.length) throw new UsageError(`'${file}' has no results for lab '${labName}'`);
  const drawn = tests.filter((t) => t.traces?.length || t.request !== undefined);
  const hits = re ? drawn.filter((t) => re.test(`${t.stage} › ${t.name}`)) : drawn.filter((t) => t.status === 'failed').slice(0, 1);
  const names = drawn.map((t) => `'${t.stage} › ${t.name}'`).join(', ');
  if (hits.length === 1) return hits[0]!;
  if (!hits.length) throw new UsageError(re ? `no test with paths matches '${pattern}'` : 'no failed test with paths in these results', `tests with paths: ${names || '(none)'}`);
  throw new UsageError(`${hits.length} tests match '${pattern}'`, `narrow it to one of: ${hits.map((t) => `'${t.stage} › ${t.name}'`).join(', ')}`);
}

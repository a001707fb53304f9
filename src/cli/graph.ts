// nslab graph: the topology as SVG, DOT or Mermaid, from the lab file alone
// (nothing is brought up, no root). With --results, one test's observed paths
// from a JSON report are drawn on it.
import { writeOutputFile } from '../engine/output.js';
import { extname } from 'node:path';
import { UsageError } from '../errors.js';
import { toDot } from '../graph/dot.js';
import { toMermaid } from '../graph/mermaid.js';
import { overlay, type Overlay } from '../graph/paths.js';
import { resultToDraw } from '../graph/results.js';
import { topology } from '../graph/topology.js';
import { loadLab } from '../lab/resolve.js';

export const FORMATS = ['svg', 'dot', 'mermaid'] as const;
type Format = (typeof FORMATS)[number];

export interface GraphOpts {
  stage?: string;
  format?: string;
  output?: string;
  results?: string;
  test?: string;
}

const BY_EXTENSION: Record<string, Format> = {
  '.svg': 'svg',
  '.dot': 'dot',
  '.gv': 'dot',
  '.mmd': 'mermaid',
  '.mermaid': 'mermaid',
};

export async function run(file: string, opts: GraphOpts): Promise<number> {
  const format = (opts.format ?? BY_EXTENSION[extname(opts.output ?? '').toLowerCase()] ?? 'svg') as Format;
  if (!FORMATS.includes(format))
    throw new UsageError(`unknown format '${opts.format}'`, `use one of: ${FORMATS.join(', ')}`);
  if (opts.test !== undefined && !opts.results)
    throw new UsageError(
      '--test picks a test from --results FILE',
      'run with --reporter json (or --artifacts DIR, which keeps report.json) and pass that file',
    );
  const lab = loadLab(file);
  let stage = opts.stage;
  let paths: Overlay | undefined;
  if (opts.results) {
    // read through a schema, its hops checked against this lab (exit 2 at the JSON path of what is wrong)
    const r = resultToDraw(lab, opts.results, opts.test);
    if (stage !== undefined && stage !== r.stage)
      throw new UsageError(
        `test '${r.name}' ran at stage '${r.stage}', not '${stage}'`,
        "leave out --stage: the test's own stage is drawn",
      );
    stage = r.stage;
    paths = overlay(r.traces, topology(lab, stage));
  }
  const topo = topology(lab, stage);
  const text =
    format === 'mermaid'
      ? toMermaid(topo, paths)
      : format === 'dot'
        ? toDot(topo, paths)
        : await (await import('../graph/svg.js')).dotToSvg(toDot(topo, paths));
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

// `nslab graph --results FILE`: the report is read through a schema and its hops
// checked against the lab (exit 2 at the JSON path of each wrong field, never a
// stack trace nor `undefined`); and every format escapes every field it draws,
// shown with hostile text (quotes, line breaks, ], |, <script>, a Mermaid click,
// backslashes, Unicode line separators) against the structure of the output.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LabFileError, UsageError } from '../../src/errors.js';
import { toDot } from '../../src/graph/dot.js';
import { toMermaid } from '../../src/graph/mermaid.js';
import { overlay, type Overlay } from '../../src/graph/paths.js';
import { jsonPath, resultToDraw } from '../../src/graph/results.js';
import { dotToSvg } from '../../src/graph/svg.js';
import { topology, type Topology } from '../../src/graph/topology.js';
import { loadLab } from '../../src/lab/resolve.js';
import type { Trace } from '../../src/traces/trace.js';
import { parseXml, svgStructure, type El } from './svg-structure.js';

const LAB = 'labs/dual-nic-reply-path.yaml';
const lab = loadLab(LAB);
const STAGE = 'with a routing table for eth1';
const CLI = join(process.cwd(), 'dist/bin/main.js');
const dir = mkdtempSync(join(tmpdir(), 'nslab-graph-results-'));

const hop = (node: string, inIf: string | undefined, out: string | undefined, src: string, dst: string) => ({
  node,
  ...(inIf ? { in: inIf } : {}),
  ...(out ? { out } : {}),
  src,
  dst,
  evidence: [],
});
const traces = (): Trace[] => [
  {
    direction: 'request',
    disposition: 'delivered',
    hops: [
      hop('pc2', undefined, 'eth0', '192.168.2.17', '192.168.1.220'),
      hop('router', 'lan', 'net1', '192.168.2.17', '192.168.1.220'),
      hop('sw1', 'p2', 'p1', '192.168.2.17', '192.168.1.220'),
      hop('server', 'eth1', undefined, '192.168.2.17', '192.168.1.220'),
    ],
  },
  {
    direction: 'reply',
    disposition: 'asymmetric',
    at: 'server',
    divergesAt: 0,
    hops: [
      hop('server', undefined, 'eth0', '192.168.1.220', '192.168.2.17'),
      hop('router', 'net0', 'lan', '192.168.1.220', '192.168.2.17'),
      hop('pc2', 'eth0', undefined, '192.168.1.220', '192.168.2.17'),
    ],
  },
];
/** A report as `nslab test --reporter json` writes it, one failed test with these traces (or changes made to it). */
const report = (change: (r: any) => void = () => {}) => {
  const r = {
    version: 1,
    totals: {},
    summary: '',
    labs: [
      {
        lab: lab.name,
        file: LAB,
        instance: 'i',
        durationMs: 1,
        tests: [
          {
            lab: lab.name,
            file: LAB,
            stage: STAGE,
            name: 'fails',
            probe: 'ping',
            status: 'failed',
            durationMs: 1,
            checks: [],
            facts: {},
            artifacts: [],
            at: 'x',
            traces: traces(),
          },
        ],
      },
    ],
  };
  change(r);
  return r;
};
let n = 0;
const fileOf = (data: unknown) => {
  const f = join(dir, `r${n++}.json`);
  writeFileSync(f, typeof data === 'string' ? data : JSON.stringify(data, null, 2));
  return f;
};
const FROM_A_RUN =
  '    hint: pass the report.json of a run as nslab wrote it (nslab test --reporter json, or --artifacts DIR)';
/** The messages resultToDraw refuses a report with (as the CLI prints them), or 'accepted'. */
const refused = (data: unknown): string => {
  const f = fileOf(data);
  try {
    resultToDraw(lab, f);
    return 'accepted';
  } catch (e) {
    if (e instanceof LabFileError) return e.message.replaceAll(f, 'R.json');
    if (e instanceof UsageError) return `nslab: ${e.message}`;
    throw e;
  }
};

describe('the results file is read through a schema', () => {
  it('a report as nslab writes it is accepted, its traces drawn as they are (the twin of every refusal below)', () => {
    expect(refused(report())).toBe('accepted');
    expect(resultToDraw(lab, fileOf(report()))).toEqual({ stage: STAGE, name: 'fails', traces: traces() });
  });

  it('a direction other than request or reply: its JSON path, at its line, and the values allowed', () => {
    expect(
      refused(
        report((r) => {
          r.labs[0].tests[0].traces[1].direction = 'reply"|\n  click n0 href "javascript:alert(1)"';
        }),
      ),
    ).toBe(
      `R.json:62:28: labs[0].tests[0].traces[1].direction: 'reply"|\\n  click n0 href "javascript:aler…' is not allowed\n` +
        '    hint: use one of: request, reply',
    );
  });

  it('hops naming a node or an interface the lab does not have, `at` and `divergesAt` out of the lab or the trace', () => {
    expect(
      refused(
        report((r) => {
          const [req, rep] = r.labs[0].tests[0].traces;
          req.hops[1].node = 'ghost';
          req.hops[2].out = 'p9';
          rep.at = 'nowhere';
          rep.divergesAt = 7;
        }),
      ).split('\n'),
    ).toEqual([
      "R.json:37:27: labs[0].tests[0].traces[0].hops[1].node: 'ghost' is not a node of lab 'dual-nic-reply-path'",
      "    hint: draw the results with the lab file they were made with; nodes of lab 'dual-nic-reply-path': pc2, pc1, sw1, router, server",
      "R.json:47:26: labs[0].tests[0].traces[0].hops[2].out: node 'sw1' has no interface 'p9'",
      '    hint: its interfaces: lo, p1, p2, p3, br0',
      "R.json:64:21: labs[0].tests[0].traces[1].at: 'nowhere' is not a node of lab 'dual-nic-reply-path'",
      "    hint: draw the results with the lab file they were made with; nodes of lab 'dual-nic-reply-path': pc2, pc1, sw1, router, server",
      'R.json:65:29: labs[0].tests[0].traces[1].divergesAt: 7 is not a hop of this trace (it has 3)',
      '    hint: pass the report.json of a run as nslab wrote it (nslab test --reporter json, or --artifacts DIR)',
    ]);
  });

  it('wrong types and missing fields: each at its JSON path; not JSON at its line and column', () => {
    const out = refused(
      report((r) => {
        const t = r.labs[0].tests[0];
        t.traces[0].hops[0].src = 42;
        delete t.traces[0].disposition;
        t.traces[1].hops = 'server>eth0';
        t.status = null;
      }),
    );
    expect(out).toContain(
      'R.json:18:21: labs[0].tests[0].status: null is not allowed\n    hint: use one of: passed, failed, skipped\n',
    );
    expect(out).toMatch(
      /^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.traces\[0\]\.hops\[0\]\.src: expected a string, got 42$/m,
    );
    expect(out).toMatch(/^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.traces\[0\]: missing 'disposition'$/m);
    expect(out).toMatch(
      /^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.traces\[1\]\.hops: expected a list, got 'server>eth0'$/m,
    );
    expect(out).not.toMatch(/undefined|\n\s+at /);
    expect(refused('{"version": 1,\n  "labs": [}')).toMatch(/^R\.json:2:12: not JSON: /);
    expect(refused({ nodes: {} })).toBe(
      `R.json:1:1: (the top): missing 'version'\n${FROM_A_RUN}\nR.json:1:1: (the top): missing 'labs'\n${FROM_A_RUN}`,
    );
  });

  it('results without traces: each token of the path text must be a node of the lab', () => {
    const text = (request: string) =>
      report((r) => {
        const t = r.labs[0].tests[0];
        delete t.traces;
        t.request = request;
        t.reply = '(not seen)';
      });
    expect(refused(text('pc2>eth0 -> lan>router>net1 -> p2>sw1>p1 -> eth1>server'))).toBe('accepted');
    expect(refused(text('pc2>eth0 -> lan>router>net1 -> <script>'))).toMatch(
      /^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.request: '<script>' is not a node of lab 'dual-nic-reply-path'\n/,
    );
  });

  it('a stage the lab does not have; text with control characters is shown escaped; many problems are cut at 20', () => {
    expect(
      refused(
        report((r) => {
          r.labs[0].tests[0].stage = 'elsewhere';
        }),
      ),
    ).toMatch(/^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.stage: lab 'dual-nic-reply-path' has no stage 'elsewhere'\n/);
    expect(
      refused(
        report((r) => {
          r.labs[0].tests[0].name = 'a\u001b[31mred\nline';
        }),
      ),
    ).toMatch(
      /^R\.json:\d+:\d+: labs\[0\]\.tests\[0\]\.name: 'a\\u001b\[31mred\\nline' contains a line break or control character\n/,
    );
    const many = refused(
      report((r) => {
        for (const h of r.labs[0].tests[0].traces.flatMap((x: Trace) => x.hops))
          Object.assign(h, { src: 1, dst: 2, node: 3 });
      }),
    );
    expect(many.split('\n').filter((l) => l.startsWith('R.json'))).toHaveLength(21);
    expect(many).toMatch(/R\.json:1:1: and 1 more problems\n {4}hint: fix the ones above first$/);
  });

  it('jsonPath spells paths as JavaScript would', () => {
    expect(jsonPath(['labs', 0, 'tests', 12, 'traces'])).toBe('labs[0].tests[12].traces');
    expect(jsonPath([])).toBe('(the top)');
  });
});

// ---- every format escapes what it draws ----
const HOSTILE =
  'x"]|\n  click n0 href "javascript:alert(1)"\n  n9["<script>alert(1)</script>"]\\N\\"\u2028\u2029\r`%% ]]> &amp; \u0000';
/**
 * The topology and paths of the bundled lab, every name, address and direction carrying the hostile text (as an API
 * caller could).
 */
function hostile(): { t: Topology; o: Overlay; plain: { t: Topology; o: Overlay } } {
  const plainT = topology(lab, STAGE);
  const plainO = overlay(traces(), plainT);
  const x = (s: string) => `${s}${HOSTILE}`;
  const t: Topology = {
    ...plainT,
    lab: x(plainT.lab),
    stage: x(STAGE),
    nodes: plainT.nodes.map((nd) => ({
      ...nd,
      name: x(nd.name),
      ifaces: nd.ifaces.map((i) => ({
        ...i,
        name: x(i.name),
        addresses: i.addresses.map((a) => ({ ...a, text: x(a.text) })),
      })),
      routes: nd.routes.map((r) => ({ ...r, text: x(r.text) })),
      rules: nd.rules.map((r) => ({ ...r, text: x(r.text) })),
    })),
    links: plainT.links.map((l) => ({
      ...l,
      id: x(l.id),
      a: { node: x(l.a.node), iface: x(l.a.iface) },
      b: { node: x(l.b.node), iface: x(l.b.iface) },
      shaping: l.shaping.map(x),
    })),
  };
  const o: Overlay = {
    dispositions: plainO.dispositions,
    edges: plainO.edges.map((e) => ({
      ...e,
      direction: x(e.direction) as Trace['direction'],
      from: { node: x(e.from.node), iface: x(e.from.iface!) },
      to: { node: x(e.to.node), iface: x(e.to.iface!) },
      ...(e.link ? { link: x(e.link) } : {}),
      src: x(e.src),
      dst: x(e.dst),
    })),
    marks: plainO.marks.map((m) => ({ ...m, node: x(m.node), iface: x(m.iface ?? ''), text: x(m.text) })),
  };
  return { t, o, plain: { t: plainT, o: plainO } };
}

describe('every graph format escapes every field it draws', () => {
  const { t, o, plain } = hostile();

  it('Mermaid: as many lines as with plain names, each a statement toMermaid writes; no click, no raw quote or HTML', () => {
    const text = toMermaid(t, o);
    const lines = text.split('\n');
    expect(lines).toHaveLength(toMermaid(plain.t, plain.o).split('\n').length);
    const STATEMENT = new RegExp(
      [
        '^(flowchart LR',
        '  %% [^\\n]*',
        '  n\\d+\\["[^"]*"\\]',
        '  n\\d+\\{\\{"[^"]*"\\}\\}',
        '  n\\d+ (---|-\\.-|-->)\\|"[^"|]*"\\| n\\d+',
        '  classDef \\w+ [^\\s]+',
        '  class (n\\d+,)*n\\d+ \\w+',
        '  linkStyle \\d+ [^\\s]+',
        ')$',
      ].join('|'),
    );
    for (const line of lines) expect(line, line).toMatch(STATEMENT);
    expect(text).not.toMatch(/^\s*click\b|<script|[\u2028\u2029\r\u0000`]/m);
    // the text, as entities
    expect(text).toContain('#quot;]#124;#10;  click n0 href #quot;javascript:alert(1)#quot;#10;');
    // the twin: with plain names it draws the same statements
    const shape = (l: string) =>
      l
        .replace(/"[^"]*"/g, '""')
        .replace(/^ {2}%% .*/, '  %%')
        .replace(/#[0-9a-f]{6}/g, '#');
    expect(toMermaid(plain.t, plain.o).split('\n').map(shape)).toEqual(lines.map(shape));
  });

  it('DOT: Graphviz reads it (a NUL no longer ends a string), with as many nodes and edges as with plain names', async () => {
    const dot = toDot(t, o);
    expect(dot).not.toMatch(/[\u0000\u2028\u2029\r]/);
    const svg = svgStructure(await dotToSvg(dot));
    const plainSvg = svgStructure(await dotToSvg(toDot(plain.t, plain.o)));
    expect([svg.nodes.length, svg.edges.length]).toEqual([plainSvg.nodes.length, plainSvg.edges.length]);
    // each node's id is its name, text and all (control characters as \uXXXX)
    expect(svg.nodes.map((nd) => nd.id.split(HOSTILE.slice(0, 4))[0]).sort()).toEqual(
      plainSvg.nodes.map((nd) => nd.id).sort(),
    );
    // (Graphviz writes a second space as a no-break space)
    const id =
      'x"]|\\n  click n0 href "javascript:alert(1)"\\n  n9["<script>alert(1)</script>"]\\N\\"\\u2028\\u2029\\u000d`';
    for (const nd of svg.nodes) expect(nd.id.replace(/\u00a0/g, ' ')).toContain(id);
  });

  it('SVG: the same elements as with plain names; the text is text, never an element', async () => {
    const names = (el: El): string[] => [el.name, ...el.children.flatMap(names)];
    const svg = parseXml(await dotToSvg(toDot(t, o)));
    const plainSvg = parseXml(await dotToSvg(toDot(plain.t, plain.o)));
    expect(new Set(names(svg))).toEqual(new Set(names(plainSvg)));
    expect(names(svg)).not.toContain('script');
    const texts = (el: El): string[] => [el.text, ...el.children.flatMap(texts)];
    expect(texts(svg).some((x) => x.includes('<script>alert(1)</script>'))).toBe(true); // shown, as text
  });
});

describe('the shipped CLI: nslab graph --results', { timeout: 60_000 }, () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'graph', LAB, ...args], {
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
  it('a direction that would add Mermaid statements is refused, exit 2, nothing drawn; the report nslab writes is drawn', () => {
    expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
    const injection = 'reply"|\n  click n0 href "javascript:alert(1)"\n  n9["<img src=x onerror=alert(1)>"]';
    const bad = fileOf(
      report((r) => {
        r.labs[0].tests[0].traces[1].direction = injection;
      }),
    );
    const r = run(['--results', bad, '--format', 'mermaid']);
    expect([r.status, r.stdout]).toEqual([2, '']);
    expect(r.stderr).toBe(
      `${bad}:62:28: labs[0].tests[0].traces[1].direction: 'reply"|\\n  click n0 href "javascript:aler…' is not allowed\n` +
        '    hint: use one of: request, reply\n',
    );
    const ghost = run([
      '--results',
      fileOf(
        report((r) => {
          r.labs[0].tests[0].traces[0].hops[1].node = 'ghost';
        }),
      ),
      '--format',
      'mermaid',
    ]);
    expect([ghost.status, ghost.stdout]).toEqual([2, '']);
    expect(ghost.stderr).not.toMatch(/undefined|internal error/);
    const good = run(['--results', fileOf(report()), '--format', 'mermaid']);
    expect([good.status, good.stderr]).toEqual([0, '']);
    expect(good.stdout).toMatch(/^ {2}n4 -->\|"reply 1"\| n3$/m);
  });
});

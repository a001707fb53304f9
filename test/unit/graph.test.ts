// Topology pictures of every bundled lab, at its base and at each stage: DOT and
// Mermaid goldens, and the structure of the SVG Graphviz draws from them (node and
// edge ids, titles, texts; never pixels). Besides the goldens, the structure is
// checked against the lab model itself, so a golden accepted by mistake is caught.
// Observed paths: hand-built traces (the shape of src/traces/trace.ts) drawn on the topology.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toDot } from '../../src/graph/dot.js';
import { toMermaid } from '../../src/graph/mermaid.js';
import { overlay, tracesOf } from '../../src/graph/paths.js';
import { dotToSvg } from '../../src/graph/svg.js';
import { topology, type Topology } from '../../src/graph/topology.js';
import type { LabModel } from '../../src/lab/model.js';
import { loadLab } from '../../src/lab/resolve.js';
import type { Trace } from '../../src/traces/trace.js';
import { svgStructure } from './svg-structure.js';

const labs = readdirSync('labs')
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const CLI = join(process.cwd(), 'dist/bin/main.js');

/** What the SVG must show of the topology: a node per lab node with its interfaces and addresses, an edge per link. */
function problemsOf(t: Topology, svg: ReturnType<typeof svgStructure>): string[] {
  const problems: string[] = [];
  const nodes = new Map(svg.nodes.map((n) => [n.id, n]));
  for (const n of t.nodes) {
    const g = nodes.get(`node-${n.name}`);
    if (!g) {
      problems.push(`node ${n.name} is not drawn`);
      continue;
    }
    for (const i of n.ifaces) {
      if (!g.texts.includes(i.name)) problems.push(`${n.name}:${i.name} is not drawn`);
      for (const a of i.addresses)
        if (!g.texts.includes(a.added ? `+ ${a.text}` : a.text))
          problems.push(`${n.name}:${i.name} ${a.text} is not drawn`);
    }
    for (const r of n.routes)
      if (!g.texts.includes(`${r.added ? '+ ' : ''}route ${r.text}`))
        problems.push(`${n.name}: route ${r.text} is not drawn`);
  }
  const edges = new Set(svg.edges.map((e) => e.id));
  for (const l of t.links) if (!edges.has(`link-${l.id}`)) problems.push(`link ${l.id} is not drawn`);
  if (svg.nodes.length !== t.nodes.length) problems.push(`${svg.nodes.length} nodes drawn for ${t.nodes.length}`);
  return problems;
}

const stagesOf = (lab: LabModel) => [undefined, ...lab.stages.map((s) => s.name)];

describe('nslab graph: every bundled lab, base and each stage', () => {
  for (const f of labs) {
    const lab = loadLab(`labs/${f}`);
    it(`${f}: DOT golden`, async () => {
      const text = stagesOf(lab)
        .map((s) => `// ---- ${s ?? '(base)'}\n${toDot(topology(lab, s))}`)
        .join('\n');
      await expect(text).toMatchFileSnapshot(`__snapshots__/graph/${lab.name}.dot`);
    });
    it(`${f}: Mermaid golden`, async () => {
      const text = stagesOf(lab)
        .map((s) => `%% ---- ${s ?? '(base)'}\n${toMermaid(topology(lab, s))}`)
        .join('\n');
      await expect(text).toMatchFileSnapshot(`__snapshots__/graph/${lab.name}.mmd`);
      // a node per lab node, an edge per link, in every stage
      for (const s of stagesOf(lab)) {
        const m = toMermaid(topology(lab, s));
        expect(m.split('\n')[0]).toBe('flowchart LR');
        expect(m.match(/^ {2}n\d+(\[|\{\{)"/gm)).toHaveLength(lab.nodes.length);
        expect(m.match(/^ {2}n\d+ (---|-\.-)\|/gm)).toHaveLength(lab.links.length);
      }
    });
    it(`${f}: SVG structure golden, and it shows the model`, async () => {
      const structure: Record<string, unknown> = {};
      for (const s of stagesOf(lab)) {
        const t = topology(lab, s);
        const svg = svgStructure(await dotToSvg(toDot(t)));
        expect(problemsOf(t, svg)).toEqual([]);
        structure[s ?? '(base)'] = svg;
      }
      await expect(JSON.stringify(structure, null, 1) + '\n').toMatchFileSnapshot(
        `__snapshots__/graph/${lab.name}.svg.json`,
      );
    });
  }

  it('the structure check fails on a picture that lacks a link or an address (the twin)', async () => {
    const lab = loadLab('labs/dual-nic-reply-path.yaml');
    const t = topology(lab);
    const fewer: Topology = {
      ...t,
      links: t.links.slice(1),
      nodes: t.nodes.map((n) =>
        n.name === 'server' ? { ...n, ifaces: n.ifaces.map((i) => ({ ...i, addresses: i.addresses.slice(1) })) } : n,
      ),
    };
    const problems = problemsOf(t, svgStructure(await dotToSvg(toDot(fewer))));
    expect(problems).toContain('link pc2:eth0--router:lan is not drawn');
    expect(problems).toContain('server:eth1 192.168.1.220/24 is not drawn');
  });
});

describe('stage changes', () => {
  const lab = loadLab('labs/dual-nic-reply-path.yaml');
  it("marks what the stage adds, and only that stage's additions", () => {
    const fix = topology(lab, 'with a routing table for eth1').nodes.find((n) => n.name === 'server')!;
    expect(fix.rules).toEqual([{ text: 'from 192.168.1.220 table gateway1', added: true }]);
    expect(fix.routes.filter((r) => r.added).map((r) => r.text)).toEqual([
      'default via 10.0.0.1',
      '192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1',
      'default via 192.168.1.254 table gateway1',
    ]);
    // the stage's default route replaces the base one, as `ip route replace` does
    expect(fix.routes.filter((r) => r.text === 'default via 10.0.0.1')).toHaveLength(1);
    expect(fix.ifaces.find((i) => i.name === 'eth0')).toMatchObject({ down: false, changed: 'up' });
    // a later stage keeps the rule, no longer as its own
    const later = topology(lab, 'eth0 down, with policy routing').nodes.find((n) => n.name === 'server')!;
    expect(later.rules).toEqual([{ text: 'from 192.168.1.220 table gateway1', added: false }]);
    expect(topology(lab).nodes.find((n) => n.name === 'server')!.rules).toEqual([]);
  });
  it('an interface taken down greys its link, dashed', () => {
    const t = topology(lab, 'eth0 down, without policy routing');
    expect(t.links.find((l) => l.id === 'server:eth0--router:net0')!.down).toBe(true);
    expect(toDot(t)).toMatch(
      /"server":"eth0" -- "router":"net0" \[id="link-server:eth0--router:net0", class="link", tooltip="[^"]*", style=dashed/,
    );
    expect(topology(lab).links.every((l) => !l.down)).toBe(true);
  });
  it('shows shaping on the link', () => {
    expect(topology(lab).links.find((l) => l.id === 'server:eth1--sw1:p1')!.shaping).toEqual(['rate 10mbit']);
  });
});

// the bug stage's first test, as the probes trace it: the request in on eth1, the reply out through eth0
const hop = (node: string, inIf: string | undefined, out: string | undefined, src: string, dst: string) => ({
  node,
  ...(inIf ? { in: inIf } : {}),
  ...(out ? { out } : {}),
  src,
  dst,
  evidence: [{ frame: 1, ts: 1, iface: out ?? inIf!, dir: out ? ('out' as const) : ('in' as const) }],
});
const asymmetric: Trace[] = [
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
const dropped: Trace[] = [
  {
    direction: 'request',
    disposition: 'dropped-no-route',
    at: 'router',
    hops: [
      hop('pc2', undefined, 'eth0', '192.168.2.17', '10.9.9.9'),
      hop('router', 'lan', undefined, '192.168.2.17', '10.9.9.9'),
    ],
  },
];

describe('observed paths drawn on the topology', () => {
  const lab = loadLab('labs/dual-nic-reply-path.yaml');
  const t = topology(lab);

  it('request and reply in two colours, arrows the way each went, the divergence marked', async () => {
    const o = overlay(asymmetric, t);
    expect(o.edges.map((e) => `${e.direction} ${e.step} ${e.link}`)).toEqual([
      'request 1 pc2:eth0--router:lan',
      'request 2 router:net1--sw1:p2',
      'request 3 server:eth1--sw1:p1',
      'reply 1 server:eth0--router:net0',
      'reply 2 pc2:eth0--router:lan',
    ]);
    const dot = toDot(t, o);
    await expect(dot).toMatchFileSnapshot('__snapshots__/graph/paths-asymmetric.dot');
    const svg = svgStructure(await dotToSvg(dot));
    const edge = (title: string) => svg.edges.find((e) => e.title === title)!;
    // the link both crossed: both colours, one each way
    expect(edge('pc2:eth0--router:lan')).toMatchObject({
      id: 'path-request-1+reply-2',
      class: 'edge path request reply',
    });
    expect(edge('server:eth0--router:net0')).toMatchObject({ id: 'path-reply-1', class: 'edge path reply' });
    expect(edge('server:eth1--sw1:p1')).toMatchObject({ id: 'path-request-3', class: 'edge path request' });
    expect(edge('pc1:eth0--sw1:p3')).toMatchObject({ id: 'link-pc1:eth0--sw1:p3', class: 'edge link' });
    expect(svg.nodes.find((n) => n.id === 'node-server')!.texts).toContain('⚑ reply diverges here (left through eth0)');
    expect(svg.nodes.filter((n) => n.texts.some((x) => x.startsWith('⚑')))).toHaveLength(1);
    // colours and arrow directions, in the DOT that drew it: the request's head at router:lan, the reply's at pc2
    expect(dot).toMatch(
      /"pc2":"eth0" -- "router":"lan" \[id="path-request-1\+reply-2", class="path request reply", dir=both, color="#2563eb:#ea580c"/,
    );
    expect(dot).toMatch(
      /"server":"eth0" -- "router":"net0" \[id="path-reply-1", class="path reply", dir=forward, color="#ea580c"/,
    );
    expect(dot).toMatch(
      /"server":"eth1" -- "sw1":"p1" \[id="path-request-3", class="path request", dir=back, color="#2563eb"/,
    );
  });

  it('a path that died is marked where it died, with the cause', async () => {
    const o = overlay(dropped, t);
    expect(o.marks).toEqual([
      { direction: 'request', node: 'router', iface: 'lan', kind: 'ended', text: 'request: dropped here: no route' },
    ]);
    expect(toDot(t, o)).toMatch(/<td port="lan" align="left" balign="left" bgcolor="#fee2e2" color="#dc2626">/);
    const svg = svgStructure(await dotToSvg(toDot(t, o)));
    expect(svg.nodes.find((n) => n.id === 'node-router')!.texts).toContain('✗ request: dropped here: no route');
    expect(svg.nodes.find((n) => n.id === 'node-server')!.texts.some((x) => /^[✗⚑]/.test(x))).toBe(false);
  });

  it('Mermaid carries the paths too', () => {
    const m = toMermaid(t, overlay(asymmetric, t));
    expect(m).toMatch(/^ {2}n4 -->\|"reply 1"\| n3$/m);
    expect(m).toMatch(/^ {2}linkStyle 5 stroke:#2563eb/m);
    expect(m).toMatch(/^ {2}class n4 marked$/m);
  });

  it('results without traces: the path text is read back, the reply that went astray marked', () => {
    const traces = tracesOf(
      {
        request: 'pc2>eth0 -> lan>router>net1 -> p2>sw1>p1 -> eth1>server',
        reply: 'server>eth0 -> net0>router>lan -> eth0>pc2',
        status: 'failed',
        checks: [{ name: 'reply-via', ok: false }],
      },
      lab.nodes.map((n) => n.name),
    );
    expect(traces.map((x) => x.hops.map((h) => `${h.in ?? ''}/${h.node}/${h.out ?? ''}`).join(' '))).toEqual([
      '/pc2/eth0 lan/router/net1 p2/sw1/p1 eth1/server/',
      '/server/eth0 net0/router/lan eth0/pc2/',
    ]);
    expect(traces[1]!.divergesAt).toBe(0);
    // a passing test, or one whose reply was expected this way, marks nothing
    expect(
      tracesOf({ request: 'pc2>eth0 -> eth0>server', reply: 'server>eth1 -> eth0>pc2', status: 'passed' }, [
        'pc2',
        'server',
      ])[1]!.divergesAt,
    ).toBeUndefined();
    expect(tracesOf({ traces: asymmetric, request: 'x' }, [])).toBe(asymmetric);
  });
});

// each spawns the bundle several times: generous time on a loaded machine
describe('the shipped CLI: nslab graph (no root, nothing brought up)', { timeout: 60_000 }, () => {
  const run = (args: string[]) =>
    spawnSync(process.execPath, [CLI, 'graph', ...args], {
      encoding: 'utf8',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
  it('renders SVG (Graphviz wasm inside the bundle), DOT and Mermaid', () => {
    expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
    const lab = loadLab('labs/two-isp-nat-gateway.yaml');
    const svg = run(['labs/two-isp-nat-gateway.yaml', '--stage', 'replies per line']);
    expect(svg.stderr).toBe('');
    expect(svg.status).toBe(0);
    expect(problemsOf(topology(lab, 'replies per line'), svgStructure(svg.stdout))).toEqual([]);
    expect(run(['labs/two-isp-nat-gateway.yaml', '--format', 'dot']).stdout).toBe(toDot(topology(lab)));
    expect(run(['labs/two-isp-nat-gateway.yaml', '--format', 'mermaid']).stdout).toBe(toMermaid(topology(lab)));
  });
  it('-o FILE picks the format from its extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-graph-'));
    for (const [file, head] of [
      ['g.svg', '<?xml'],
      ['g.dot', 'graph "dual-nic-reply-path"'],
      ['g.mmd', 'flowchart LR'],
    ] as const) {
      expect(run(['labs/dual-nic-reply-path.yaml', '-o', join(dir, file)]).status).toBe(0);
      expect(readFileSync(join(dir, file), 'utf8').startsWith(head)).toBe(true);
    }
  });
  it('--results draws a test of a JSON report on the topology at its stage', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-graph-'));
    const result = (name: string, status: string, traces?: Trace[]) => ({
      lab: 'dual-nic-reply-path',
      file: 'labs/dual-nic-reply-path.yaml',
      stage: 'with a routing table for eth1',
      name,
      probe: 'ping',
      status,
      durationMs: 1,
      checks: [],
      facts: {},
      artifacts: [],
      at: 'x',
      ...(traces ? { traces } : {}),
    });
    const report = join(dir, 'report.json');
    writeFileSync(
      report,
      JSON.stringify({
        version: 1,
        labs: [
          {
            lab: 'dual-nic-reply-path',
            file: 'labs/dual-nic-reply-path.yaml',
            instance: 'i',
            durationMs: 1,
            tests: [
              result('passes', 'passed', asymmetric.slice(0, 1)),
              result('fails', 'failed', asymmetric),
              result('no traffic', 'passed'),
            ],
          },
        ],
      }),
    );
    const lab = loadLab('labs/dual-nic-reply-path.yaml');
    const t = topology(lab, 'with a routing table for eth1');
    // without --test: the first failure
    expect(run(['labs/dual-nic-reply-path.yaml', '--results', report, '--format', 'dot']).stdout).toBe(
      toDot(t, overlay(asymmetric, t)),
    );
    expect(
      run(['labs/dual-nic-reply-path.yaml', '--results', report, '--test', 'pass', '--format', 'dot']).stdout,
    ).toBe(toDot(t, overlay(asymmetric.slice(0, 1), t)));
    const none = run(['labs/dual-nic-reply-path.yaml', '--results', report, '--test', 'nothing like it']);
    expect(none.status).toBe(2);
    expect(none.stderr).toContain(
      "no test with paths matches 'nothing like it'\n    hint: tests with paths: 'with a routing table for eth1 › passes', 'with a routing table for eth1 › fails'",
    );
    expect(run(['labs/dual-nic-reply-path.yaml', '--results', report, '--test', 'with']).stderr).toMatch(
      /2 tests match 'with'/,
    );
    expect(
      run(['labs/dual-nic-reply-path.yaml', '--results', report, '--stage', 'without policy routing']).stderr,
    ).toMatch(/test 'fails' ran at stage 'with a routing table for eth1', not 'without policy routing'/);
    expect(run(['labs/dual-nic-reply-path-v6.yaml', '--results', report]).stderr).toMatch(
      /has no results for lab 'dual-nic-reply-path-v6'/,
    );
  });
  it('refuses an unknown stage or format with exit 2 and says what there is', () => {
    const stage = run(['labs/dual-nic-reply-path.yaml', '--stage', 'nope']);
    expect(stage.status).toBe(2);
    expect(stage.stderr).toMatch(
      /lab 'dual-nic-reply-path' has no stage 'nope'\n {4}hint: stages: 'without policy routing'/,
    );
    expect(run(['labs/dual-nic-reply-path.yaml', '--format', 'png']).status).toBe(2);
    expect(run(['labs/dual-nic-reply-path.yaml', '--test', 'x']).stderr).toMatch(
      /--test picks a test from --results FILE/,
    );
  });
});

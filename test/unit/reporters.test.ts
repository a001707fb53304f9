import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { junitReport } from '../../src/report/junit.js';
import { tapReport } from '../../src/report/tap.js';
import { summaryLine, type LabRun } from '../../src/run/results.js';

const base = {
  lab: 'l',
  file: 'labs/l.yaml',
  probe: 'ping',
  durationMs: 12,
  checks: [],
  facts: {},
  artifacts: [],
  at: 'labs/l.yaml:3:5',
};
const runs: LabRun[] = [
  {
    lab: 'l',
    file: 'labs/l.yaml',
    instance: 'l.x',
    durationMs: 100,
    tests: [
      { ...base, stage: 'bug', name: 'replies <via> eth0 & "quoted"', status: 'passed' },
      {
        ...base,
        stage: 'bug',
        name: 'needs netem',
        status: 'skipped',
        reason: 'test needs sch_netem, which this kernel lacks',
      },
      {
        ...base,
        stage: 'fix',
        name: 'symmetric',
        status: 'failed',
        checks: [{ name: 'symmetric', ok: false, expected: 'true', observed: 'false (at s: ...)' }],
        request: 'a -> b',
        reply: 'b -> a',
        artifacts: ['/tmp/x.pcap'],
      },
    ],
  },
];

/** A small XML reader for the test: element names, attributes, nesting. */
function parseXml(xml: string) {
  const stack: { name: string; attrs: Record<string, string>; children: any[]; text: string }[] = [
    { name: 'root', attrs: {}, children: [], text: '' },
  ];
  const re = /<(\/?)([\w:]+)([^>]*?)(\/?)>|([^<]+)/g;
  for (const m of xml.replace(/<\?xml[^>]*\?>|<!--.*?-->/gs, '').matchAll(re)) {
    if (m[5]) {
      stack.at(-1)!.text += m[5];
      continue;
    }
    if (m[1]) {
      const el = stack.pop()!;
      expect(el.name).toBe(m[2]);
      continue;
    }
    const attrs = Object.fromEntries(
      [...m[3]!.matchAll(/([\w:]+)="([^"]*)"/g)].map((a) => [
        a[1],
        a[2]!
          .replace(/&quot;/g, '"')
          .replace(/&lt;/g, '<')
          .replace(/&gt;/g, '>')
          .replace(/&amp;/g, '&'),
      ]),
    );
    const el = { name: m[2]!, attrs, children: [], text: '' };
    stack.at(-1)!.children.push(el);
    if (!m[4]) stack.push(el);
  }
  expect(stack).toHaveLength(1);
  return stack[0]!.children[0];
}

describe('reporters', () => {
  it('junit parses back: one testsuite per lab and stage, failures and skips in place', () => {
    const root = parseXml(junitReport(runs));
    expect(root.name).toBe('testsuites');
    expect(root.attrs).toMatchObject({ tests: '3', failures: '1', skipped: '1' });
    expect(root.children.map((s: any) => s.attrs.name)).toEqual(['l › bug', 'l › fix']);
    const [bug, fix] = root.children;
    expect(bug.children[0].attrs.name).toBe('replies <via> eth0 & "quoted"');
    expect(bug.children[1].children[0]).toMatchObject({
      name: 'skipped',
      attrs: { message: 'test needs sch_netem, which this kernel lacks' },
    });
    expect(fix.children[0].children[0].name).toBe('failure');
    expect(fix.children[0].children[0].text).toMatch(/reply path: b -&gt; a/);
  });
  it('tap marks skips and failures', () => {
    const tap = tapReport(runs);
    expect(tap).toMatch(/^1\.\.3$/m);
    expect(tap).toMatch(/^ok 2 - l › bug › needs netem # SKIP test needs sch_netem/m);
    expect(tap).toMatch(/^not ok 3 - l › fix › symmetric$/m);
    expect(parseDocument(tap.split('  ---\n')[1]!.split('  ...')[0]!).errors).toEqual([]);
  });
  it('ends with the plain closing line', () => {
    expect(summaryLine(runs)).toBe('1 passed, 1 failed, 1 skipped');
  });
});

describe('a lab error is counted unless a test carries it', () => {
  it('a failed test of its own does not hide a later stage that failed to apply', () => {
    const r: LabRun[] = [{ ...runs[0]!, error: "stage 'three' failed to apply: nft said no", tests: runs[0]!.tests }];
    expect(summaryLine(r)).toBe('1 passed, 2 failed, 1 skipped'); // the failed test, and the error
    expect(junitReport(r)).toMatch(
      /<testcase name="lab" classname="l"><error message="stage &apos;three&apos; failed to apply: nft said no">/,
    );
    expect(tapReport(r)).toMatch(/^1\.\.4$/m);
  });
  it('tests reported as not run carry it', () => {
    const r: LabRun[] = [
      {
        ...runs[0]!,
        error: 'x',
        tests: [
          ...runs[0]!.tests,
          { ...base, stage: 'later', name: 't', status: 'failed', reason: "not run: stage 'later' failed to apply: x" },
        ],
      },
    ];
    expect(summaryLine(r)).toBe('1 passed, 2 failed, 1 skipped');
    expect(junitReport(r)).not.toMatch(/<testcase name="lab"/);
  });
});

describe('console: a failure draws its traces and says why', async () => {
  const chalk = (await import('chalk')).default;
  const { testLine, traceLine } = await import('../../src/report/console.js');
  const { jsonReport } = await import('../../src/report/json.js');
  chalk.level = 0;
  const ev = (iface: string, dir: 'in' | 'out', frame: number) => ({
    pcap: '/tmp/a/x-n.pcap',
    frame,
    ts: 1700000000.000001 * 1 + frame / 1e6,
    iface,
    dir,
  });
  const request = {
    direction: 'request' as const,
    disposition: 'delivered' as const,
    at: 'server',
    hops: [
      { node: 'pc2', out: 'eth0', src: '192.168.2.17', dst: '192.168.1.220', evidence: [ev('eth0', 'out', 3)] },
      {
        node: 'router',
        in: 'lan',
        out: 'net1',
        src: '192.168.2.17',
        dst: '192.168.1.220',
        evidence: [ev('lan', 'in', 4), ev('net1', 'out', 5)],
      },
      { node: 'server', in: 'eth1', src: '192.168.2.17', dst: '192.168.1.220', evidence: [ev('eth1', 'in', 2)] },
    ],
  };
  const reply = {
    direction: 'reply' as const,
    disposition: 'asymmetric' as const,
    at: 'server',
    divergesAt: 0,
    hops: [
      { node: 'server', out: 'eth0', src: '192.168.1.220', dst: '192.168.2.17', evidence: [ev('eth0', 'out', 3)] },
      {
        node: 'router',
        in: 'net0',
        out: 'lan',
        src: '192.168.1.220',
        dst: '192.168.2.17',
        evidence: [ev('net0', 'in', 6), ev('lan', 'out', 7)],
      },
      { node: 'pc2', in: 'eth0', src: '192.168.1.220', dst: '192.168.2.17', evidence: [ev('eth0', 'in', 4)] },
    ],
  };
  const why = [
    {
      node: 'server',
      decision:
        'server: reply from 192.168.1.220 to 192.168.2.17 matched rule 32766 (main) → default via 10.0.0.1 dev eth0',
      hint: 'on server: ip rule add from 192.168.1.220 table gateway1',
    },
  ];
  const failed = {
    ...base,
    stage: 'fix',
    name: 'reply-via',
    status: 'failed' as const,
    checks: [{ name: 'reply-via', ok: false, expected: 'server:eth1', observed: 'server:eth0' }],
    request: 'x',
    reply: 'y',
    traces: [request, reply],
    why,
  };

  it('one line per direction: where it left, the nodes, where it arrived, how it ended; the divergence bracketed', () => {
    expect(traceLine(request)).toBe('pc2 eth0 → router → server eth1 ✓ delivered');
    expect(traceLine(reply)).toBe('[server out eth0] → router → pc2 eth0 ✗ asymmetric at server');
    expect(
      traceLine({
        direction: 'request',
        disposition: 'dropped-filtered',
        at: 'router',
        hops: request.hops.slice(0, 2).map((h, i) => (i === 1 ? { ...h, out: undefined } : h)),
      }),
    ).toBe('pc2 eth0 → router lan ✗ dropped-filtered at router');
    expect(traceLine({ direction: 'reply', disposition: 'unanswered', at: 'server', hops: [] })).toBe(
      '(nothing captured) ✗ unanswered at server',
    );
  });

  it('the failure block: checks, both traces, the why and the hint, in place of the older path lines', () => {
    expect(testLine(failed).split('\n').slice(1, -1)).toEqual([
      '    reply-via: expected server:eth1, observed server:eth0',
      '    request: pc2 eth0 → router → server eth1 ✓ delivered',
      '    reply:   [server out eth0] → router → pc2 eth0 ✗ asymmetric at server',
      '    why: server: reply from 192.168.1.220 to 192.168.2.17 matched rule 32766 (main) → default via 10.0.0.1 dev eth0',
      '    hint: on server: ip rule add from 192.168.1.220 table gateway1',
    ]);
    // without traces (a route or exec test, or an older result) the path lines stay as they were
    expect(testLine({ ...failed, traces: undefined, why: undefined })).toMatch(/request path: x\n {4}reply path: {3}y/);
    // a passing test prints no trace
    expect(testLine({ ...failed, status: 'passed' }).split('\n')).toHaveLength(1);
  });

  it('the JSON report carries traces and why as they are, under version 1', () => {
    const j = JSON.parse(jsonReport([{ ...runs[0]!, tests: [failed] }]));
    expect(j.version).toBe(1);
    expect(j.labs[0].tests[0].traces[1]).toEqual(reply);
    expect(j.labs[0].tests[0].traces[0].hops[1].evidence[0]).toEqual({
      pcap: '/tmp/a/x-n.pcap',
      frame: 4,
      ts: expect.any(Number),
      iface: 'lan',
      dir: 'in',
    });
    expect(j.labs[0].tests[0].why).toEqual(why);
  });
});

// The HTML reporter on hand-made results (no root): one self-contained page,
// nothing fetched, lab content escaped, pcaps linked relative to the page, the
// why and the paths of each test in place. The page in a real browser, from a
// real failing run: test/integration/html-report.test.ts.
import { describe, expect, it } from 'vitest';
import { htmlReport } from '../../src/report/html.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import type { Trace } from '../../src/traces/trace.js';

const hop = (node: string, inIf: string | undefined, out: string | undefined) => ({
  node,
  ...(inIf ? { in: inIf } : {}),
  ...(out ? { out } : {}),
  src: '192.168.2.17',
  dst: '192.168.1.220',
  evidence: [],
});
const traces: Trace[] = [
  {
    direction: 'request',
    disposition: 'delivered',
    hops: [
      hop('pc2', undefined, 'eth0'),
      hop('router', 'lan', 'net1'),
      hop('sw1', 'p2', 'p1'),
      hop('server', 'eth1', undefined),
    ],
  },
  {
    direction: 'reply',
    disposition: 'asymmetric',
    at: 'server',
    divergesAt: 0,
    hops: [hop('server', undefined, 'eth0'), hop('router', 'net0', 'lan'), hop('pc2', 'eth0', undefined)],
  },
];
const base = {
  lab: 'dual-nic-reply-path',
  file: 'labs/dual-nic-reply-path.yaml',
  stage: 'with a routing table for eth1',
  probe: 'ping',
  durationMs: 500,
  facts: {},
  artifacts: [],
  at: 'labs/dual-nic-reply-path.yaml:64:9',
};
const failed: TestResult = {
  ...base,
  name: 'replies leave <through> the NIC & "they" came in on',
  status: 'failed',
  traces,
  checks: [
    { name: 'replies', ok: true, expected: '3', observed: '3' },
    { name: 'reply-via', ok: false, expected: 'server:eth1', observed: 'server:eth0' },
  ],
  why: [
    {
      node: 'server',
      decision:
        'server: reply from 192.168.1.220 to 192.168.2.17 matched rule 32766 (main) → default via 10.0.0.1 dev eth0',
      hint: 'ip rule add from 192.168.1.220 table gateway1',
    },
  ],
  artifacts: ['/tmp/nslab-report-test/art/x.view/fix-replies--server.pcap'],
};
const runs: LabRun[] = [
  {
    lab: 'dual-nic-reply-path',
    file: 'labs/dual-nic-reply-path.yaml',
    instance: 'dual-nic-reply-path.x1',
    durationMs: 900,
    tests: [
      failed,
      {
        ...base,
        name: 'a client on the subnet',
        status: 'passed',
        checks: [],
        request: 'pc1>eth0 -> p3>sw1>p1 -> eth1>server',
        reply: 'server>eth1 -> p1>sw1>p3 -> eth0>pc1',
      },
      {
        ...base,
        name: 'needs netem',
        status: 'skipped',
        checks: [],
        reason: 'test needs sch_netem, which this kernel lacks',
      },
    ],
  },
];

describe('the HTML report', async () => {
  // Graphviz writes '-' in ids as '&#45;': read them as a browser does
  const page = (
    await htmlReport(runs, { dir: '/tmp/nslab-report-test', date: new Date('2026-11-22T12:00:00Z') })
  ).replace(/&#45;/g, '-');

  it('is one self-contained page: inline style and SVG, nothing to fetch, no script', () => {
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).not.toMatch(/<script|<link|<img|<iframe|@import|url\(/i);
    expect(page).not.toMatch(/\s(src|srcset)=/i);
    // the only absolute URLs are XML namespace names inside the SVGs, which nothing fetches
    expect(
      [...page.matchAll(/https?:\/\/[^\s"'<>]+/g)]
        .map((m) => m[0])
        .filter((u) => !/^http:\/\/www\.w3\.org\/(2000\/svg|1999\/xlink)$/.test(u)),
    ).toEqual([]);
    expect(page).toMatch(/<title>nslab: 1 passed, 1 failed, 1 skipped<\/title>/);
  });

  it('names every test with its verdict, and escapes what the lab wrote', () => {
    const tests = [
      ...page.matchAll(/<article class="test (\w+)"[^>]*>\n<div class="head">.*?<span class="name">(.*?)<\/span>/g),
    ].map((m) => `${m[1]}: ${m[2]}`);
    expect(tests).toEqual([
      'failed: replies leave &lt;through&gt; the NIC &amp; &quot;they&quot; came in on',
      'passed: a client on the subnet',
      'skipped: needs netem',
    ]);
    expect(page).not.toContain('<through>');
    expect(page).toContain('<td>reply-via</td><td>server:eth1</td><td>server:eth0</td>');
    expect(page).toContain('test needs sch_netem, which this kernel lacks');
  });

  it('lists the failures at the top, each linking to its test', () => {
    const links = [...page.matchAll(/<ul class="failures">(.*?)<\/ul>/g)].flatMap((m) =>
      [...m[1]!.matchAll(/href="#([^"]+)"/g)].map((x) => x[1]!),
    );
    expect(links).toHaveLength(1);
    expect(page).toContain(`<article class="test failed" id="${links[0]}"`);
    const ids = [...page.matchAll(/<article [^>]*id="([^"]+)"/g)].map((m) => m[1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('shows the why and the hint', () => {
    expect(page).toContain(
      '<b>why</b> <code>server: reply from 192.168.1.220 to 192.168.2.17 matched rule 32766 (main) → default via 10.0.0.1 dev eth0</code>',
    );
    expect(page).toContain('<b>hint</b> <code>ip rule add from 192.168.1.220 table gateway1</code>');
  });

  it('draws the paths of a failure open, of a pass folded; the topology once per lab and per stage that changes it', () => {
    const failure = page.slice(page.indexOf('<article class="test failed"'), page.indexOf('</article>'));
    expect(failure).toContain('<details class="paths" open>');
    expect(failure).toMatch(/<g id="path-request-1\+reply-2" class="edge path request reply">/);
    expect(failure).toMatch(/<g id="path-reply-1" class="edge path reply">/);
    expect(failure).toContain('reply diverges here (left through eth0)');
    const pass = page.slice(page.indexOf('<article class="test passed"'));
    // without traces in the result, the path text is drawn
    expect(pass.slice(0, pass.indexOf('</article>'))).toMatch(
      /<details class="paths"><summary>observed paths<\/summary>.*<g id="path-request-2\+reply-1" class="edge path reply request">/s,
    );
    expect(page.match(/<details class="topo"/g)).toHaveLength(2);
  });

  it('links the pcaps relative to the page', () => {
    expect(page).toContain(
      '<a href="art/x.view/fix-replies--server.pcap" title="/tmp/nslab-report-test/art/x.view/fix-replies--server.pcap">fix-replies--server.pcap</a>',
    );
  });

  it('nslab check: the lab is drawn as it was up, not as the checked stage expects it', async () => {
    const p = (await htmlReport(runs, { dir: '/tmp', applied: { stage: 'without policy routing' } })).replace(
      /&#45;/g,
      '-',
    );
    expect(p).toContain('the lab was up at stage <b>without policy routing</b>');
    expect(p).not.toContain('topology at this stage');
    expect(p).not.toContain('+ rule from 192.168.1.220 table gateway1');
    expect(page).toContain('+ rule from 192.168.1.220 table gateway1');
  });

  it('a page for a lab file that cannot be read still lists its tests', async () => {
    const p = await htmlReport([{ ...runs[0]!, file: '/nonexistent/lab.yaml' }], { dir: '/tmp' });
    expect(p).toContain('no pictures: the lab file cannot be read now');
    expect(p).toContain('a client on the subnet');
    expect(p).not.toContain('<svg');
  });
});

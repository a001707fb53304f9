// A test failed by a dead service, in every reporter (no root): the service, its exit, when, its log's end and the
// kept log; and a test without one says nothing of services (the twin).
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { testLine } from '../../src/report/console.js';
import { htmlReport } from '../../src/report/html.js';
import { jsonReport } from '../../src/report/json.js';
import { junitReport } from '../../src/report/junit.js';
import { tapReport } from '../../src/report/tap.js';
import type { LabRun, TestResult } from '../../src/run/results.js';

const base: TestResult = {
  lab: 'l',
  file: 'labs/l.yaml',
  stage: 's',
  name: 'pings',
  probe: 'ping',
  status: 'passed',
  durationMs: 3,
  checks: [{ name: 'replies', ok: true, expected: '1', observed: '1' }],
  facts: {},
  artifacts: [],
  at: 'labs/l.yaml:9:9',
};
const dead: TestResult = {
  ...base,
  name: 'pings later',
  status: 'failed',
  reason:
    "service 'svcd' of node 'server' exited (exit status 1) at 2026-12-07T19:00:00.000Z: this test ran while it was not running",
  services: [
    {
      node: 'server',
      service: 'svcd',
      exit: 'exit status 1',
      at: '2026-12-07T19:00:00.000Z',
      tail: ['svcd: listening', 'svcd: fatal: <boom> & "more"'],
      log: '/art/l.x/server-svcd.log',
    },
  ],
};
const runs: LabRun[] = [{ lab: 'l', file: 'labs/l.yaml', instance: 'l.x', durationMs: 9, tests: [base, dead] }];

describe('a dead service in the reports', () => {
  it('console: the reason, the end of its log and the kept copy; the twin says nothing of it', () => {
    const text = testLine(dead);
    expect(text).toContain("service 'svcd' of node 'server' exited (exit status 1) at 2026-12-07T19:00:00.000Z");
    expect(text).toContain("    service 'svcd' of node 'server': its log ends with:\n      svcd: listening\n");
    expect(text).toContain('its log is kept in /art/l.x/server-svcd.log');
    expect(testLine(base)).not.toMatch(/svcd/);
  });

  it('JSON, JUnit, TAP (valid YAML block), HTML (link relative to the report, text escaped)', async () => {
    const json = JSON.parse(jsonReport(runs));
    expect(json.labs[0].tests[1].services[0]).toEqual(dead.services![0]);
    expect(json.labs[0].tests[0].services).toBeUndefined();

    const junit = junitReport(runs);
    expect(junit).toContain('svcd: fatal: &lt;boom&gt; &amp; &quot;more&quot;');
    expect(junit).toContain('its log is kept in /art/l.x/server-svcd.log');

    const tap = tapReport(runs);
    const block = /not ok 2 - l › s › pings later\n {2}---\n([\s\S]*?)\n {2}\.\.\./.exec(tap)![1]!;
    const doc = parseDocument(block.replace(/^ {2}/gm, ''));
    expect(doc.errors).toEqual([]);
    expect(doc.toJS().service).toMatchObject({ node: 'server', name: 'svcd', exit: 'exit status 1' });

    const html = await htmlReport(runs, { dir: '/art', date: new Date(0) });
    expect(html).toContain('<a href="l.x/server-svcd.log"');
    expect(html).toContain('svcd: fatal: &lt;boom&gt; &amp; &quot;more&quot;');
  });
});

import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { junitReport } from '../../src/report/junit.js';
import { tapReport } from '../../src/report/tap.js';
import { summaryLine, type LabRun } from '../../src/run/results.js';

const base = { lab: 'l', file: 'labs/l.yaml', probe: 'ping', durationMs: 12, checks: [], facts: {}, artifacts: [], at: 'labs/l.yaml:3:5' };
const runs: LabRun[] = [{
  lab: 'l', file: 'labs/l.yaml', instance: 'l.x', durationMs: 100, tests: [
    { ...base, stage: 'bug', name: 'replies <via> eth0 & "quoted"', status: 'passed' },
    { ...base, stage: 'bug', name: 'needs netem', status: 'skipped', reason: 'test needs sch_netem, which this kernel lacks' },
    { ...base, stage: 'fix', name: 'symmetric', status: 'failed', checks: [{ name: 'symmetric', ok: false, expected: 'true', observed: 'false (at s: ...)' }], request: 'a -> b', reply: 'b -> a', artifacts: ['/tmp/x.pcap'] },
  ],
}];

/** A small XML reader for the test: element names, attributes, nesting. */
function parseXml(xml: string) {
  const stack: { name: string; attrs: Record<string, string>; children: any[]; text: string }[] = [{ name: 'root', attrs: {}, children: [], text: '' }];
  const re = /<(\/?)([\w:]+)([^>]*?)(\/?)>|([^<]+)/g;
  for (const m of xml.replace(/<\?xml[^>]*\?>|<!--.*?-->/gs, '').matchAll(re)) {
    if (m[5]) { stack.at(-1)!.text += m[5]; continue; }
    if (m[1]) { const el = stack.pop()!; expect(el.name).toBe(m[2]); continue; }
    const attrs = Object.fromEntries([...m[3]!.matchAll(/([\w:]+)="([^"]*)"/g)].map((a) => [a[1], a[2]!.replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&')]));
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
    expect(bug.children[1].children[0]).toMatchObject({ name: 'skipped', attrs: { message: 'test needs sch_netem, which this kernel lacks' } });
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
    expect(junitReport(r)).toMatch(/<testcase name="lab" classname="l"><error message="stage &apos;three&apos; failed to apply: nft said no">/);
    expect(tapReport(r)).toMatch(/^1\.\.4$/m);
  });
  it('tests reported as not run carry it', () => {
    const r: LabRun[] = [{ ...runs[0]!, error: 'x', tests: [...runs[0]!.tests, { ...base, stage: 'later', name: 't', status: 'failed', reason: "not run: stage 'later' failed to apply: x" }] }];
    expect(summaryLine(r)).toBe('1 passed, 2 failed, 1 skipped');
    expect(junitReport(r)).not.toMatch(/<testcase name="lab"/);
  });
});

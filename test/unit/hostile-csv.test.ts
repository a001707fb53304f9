// Grades a spreadsheet would run: every lab under test/fixtures/hostile/csv has
// test names, hints or stage names starting with a formula character (= + - @,
// a tab or carriage return before one), and ordinary twins. The grading CSV of
// each, every test failed as `nslab check` reports an exec test that failed, must
// be exactly its .csv golden, and no cell of it may start with a formula
// character. (test/integration/hostile-csv.test.ts gets the same CSV from the
// shipped CLI grading the labs brought up.) UPDATE_GOLDEN=1 rewrites the goldens.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkedStage } from '../../src/lab/exercise.js';
import { loadLab } from '../../src/lab/resolve.js';
import { csvReport } from '../../src/report/csv.js';
import type { LabRun } from '../../src/run/results.js';

const dir = 'test/fixtures/hostile/csv';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const goldenOf = (f: string) => `${dir}/${f.replace(/\.yaml$/, '.csv')}`;

/**
 * The grading of instance `<lab>.ws1` of this lab: each test of the checked stage failed on `exit: expected 0, observed
 * 1`.
 */
export function gradesOf(file: string): LabRun {
  const model = loadLab(file);
  const stage = model.stages.find((s) => s.name === checkedStage(model, []))!;
  return {
    lab: model.name,
    file,
    instance: `${model.name}.ws1`,
    durationMs: 0,
    tests: stage.tests.map((t) => {
      // the corpus is made of tests that fail so: `false` run where exit 0 is expected
      expect([t.probe, t.spec, t.expect]).toEqual(['exec', { node: 'a', command: 'false' }, { exit: 0 }]);
      return {
        lab: model.name,
        file,
        stage: stage.name,
        name: t.name,
        probe: t.probe,
        status: 'failed' as const,
        durationMs: 0,
        checks: [{ name: 'exit', ok: false, expected: '0', observed: '1' }],
        facts: {},
        artifacts: [],
        at: '',
        ...(t.hint ? { hint: t.hint } : {}),
      };
    }),
  };
}

/** The cells of an RFC 4180 text, row by row. */
export function cellsOf(csv: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  const re = /("((?:[^"]|"")*)"|[^,\r\n"]*)(,|\r\n|$)/gy;
  for (let m = re.exec(csv); m && re.lastIndex <= csv.length; m = re.exec(csv)) {
    row.push(m[2] !== undefined ? m[2].replace(/""/g, '"') : m[1]!);
    if (m[3] !== ',') {
      rows.push(row);
      row = [];
    }
    if (m[3] === '' || re.lastIndex === csv.length) break;
  }
  return rows;
}

describe('grades whose names and hints are formulas are written as text', () => {
  it('has a corpus, each lab with its golden CSV', () => {
    expect(files.length).toBeGreaterThanOrEqual(3);
    if (!process.env.UPDATE_GOLDEN) expect(files.filter((f) => !existsSync(goldenOf(f)))).toEqual([]);
  });

  for (const f of files) {
    it(f, () => {
      const run = gradesOf(`${dir}/${f}`);
      const csv = csvReport([run]);
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenOf(f), csv);
      expect(csv).toBe(readFileSync(goldenOf(f), 'utf8'));
      const rows = cellsOf(csv);
      expect(rows).toHaveLength(run.tests.length + 1);
      for (const cell of rows.flat()) expect(cell, JSON.stringify(cell)).not.toMatch(/^[=+\-@\t\r]/);
      // each cell is the lab's text, with a ' before a formula character and nothing else changed
      run.tests.forEach((t, i) => {
        const [, , , stage, name, , hint] = rows[i + 1]!;
        for (const [cell, text] of [
          [stage, t.stage],
          [name, t.name],
          [hint, t.hint ?? ''],
        ] as const)
          expect(cell).toBe(/^[=+\-@\t\r]/.test(text) ? `'${text}` : text);
      });
    });
  }

  it('the corpus has each dangerous first character, and ordinary twins', () => {
    const texts = files.flatMap((f) => gradesOf(`${dir}/${f}`).tests.flatMap((t) => [t.stage, t.name, t.hint ?? '']));
    for (const c of ['=', '+', '-', '@', '\t', '\r'])
      expect(
        texts.some((t) => t.startsWith(c)),
        JSON.stringify(c),
      ).toBe(true);
    expect(texts.filter((t) => t && !/^[=+\-@\t\r]/.test(t)).length).toBeGreaterThan(3);
  });
});

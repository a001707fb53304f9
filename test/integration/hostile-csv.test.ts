// The CSV corpus through the shipped CLI: each lab of test/fixtures/hostile/csv
// (test names, hints and stage names a spreadsheet would run as formulas) is
// brought up and graded with `nslab check LAB --instance ID --reporter csv`; the
// grades are exactly the golden .csv of test/unit/hostile-csv.test.ts (the
// instance named ws1 there), so no cell starts with a formula character.
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, NOT_ROOT, uid } from './helpers.js';

const dir = 'test/fixtures/hostile/csv';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const id = `c${uid()}`;
const up: string[] = [];

afterAll(() => {
  for (const i of up) cli(['down', i]);
  expect(namespaces('nslab-hx-csv-').filter((n) => n.includes(`.${id}.`))).toEqual([]);
});

describe.skipIf(!isRoot)(`nslab check --reporter csv grades formulas as text (${isRoot ? 'root' : NOT_ROOT})`, () => {
  for (const f of files) {
    it(f, () => {
      const file = `${dir}/${f}`;
      const r = cli(['up', file, '--instance', id]);
      expect(r.code, r.stderr).toBe(0);
      const lab = /^name: (\S+)$/m.exec(readFileSync(file, 'utf8'))![1]!;
      up.push(`${lab}.${id}`);
      const check = cli(['check', file, '--instance', id, '--reporter', 'csv']);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(1); // every test fails, as the golden says
      const golden = readFileSync(`${dir}/${f.replace(/\.yaml$/, '.csv')}`, 'utf8').replaceAll(
        `${lab}.ws1,ws1,`,
        `${lab}.${id},${id},`,
      );
      expect(check.stdout).toBe(golden);
      expect(cli(['down', `${lab}.${id}`]).code).toBe(0);
      up.pop();
    });
  }
});

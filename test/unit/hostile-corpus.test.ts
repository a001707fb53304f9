// The hostile-input corpus: every file under test/fixtures/hostile is a lab file
// that is malformed or malicious in exactly one way (YAML bombs, injection into
// every string field, batch metacharacters, reserved and overlong names, odd
// address spellings, wrong types). Each must be refused with exactly the messages
// of its .err file beside it, every message one line at file:line:col, and the
// shipped CLI must say the same. UPDATE_GOLDEN=1 rewrites the goldens (then read
// every diff: a golden is a promise about what a user sees).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { loadLabFile } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';

const dir = 'test/fixtures/hostile';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const goldenOf = (f: string) => `${dir}/${f.replace(/\.yaml$/, '.err')}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * Characters that must never reach a terminal raw from lab content: control characters other than the newline ending
 * each line, and Unicode line breaks.
 */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

describe('hostile lab files are refused with their exact messages', () => {
  it('has a corpus of at least 120 files, each with its golden', () => {
    expect(files.length).toBeGreaterThanOrEqual(120);
    if (!process.env.UPDATE_GOLDEN) expect(files.filter((f) => !existsSync(goldenOf(f)))).toEqual([]);
  });

  for (const f of files) {
    it(f, () => {
      const { model, problems } = checkLab(loadLabFile(`${dir}/${f}`));
      expect(model).toBeUndefined();
      expect(problems.length).toBeGreaterThan(0);
      const text = problems.map(formatProblem).join('\n') + '\n';
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenOf(f), text);
      expect(text).toBe(readFileSync(goldenOf(f), 'utf8'));
      // one line per message or hint: nothing from the lab file starts a line of its own
      const head = new RegExp(`^${escape(`${dir}/${f}`)}:[1-9]\\d*:[1-9]\\d*: \\S`);
      const lines = text.slice(0, -1).split('\n');
      expect(lines[0]).toMatch(head);
      for (const line of lines) {
        expect(
          head.test(line) || /^ {4}hint: \S/.test(line),
          `line not in file:line:col or hint form: ${JSON.stringify(line.slice(0, 200))}`,
        ).toBe(true);
        expect(RAW_CONTROL.test(line), `raw control character in ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
      }
    });
  }
});

describe('the shipped CLI refuses the hostile corpus with the same messages', () => {
  const CLI = join(process.cwd(), 'dist/bin/main.js');
  // a handful of invocations, each validating a slice of the corpus at once
  const slices = 4;
  const per = Math.ceil(files.length / slices);
  for (let s = 0; s < slices; s++) {
    const batch = files.slice(s * per, (s + 1) * per);
    if (!batch.length) continue;
    it(`nslab validate ${batch[0]} … ${batch[batch.length - 1]} (${batch.length} files) exits 2 with their goldens on stderr`, () => {
      expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
      const r = spawnSync(process.execPath, [CLI, 'validate', ...batch.map((f) => `${dir}/${f}`)], {
        encoding: 'utf8',
        env: { ...process.env, FORCE_COLOR: '0' },
        maxBuffer: 64 * 1024 * 1024,
      });
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(batch.map((f) => readFileSync(goldenOf(f), 'utf8')).join(''));
      expect(r.status).toBe(2);
    });
  }
});

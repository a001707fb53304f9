// The hostile exercises: every file under test/fixtures/hostile/exercises is a
// lab file that is valid as a lab but must not become a students' file: YAML
// anchors, aliases and merge keys that would hand the students the fix or bring
// the solution mark in unseen, a lab without a solution, a test that needs the
// fix. `nslab exercise` must refuse each with exactly the messages of its .err
// file (its stderr), exit 2, write nothing; the shipped CLI must say the same.
// UPDATE_GOLDEN=1 rewrites the goldens (then read every diff).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LabFileError, NslabError } from '../../src/errors.js';
import { exerciseOf } from '../../src/lab/exercise.js';
import { loadLab } from '../../src/lab/resolve.js';

const dir = 'test/fixtures/hostile/exercises';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();
const goldenOf = (f: string) => `${dir}/${f.replace(/\.yaml$/, '.err')}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** What `nslab exercise FILE` prints on stderr for a refused file (as cli/exercise.ts and report-error.ts do). */
function stderrOf(file: string): string {
  try {
    loadLab(file);
    exerciseOf(readFileSync(file, 'utf8'), basename(file), { file });
  } catch (e) {
    if (e instanceof LabFileError) return `${e.message}\n`;
    if (e instanceof NslabError) return `nslab: ${e.message}\n`;
    throw e;
  }
  throw new Error(`${file} was made into an exercise`);
}

describe('hostile exercises are refused with their exact messages', () => {
  it('has a corpus, each file with its golden', () => {
    expect(files.length).toBeGreaterThanOrEqual(12);
    if (!process.env.UPDATE_GOLDEN) expect(files.filter((f) => !existsSync(goldenOf(f)))).toEqual([]);
  });

  for (const f of files) {
    it(f, () => {
      const text = stderrOf(`${dir}/${f}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenOf(f), text);
      expect(text).toBe(readFileSync(goldenOf(f), 'utf8'));
      expect(text).not.toMatch(/internal error|\n\s+at /);
      // each message at file:line:col with its hint (or, for a usage error, nslab: and its hint)
      const head = new RegExp(`^(${escape(`${dir}/${f}`)}:[1-9]\\d*:[1-9]\\d*|nslab): \\S`);
      for (const line of text.slice(0, -1).split('\n'))
        expect(head.test(line) || /^ {4}hint: \S/.test(line), line).toBe(true);
    });
  }
});

// one process per file: generous time on a loaded machine
describe('the shipped CLI refuses the hostile exercises with the same messages', { timeout: 180_000 }, () => {
  const CLI = join(process.cwd(), 'dist/bin/main.js');
  it(`nslab exercise on each of the ${files.length} files exits 2 with its golden on stderr and nothing on stdout`, async () => {
    expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
    const run = promisify(execFile);
    const exercise = (f: string) =>
      run(process.execPath, [CLI, 'exercise', `${dir}/${f}`], { env: { ...process.env, FORCE_COLOR: '0' } }).then(
        () => ({ code: 0, stdout: '(accepted)', stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    const results = await Promise.all(files.map(exercise));
    for (const [i, f] of files.entries()) {
      expect({ file: f, ...results[i] }).toEqual({
        file: f,
        code: 2,
        stdout: '',
        stderr: readFileSync(goldenOf(f), 'utf8'),
      });
    }
  });
});

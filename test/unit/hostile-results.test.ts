// The hostile results files: every file under test/fixtures/hostile/results is
// a JSON report (or not one) wrong in one way for `nslab graph LAB --results
// FILE`: directions and names that would add statements to Mermaid or DOT,
// hops naming what the lab does not have, wrong types, not JSON, deep nesting.
// Drawn on labs/dual-nic-reply-path.yaml, each must be refused with exactly
// the messages of its .err file (stderr), exit 2, nothing drawn; the shipped CLI
// must say the same. UPDATE_GOLDEN=1 rewrites the goldens (then read every diff).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { LabFileError, NslabError } from '../../src/errors.js';
import { resultToDraw } from '../../src/graph/results.js';
import { loadLab } from '../../src/lab/resolve.js';

const LAB = 'labs/dual-nic-reply-path.yaml';
const dir = 'test/fixtures/hostile/results';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const goldenOf = (f: string) => `${dir}/${f.replace(/\.json$/, '.err')}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** Characters that must never reach a terminal raw from a results file. */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;

/** What `nslab graph LAB --results FILE` prints on stderr for a refused file (as report-error.ts does). */
function stderrOf(file: string): string {
  try {
    resultToDraw(loadLab(LAB), file);
  } catch (e) {
    if (e instanceof LabFileError) return `${e.message}\n`;
    if (e instanceof NslabError) return `nslab: ${e.message}\n`;
    throw e;
  }
  throw new Error(`${file} was drawn`);
}

describe('hostile results files are refused with their exact messages', () => {
  it('has a corpus, each file with its golden', () => {
    expect(files.length).toBeGreaterThanOrEqual(25);
    if (!process.env.UPDATE_GOLDEN) expect(files.filter((f) => !existsSync(goldenOf(f)))).toEqual([]);
  });

  for (const f of files) {
    it(f, () => {
      const text = stderrOf(`${dir}/${f}`);
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenOf(f), text);
      expect(text).toBe(readFileSync(goldenOf(f), 'utf8'));
      expect(text).not.toMatch(/internal error|\n\s+at |undefined/);
      // every message at file:line:col (or nslab:), one line each, with its hint
      const head = new RegExp(`^(${escape(`${dir}/${f}`)}:[1-9]\\d*:[1-9]\\d*|nslab): \\S`);
      for (const line of text.slice(0, -1).split('\n')) {
        expect(head.test(line) || /^ {4}hint: \S/.test(line), line).toBe(true);
        expect(RAW_CONTROL.test(line), `raw control character in ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
      }
    });
  }
});

// one process per file: generous time on a loaded machine
describe('the shipped CLI refuses the hostile results files with the same messages', { timeout: 180_000 }, () => {
  const CLI = join(process.cwd(), 'dist/bin/main.js');
  it(`nslab graph ${LAB} --results on each of the ${files.length} files exits 2 with its golden on stderr, nothing drawn`, async () => {
    expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
    const run = promisify(execFile);
    const args = (f: string) => [CLI, 'graph', LAB, '--results', `${dir}/${f}`, '--format', 'mermaid'];
    const graph = (f: string) =>
      run(process.execPath, args(f), { env: { ...process.env, FORCE_COLOR: '0' } }).then(
        () => ({ code: 0, stdout: '(drawn)', stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
      );
    // a few at a time: each process loads the lab and the bundle
    const results: { code: number; stdout: string; stderr: string }[] = [];
    for (let i = 0; i < files.length; i += 6) results.push(...(await Promise.all(files.slice(i, i + 6).map(graph))));
    for (const [i, f] of files.entries())
      expect({ file: f, ...results[i] }).toEqual({
        file: f,
        code: 2,
        stdout: '',
        stderr: readFileSync(goldenOf(f), 'utf8'),
      });
  });
});

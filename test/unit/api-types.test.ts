// The names defineLab infers are types (issue 20): tsc on test/types/lab-names.ts compiles (every
// `@ts-expect-error` meets its error), and the same file without the directives has an error on exactly each
// line that followed one (so no directive is there for an error of another kind, or for nothing).
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { USER_TSC_FLAGS } from '../user-tsc.js';

const FILE = 'test/types/lab-names.ts';
const tsc = (...files: string[]) =>
  spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', ...USER_TSC_FLAGS, ...files], { encoding: 'utf8' });

describe("defineLab's names, checked by tsc", () => {
  // one tsc run for both files (it costs seconds): the file as written, and a copy without the directives
  it('compiles as written (each expected error is there); without the directives, fails on exactly their lines', () => {
    const lines = readFileSync(FILE, 'utf8').split('\n');
    const expected: number[] = [];
    const kept: string[] = [];
    for (const l of lines)
      if (/^\s*\/\/ @ts-expect-error/.test(l)) expected.push(kept.length + 1);
      else kept.push(l);
    expect(expected.length).toBe(10);
    const bare = 'test/types/lab-names.bare.ts';
    writeFileSync(bare, kept.join('\n'));
    try {
      const r = tsc(FILE, bare);
      const errors = r.stdout.split('\n').filter((l) => / error TS\d+/.test(l));
      // the file as written: no error at all
      expect(errors.filter((l) => !l.startsWith(bare))).toEqual([]);
      const at = errors.map((l) => Number(/^[^(]+\((\d+),/.exec(l)![1]));
      expect([...new Set(at)]).toEqual(expected);
      expect(r.status).toBe(2);
    } finally {
      rmSync(bare, { force: true });
    }
  }, 300_000);
});

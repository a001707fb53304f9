// CI's formatting and lint check (scripts/check-style.mjs, run by scripts/test):
// a planted misformatted file and a planted lint failure each fail it with the
// command that fixes them; the same code, formatted and clean, passes.
import { spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// type-checked ESLint builds the whole TypeScript program for each run: ~10 s idle, over 30 s
// on a loaded machine (seen beside other jobs); speed is benched, not timed
const LINT_TIMEOUT = 150_000;
const planted: string[] = [];
function plant(name: string, text: string): string {
  // inside test/, which the formatter and the lint's TypeScript project cover
  const rel = join('test', `planted-style-${process.pid}-${name}.ts`);
  writeFileSync(rel, text);
  planted.push(rel);
  return rel;
}
const check = (file: string) =>
  spawnSync(process.execPath, ['scripts/check-style.mjs', file], { encoding: 'utf8', timeout: 120_000 });

afterAll(() => {
  for (const f of planted) rmSync(f, { force: true });
});

describe('scripts/check-style.mjs', () => {
  it(
    'fails on a misformatted file, naming it and the command that fixes it',
    () => {
      const f = plant('format', "export const  x = { a:1,b: 'two' }\n");
      const r = check(f);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(f);
      expect(r.stderr).toContain(`npx prettier --write ${f}`);
    },
    LINT_TIMEOUT,
  );

  it(
    'fails on a floating promise (an unawaited teardown would leak a lab), naming the rule',
    () => {
      const f = plant(
        'lint',
        'async function down(): Promise<void> {}\n\nexport function stop(): void {\n  down();\n}\n',
      );
      const r = check(f);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('@typescript-eslint/no-floating-promises');
      expect(r.stderr).toMatch(/fix: npx eslint --fix/);
    },
    LINT_TIMEOUT,
  );

  it(
    'the twin: the same code formatted, with the promise awaited, passes',
    () => {
      const f = plant(
        'clean',
        'async function down(): Promise<void> {}\n\nexport async function stop(): Promise<void> {\n  await down();\n}\n',
      );
      const r = check(f);
      expect(r.stderr).toContain('formatting and lint clean');
      expect(r.status).toBe(0);
    },
    LINT_TIMEOUT,
  );
});

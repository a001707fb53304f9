#!/usr/bin/env node
// The project's one formatting (Prettier), its lint (ESLint with type
// information) and the types of its tests and scripts, as CI runs them (scripts/test): a misformatted or lint-failing
// file fails with the command that fixes it. Arguments: files to check
// (default: the whole tree the formatter and linter cover).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { $ } from 'zx/core';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules/.bin', name);
const files = process.argv.slice(2);
const FORMATTED = ['src', 'test', 'bench', 'scripts'];
// exit codes and output are judged below: neither thrown nor echoed
const $$ = $({ cwd: root, nothrow: true, quiet: true });

let failed = false;
const pretty = await $$`${bin('prettier')} --list-different ${files.length ? files : FORMATTED}`;
const misformatted = pretty.stdout.split('\n').filter(Boolean);
// prettier --list-different: 0 all formatted, 1 some not (listed), 2 it could not run or parse a file
if (pretty.exitCode !== 0) {
  failed = true;
  if (misformatted.length) {
    process.stderr.write(`check-style: not formatted as the project formats (Prettier):\n`);
    for (const f of misformatted) process.stderr.write(`  ${f}\n`);
    process.stderr.write(`  fix: npx prettier --write ${misformatted.join(' ')}\n`);
  }
  if (pretty.exitCode !== 1 || !misformatted.length)
    process.stderr.write(`check-style: prettier failed:\n${pretty.stderr}`);
}
const lint = await $$`${bin('eslint')} --max-warnings 0 ${files.length ? files : ['.']}`;
if (lint.exitCode !== 0) {
  failed = true;
  process.stderr.write(`check-style: lint (ESLint) found problems:\n${lint.stdout}${lint.stderr}`);
  process.stderr.write(
    `  fix: npx eslint --fix ${files.length ? files.join(' ') : '.'} fixes some; the rest by hand (why each rule is on: docs/decisions.md)\n`,
  );
}
// The types of the tests and scripts too (the build's tsc covers src/ only): a name a test uses but no longer
// imports is caught here, not when the test runs.
if (!files.length) {
  const types = await $$`${bin('tsc')} -p tsconfig.lint.json --noEmit`;
  if (types.exitCode !== 0) {
    failed = true;
    process.stderr.write(`check-style: type errors (tsc -p tsconfig.lint.json):\n${types.stdout}${types.stderr}`);
  }
}
if (!failed) process.stderr.write(`check-style: formatting${files.length ? ' and lint' : ', lint and types'} clean\n`);
process.exit(failed ? 1 : 0);

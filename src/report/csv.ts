// Grading many students at once (`nslab check --instance PATTERN --reporter csv`):
// one line per instance and test, RFC 4180 (quoted where needed, CRLF line ends),
// for a spreadsheet. Columns:
//   instance  the lab instance graded (dual-nic-reply-path.ws1)
//   id        its instance id, the student (ws1); empty for a lab up without --instance
//   lab       the lab name
//   stage     the stage whose tests were run
//   test      the test's name
//   status    passed | failed | skipped
//   hint      the test's hint, for a failed test that has one
//   reason    for a failed test: why (the failed checks, expected vs observed, or the error)
// When root grades other users' labs (rootless, docs/workshop.md), a first column
//   user      whose lab it is (the Unix user; root for root's own)
// comes before these: instance names are each user's own, so two students may both
// have dual-nic-reply-path.ws1.
// Written here rather than with a CSV library: quoting one field is all it takes.
// Cells are text a student may have written (test names and hints of their own lab
// file), and a spreadsheet runs a cell starting with = + - @ (or a tab or carriage
// return before one) as a formula: such a cell gets a leading ' (OWASP's advice on CSV
// injection), which spreadsheets read as "text". A ; is quoted as well as a , so that a
// spreadsheet splitting on ; (its locale's separator) starts no cell inside the text.
import type { LabRun, TestResult } from '../run/results.js';

export const CSV_COLUMNS = ['instance', 'id', 'lab', 'stage', 'test', 'status', 'hint', 'reason'] as const;

/** A cell a spreadsheet would run as a formula: its first character. */
export const FORMULA_START = /^[=+\-@\t\r]/;

/** One CSV field: formulas neutralised with a leading ', then quoted where needed (RFC 4180). */
export function csvField(v: string): string {
  const text = FORMULA_START.test(v) ? `'${v}` : v;
  return /[",;\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Why a test failed, on one line. */
export function failureReason(t: TestResult): string {
  if (t.status !== 'failed') return t.status === 'skipped' ? (t.reason ?? '') : '';
  const checks = t.checks.filter((c) => !c.ok).map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`);
  return [t.reason, ...checks].filter(Boolean).join('; ');
}

export function csvReport(runs: LabRun[]): string {
  const users = runs.some((r) => r.user !== undefined);
  const rows: string[][] = [[...(users ? ['user'] : []), ...CSV_COLUMNS]];
  for (const r of runs) {
    const id = r.instance.startsWith(`${r.lab}.`) ? r.instance.slice(r.lab.length + 1) : '';
    for (const t of r.tests)
      rows.push([
        ...(users ? [r.user ?? ''] : []),
        ...[r.instance, id, r.lab, t.stage, t.name, t.status, t.hint ?? '', failureReason(t)],
      ]);
  }
  return rows.map((row) => row.map(csvField).join(',') + '\r\n').join('');
}

/** A student's score: tests passed out of those that ran (skipped tests do not count). */
export function scoreOf(r: LabRun): { passed: number; total: number } {
  const ran = r.tests.filter((t) => t.status !== 'skipped');
  return { passed: ran.filter((t) => t.status === 'passed').length, total: ran.length };
}

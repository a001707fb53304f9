// JUnit XML: one testsuite per lab and stage, as CI systems display them.
import { deadServiceLines, orphanError, summaryLine, totals, type LabRun, type TestResult } from '../run/results.js';

const esc = (s: string) =>
  s
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!)
    // characters XML 1.0 cannot carry at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

function failureText(t: TestResult): string {
  return [
    t.reason,
    ...(t.services ?? []).flatMap(deadServiceLines),
    ...t.checks.filter((c) => !c.ok).map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`),
    t.request !== undefined ? `request path: ${t.request}` : '',
    t.reply !== undefined ? `reply path: ${t.reply}` : '',
    t.artifacts.length ? `pcaps: ${t.artifacts.join(' ')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
}

/**
 * mismatch: observed something else; not-observed: the place named saw nothing; not-run / error: the test could not
 * run.
 */
function failureType(t: TestResult): string {
  if (t.reason?.startsWith('not run')) return 'not-run';
  if (t.reason) return 'error';
  return t.checks.some((c) => !c.ok && !c.notObserved) ? 'mismatch' : 'not-observed';
}

export function junitReport(runs: LabRun[]): string {
  const out = ['<?xml version="1.0" encoding="UTF-8"?>'];
  const t = totals(runs);
  // every count is a count of the testcases below: tests = passed + failures + skipped + errors
  out.push(
    `<testsuites name="nslab" tests="${t.passed + t.failed + t.skipped + t.errors}" failures="${t.failed}" skipped="${t.skipped}" errors="${t.errors}">`,
  );
  for (const run of runs) {
    const stages = [...new Set(run.tests.map((t) => t.stage))];
    if (orphanError(run))
      out.push(
        `  <testsuite name="${esc(run.lab)}" tests="1" failures="0" errors="1"><testcase name="lab" classname="${esc(run.lab)}"><error message="${esc(run.error!.split('\n')[0]!)}">${esc(run.error!)}</error></testcase></testsuite>`,
      );
    for (const stage of stages) {
      const tests = run.tests.filter((t) => t.stage === stage);
      const secs = (tests.reduce((a, t) => a + t.durationMs, 0) / 1000).toFixed(3);
      out.push(
        `  <testsuite name="${esc(`${run.lab} › ${stage}`)}" tests="${tests.length}" failures="${tests.filter((t) => t.status === 'failed').length}" skipped="${tests.filter((t) => t.status === 'skipped').length}" time="${secs}" file="${esc(run.file)}">`,
      );
      for (const t of tests) {
        const open = `    <testcase name="${esc(t.name)}" classname="${esc(`${run.lab}.${stage}`)}" time="${(t.durationMs / 1000).toFixed(3)}" file="${esc(run.file)}"`;
        if (t.status === 'passed') out.push(`${open}/>`);
        else if (t.status === 'skipped') out.push(`${open}><skipped message="${esc(t.reason ?? '')}"/></testcase>`);
        else
          out.push(
            `${open}><failure message="${esc(failureText(t).split('\n')[0]!)}" type="${failureType(t)}">${esc(failureText(t))}</failure></testcase>`,
          );
      }
      out.push('  </testsuite>');
    }
  }
  out.push('</testsuites>', `<!-- ${summaryLine(runs)} -->`, '');
  return out.join('\n');
}

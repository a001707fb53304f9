// Results of a test run, shared by the runner and the reporters.
import type { Check } from '../probes/types.js';
import type { Trace, Why } from '../traces/trace.js';

export type Status = 'passed' | 'failed' | 'skipped';

export interface TestResult {
  lab: string;
  file: string;
  stage: string;
  name: string;
  probe: string;
  status: Status;
  durationMs: number;
  checks: Check[];
  /** Why it failed (an error) or was skipped. */
  reason?: string;
  request?: string;
  reply?: string;
  /** per direction, what the captures show (issue 10); absent for probes without traffic */
  traces?: Trace[];
  /** for a failure: the kernel's decision where the path went wrong */
  why?: Why[];
  facts: Record<string, string>;
  /** for a failure: the test's hint from the lab file (workshops) */
  hint?: string;
  /** pcap files kept for a failed test. */
  artifacts: string[];
  /** Services of the lab found dead when the test ended (or found dead before it, and not reported yet): it failed. */
  services?: DeadService[];
  at: string;
}

/** A service that died: which, how it ended, when, how its log ends and where a copy of the log is kept. */
export interface DeadService {
  node: string;
  service: string;
  /** `exit status 1`, `killed by SIGSEGV`, or unknown (a lab another process brought up). */
  exit: string;
  /** When it ended, or was first found gone (ISO time). */
  at: string;
  /** The last lines of its log, each on one line. */
  tail: string[];
  /** A copy of its log, kept with the run's artifacts. */
  log?: string;
}

export interface LabRun {
  /** Whose lab it is, when root grades other users' labs with its own (`nslab check --instance` as root). */
  user?: string;
  lab: string;
  file: string;
  instance: string;
  durationMs: number;
  tests: TestResult[];
  /**
   * The lab itself could not be brought up or a stage not applied. The tests
   * that could not run because of it are reported as failed, with the reason;
   * a lab with no test to carry its error counts as one failure of its own.
   */
  error?: string;
  /** Services with `ready`: what was waited for and how long it took, as each was started (bring-up or stage). */
  ready?: { node: string; service: string; what: string; ms: number }[];
  /** With --keep after a failure: the instance left up for inspection. */
  kept?: string;
}

/** A dead service's log, as lines of text: how it ends and where it is kept (console, JUnit). */
export function deadServiceLines(s: DeadService): string[] {
  const who = `service '${s.service}' of node '${s.node}'`;
  return [
    ...(s.tail.length ? [`${who}: its log ends with:`, ...s.tail.map((l) => `  ${l}`)] : [`${who}: its log is empty`]),
    ...(s.log ? [`${who}: its log is kept in ${s.log}`] : []),
  ];
}

/** A lab error that no test result carries: reported as a failure of its own. */
export const orphanError = (r: LabRun) => !!r.error && !r.tests.some((t) => t.reason?.startsWith('not run: '));

export function totals(runs: LabRun[]): Record<Status, number> & { errors: number } {
  const t = { passed: 0, failed: 0, skipped: 0, errors: 0 };
  for (const r of runs) {
    if (orphanError(r)) t.errors++;
    for (const x of r.tests) t[x.status]++;
  }
  return t;
}

/** The closing line every reporter ends with: `N passed, N failed` (`, N skipped` where any). */
export function summaryLine(runs: LabRun[]): string {
  const t = totals(runs);
  return `${t.passed} passed, ${t.failed + t.errors} failed${t.skipped ? `, ${t.skipped} skipped` : ''}`;
}

import { summaryLine, totals, type LabRun } from '../run/results.js';

export function jsonReport(runs: LabRun[]): string {
  return JSON.stringify({ version: 1, totals: totals(runs), summary: summaryLine(runs), labs: runs }, null, 2) + '\n';
}

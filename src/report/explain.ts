// `nslab explain`'s text: the probe, each direction's trace, and the why lines (the API's lab.explain() gives the
// same text, without colour).
import chalk from 'chalk';
import type { Explanation } from '../run/explain.js';
import { traceLine } from './console.js';

export function explainText(x: Explanation): string {
  const lines = [
    chalk.bold(
      `${x.probe} ${x.from} → ${x.to} in '${x.instance}'${x.applied.length ? ` (stages applied: ${x.applied.join(', ')})` : ''}`,
    ),
  ];
  for (const t of x.traces)
    lines.push(
      `  ${`${t.direction}:`.padEnd(9)}${traceLine(t)}${t.detail && t.disposition !== 'delivered' ? chalk.dim(` (${t.detail})`) : ''}`,
    );
  for (const w of x.why) {
    lines.push(`  why: ${w.decision}`);
    if (w.cause && w.cause !== w.decision) lines.push(`  cause: ${w.cause}`);
    if (w.hint) lines.push(`  hint: ${chalk.cyan(w.hint)}`);
    if (w.noFix) lines.push(`  no fix found: ${w.noFix}`);
  }
  if (x.ok) lines.push(chalk.green('  the reply retraces the request: nothing to explain'));
  return lines.join('\n') + '\n';
}

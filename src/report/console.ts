// The readable reporter: a line per test as it finishes, the evidence of each
// failure (expected vs observed, the observed paths, the kept pcaps), and the
// closing `N passed, N failed` line.
import chalk from 'chalk';
import { summaryLine, totals, type LabRun, type TestResult } from '../run/results.js';
import type { Trace } from '../traces/trace.js';

/**
 * One direction as a compact diagram: where it left, the nodes it crossed,
 * where it arrived, and how it ended. The hop where it parts from the
 * expectation is bracketed with its interfaces: `[server in eth1 out eth0]`.
 */
export function traceLine(t: Trace): string {
  const n = t.hops.length;
  const hops = t.hops.map((h, i) => {
    if (i === t.divergesAt) return `[${h.node}${h.in ? ` in ${h.in}` : ''}${h.out ? ` out ${h.out}` : ''}]`;
    if (i === 0 && n > 1) return `${h.node}${h.out ? ` ${h.out}` : ''}`;
    if (i === n - 1) return `${h.node}${h.in ? ` ${h.in}` : ''}`;
    return h.node;
  });
  const ok = t.disposition === 'delivered' && t.divergesAt === undefined;
  const end =
    t.disposition === 'delivered'
      ? t.divergesAt !== undefined
        ? `delivered, diverges at ${t.hops[t.divergesAt]!.node}`
        : 'delivered'
      : `${t.disposition}${t.at ? ` at ${t.at}` : ''}${t.divergesAt !== undefined && t.hops[t.divergesAt]!.node !== t.at ? `, diverges at ${t.hops[t.divergesAt]!.node}` : ''}`;
  return `${hops.join(' → ') || '(nothing captured)'} ${ok ? chalk.green(`✓ ${end}`) : chalk.red(`✗ ${end}`)}`;
}

export function testLine(r: TestResult): string {
  const mark = r.status === 'passed' ? chalk.green('✓') : r.status === 'failed' ? chalk.red('✗') : chalk.yellow('-');
  const ms = chalk.dim(`${Math.round(r.durationMs)} ms`);
  const head = `${mark} ${r.lab} › ${r.stage} › ${r.name} ${r.status === 'skipped' ? chalk.yellow(`skipped: ${r.reason}`) : ms}`;
  if (r.status !== 'failed') return head;
  const lines = [head];
  if (r.reason) lines.push(`    ${chalk.red(r.reason)}`);
  for (const c of r.checks.filter((x) => !x.ok))
    lines.push(`    ${c.name}: expected ${chalk.green(c.expected)}, observed ${chalk.red(c.observed)}`);
  if (r.traces?.length) for (const t of r.traces) lines.push(`    ${`${t.direction}:`.padEnd(9)}${traceLine(t)}`);
  else {
    if (r.request !== undefined) lines.push(`    request path: ${r.request}`);
    if (r.reply !== undefined) lines.push(`    reply path:   ${r.reply}`);
  }
  for (const w of r.why ?? []) {
    lines.push(`    why: ${w.decision}`);
    if (w.cause && w.cause !== w.decision) lines.push(`    cause: ${w.cause}`);
    if (w.hint) lines.push(`    hint: ${chalk.cyan(w.hint)}`);
    if (w.noFix) lines.push(`    no fix found: ${w.noFix}`);
  }
  for (const [k, v] of Object.entries(r.facts)) if (v) lines.push(`    ${k}: ${v}`);
  if (r.artifacts.length) lines.push(`    pcaps kept: ${r.artifacts.join(' ')}`);
  lines.push(chalk.dim(`    at ${r.at}`));
  return lines.join('\n');
}

export function consoleSummary(runs: LabRun[]): string {
  const out: string[] = [];
  for (const r of runs) if (r.error) out.push(chalk.red(`✗ ${r.lab}: ${r.error}`));
  for (const r of runs)
    if (r.kept)
      out.push(chalk.yellow(`kept up for inspection: ${r.kept} (nslab shell ${r.kept} NODE; nslab down ${r.kept})`));
  const t = totals(runs);
  const line = summaryLine(runs);
  out.push(t.failed || t.errors ? chalk.red(line) : chalk.green(line));
  return out.join('\n');
}

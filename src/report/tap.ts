import { orphanError, summaryLine, type LabRun } from '../run/results.js';

export function tapReport(runs: LabRun[]): string {
  const tests = runs.flatMap((r) => r.tests);
  const out = ['TAP version 13', `1..${tests.length + runs.filter(orphanError).length}`];
  let n = 0;
  for (const run of runs) {
    if (orphanError(run))
      out.push(`not ok ${++n} - ${run.lab}: lab error`, '  ---', `  message: ${JSON.stringify(run.error)}`, '  ...');
    for (const t of run.tests) {
      const name = `${t.lab} › ${t.stage} › ${t.name}`;
      if (t.status === 'skipped') out.push(`ok ${++n} - ${name} # SKIP ${t.reason}`);
      else if (t.status === 'passed') out.push(`ok ${++n} - ${name}`);
      else {
        out.push(`not ok ${++n} - ${name}`, '  ---');
        if (t.reason) out.push(`  message: ${JSON.stringify(t.reason)}`);
        for (const s of t.services ?? [])
          out.push(
            `  service: { node: ${JSON.stringify(s.node)}, name: ${JSON.stringify(s.service)}, exit: ${JSON.stringify(s.exit)}, at: ${JSON.stringify(s.at)}, log: ${JSON.stringify(s.log ?? null)}, tail: ${JSON.stringify(s.tail)} }`,
          );
        for (const c of t.checks.filter((x) => !x.ok))
          out.push(`  ${c.name}: { expected: ${JSON.stringify(c.expected)}, observed: ${JSON.stringify(c.observed)} }`);
        if (t.request !== undefined) out.push(`  request: ${JSON.stringify(t.request)}`);
        if (t.reply !== undefined) out.push(`  reply: ${JSON.stringify(t.reply)}`);
        if (t.artifacts.length) out.push(`  pcaps: ${JSON.stringify(t.artifacts)}`);
        out.push('  ...');
      }
    }
  }
  out.push(`# ${summaryLine(runs)}`, '');
  return out.join('\n');
}

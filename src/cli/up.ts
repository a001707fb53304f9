import chalk from 'chalk';
import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import { privateArtifacts } from '../run/artifacts.js';
import { loadLab } from '../lab/resolve.js';
import { checkInstanceId } from '../plan/names.js';
import { rootlessHere, upRootless } from './rootless.js';

export async function run(file: string, opts: { stage?: string; instance?: string }): Promise<number> {
  const model = loadLab(file); // every lab-file problem is reported before anything is created
  const id = checkInstanceId(opts.instance);
  // without privilege: in a holder of its own, by the nslab that runs inside it (which prints what follows)
  if (rootlessHere()) return upRootless(model, id, opts.stage);
  const t0 = performance.now();
  const lab = await withSignals((signal) =>
    Lab.up(model, { id, stage: opts.stage, signal, artifacts: privateArtifacts }),
  );
  const ms = Math.round(performance.now() - t0);
  const out = [
    `${chalk.green('up')} lab '${lab.instance}' in ${ms} ms${lab.state.stages.length ? `, stages applied: ${lab.state.stages.join(', ')}` : ''}`,
  ];
  for (const n of lab.state.namespaces) out.push(`  ${n.node.padEnd(12)} ${n.ns}`);
  for (const s of lab.state.services)
    if (s.ready) out.push(`  service ${s.name} of node ${s.node} ready in ${s.ready.ms} ms (${s.ready.what})`);
  if (lab.state.services.length) out.push(`  service logs: ${lab.state.logDir}`);
  out.push(
    `next: nslab exec ${lab.instance} ${lab.state.namespaces[0]?.node ?? 'NODE'} -- ip addr | nslab shell ${lab.instance} NODE | nslab down ${lab.instance}`,
  );
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import { loadLab } from '../lab/resolve.js';
import { INSTANCE_ID } from '../plan/names.js';

export function checkInstanceId(id: string | undefined): string | undefined {
  if (id !== undefined && !INSTANCE_ID.test(id)) throw new UsageError(`instance id '${id}' is not valid`, 'use 1-12 characters of a-z and 0-9');
  return id;
}

export async function run(file: string, opts: { stage?: string; instance?: string }): Promise<number> {
  const model = loadLab(file); // every lab-file problem is reported before anything is created
  const id = checkInstanceId(opts.instance);
  const t0 = performance.now();
  const lab = await withSignals((signal) => Lab.up(model, { id, stage: opts.stage, signal }));
  const ms = Math.round(performance.now() - t0);
  const out = [`${chalk.green('up')} lab '${lab.instance}' in ${ms} ms${lab.state.stages.length ? `, stages applied: ${lab.state.stages.join(', ')}` : ''}`];
  for (const n of lab.state.namespaces) out.push(`  ${n.node.padEnd(12)} ${n.ns}`);
  if (lab.state.services.length) out.push(`  service logs: ${lab.state.logDir}`);
  out.push(`next: nslab exec ${lab.instance} ${lab.state.namespaces[0]?.node ?? 'NODE'} -- ip addr | nslab shell ${lab.instance} NODE | nslab down ${lab.instance}`);
  process.stdout.write(out.join('\n') + '\n');
  return 0;
}

import chalk from 'chalk';
import type { LabState } from '../engine/state.js';

/** What `up` prints once a lab is up, root or rootless: where each node is, its services, and what to do next. */
export function upReport(state: LabState, ms: number): string {
  const out = [
    `${chalk.green('up')} lab '${state.instance}' in ${ms} ms${state.stages.length ? `, stages applied: ${state.stages.join(', ')}` : ''}`,
  ];
  for (const n of state.namespaces) out.push(`  ${n.node.padEnd(12)} ${n.ns}`);
  for (const s of state.services)
    if (s.ready) out.push(`  service ${s.name} of node ${s.node} ready in ${s.ready.ms} ms (${s.ready.what})`);
  if (state.services.length) out.push(`  service logs: ${state.logDir}`);
  out.push(
    `next: nslab exec ${state.instance} ${state.namespaces[0]?.node ?? 'NODE'} -- ip addr | nslab shell ${state.instance} NODE | nslab down ${state.instance}`,
  );
  return out.join('\n') + '\n';
}

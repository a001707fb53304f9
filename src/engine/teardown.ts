// Removing a lab: stop its services (only the processes we started, by pid and
// start time), then delete every namespace in one batch. Deleting a namespace
// removes its veths, addresses, routes, rules, qdiscs and nftables with it.
import { stopProcess } from './proc.js';
import type { Runner } from './runner.js';
import { removeState, type LabState } from './state.js';

export async function teardown(state: LabState, runner: Runner): Promise<void> {
  await Promise.all(state.services.map((s) => stopProcess(s.pid, s.start)));
  await deleteNamespaces(state.namespaces.map((n) => n.ns), runner);
  removeState(state.instance);
}

export async function deleteNamespaces(names: string[], runner: Runner): Promise<void> {
  if (!names.length) return;
  // -force: keep going past a namespace that was never created or vanished meanwhile
  await runner.run({ argv: ['ip', '-force', '-batch', '-'], input: names.map((ns) => `netns del ${ns}\n`).join(''), uninterruptible: true });
}

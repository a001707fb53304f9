// Removing a lab: stop every process inside its namespaces (the services, and
// whatever they forked or daemonized into, listeners, captures, `exec`
// commands, users' shells), then delete the namespaces in one batch. Deleting
// a namespace removes its veths, addresses, routes, rules, qdiscs and nftables.
import { removeTableNames } from './etc-netns.js';
import { removeMounts } from './node-mounts.js';
import { netnsInode, processesIn, stopAll } from './proc.js';
import type { Runner } from './runner.js';
import { removeState, type LabState } from './state.js';

/**
 * Takes a lab down. `only` limits the namespaces deleted, and `onlyEtc` the
 * /etc/netns entries removed, to those this run is known to have created (a
 * failed `up` must never delete a namespace or directory of the same name
 * that someone else made).
 */
export async function teardown(
  state: LabState,
  runner: Runner,
  only?: Set<string>,
  onlyEtc?: Set<string>,
  onlyMnt?: Set<string>,
): Promise<void> {
  const names = state.namespaces.map((n) => n.ns).filter((ns) => !only || only.has(ns));
  await stopNamespaceProcesses(names);
  // the nodes' mount namespaces: their processes are gone, so each goes with its file's unmount
  await removeMounts(
    (state.mnt ?? []).filter((ns) => !only || onlyMnt?.has(ns)),
    runner,
  );
  await deleteNamespaces(names, runner);
  for (const ns of state.etc ?? []) if (!only || onlyEtc?.has(ns)) removeTableNames(ns);
  removeState(state.instance);
}

/** Stops every process whose network namespace is one of these. */
export async function stopNamespaceProcesses(names: string[]): Promise<void> {
  const inodes = new Set(names.map(netnsInode).filter((i): i is number => i !== undefined));
  // a process may fork while we look: look again until nothing is left (bounded)
  for (let round = 0; round < 5; round++) {
    const procs = processesIn(inodes);
    if (!procs.length) return;
    await stopAll(procs, round === 0 ? 1000 : 200);
  }
}

export async function deleteNamespaces(names: string[], runner: Runner): Promise<void> {
  if (!names.length) return;
  // -force: keep going past a namespace that was never created or vanished meanwhile
  await runner.run({
    argv: ['ip', '-force', '-batch', '-'],
    input: names.map((ns) => `netns del ${ns}\n`).join(''),
    uninterruptible: true,
  });
}

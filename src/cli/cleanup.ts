import { requireRoot } from '../engine/capabilities.js';
import { RealRunner, runArgv } from '../engine/runner.js';
import { listStates, ownerAlive, removeState } from '../engine/state.js';
import { deleteNamespaces, teardown } from '../engine/teardown.js';
import { PREFIX } from '../plan/names.js';

/**
 * Removes what dead runs left: labs whose owner process is gone while they were
 * being created or tested, and nslab namespaces that no state file records.
 * Labs left up on purpose by `nslab up` are not touched (use `nslab down`).
 */
export async function run(): Promise<number> {
  requireRoot('cleanup');
  const runner = new RealRunner();
  const states = listStates();
  let removed = 0;
  for (const s of states) {
    if (s.status === 'up' || ownerAlive(s)) continue;
    await teardown(s, runner);
    process.stdout.write(`removed lab '${s.instance}' (${s.status}, owner pid ${s.owner.pid} is gone)\n`);
    removed++;
  }
  const known = new Set(listStates().flatMap((s) => s.namespaces.map((n) => n.ns)));
  const list = await runArgv(['ip', 'netns', 'list']);
  const orphans = String(list.stdout).split('\n').map((l) => l.split(' ')[0]!).filter((ns) => ns.startsWith(PREFIX) && !known.has(ns))
    .filter((ns) => {
      // a capability probe of a live nslab process is not an orphan
      const m = /^nslab-probe-(\d+)$/.exec(ns);
      return !(m && processExists(Number(m[1])));
    });
  if (orphans.length) {
    await deleteNamespaces(orphans, runner);
    process.stdout.write(`removed ${orphans.length} namespaces no state file recorded: ${orphans.join(' ')}\n`);
  }
  for (const s of listStates()) if (s.status === 'up' && !s.namespaces.length) removeState(s.instance);
  if (!removed && !orphans.length) process.stdout.write('nothing to clean up\n');
  return 0;
}

function processExists(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

import { requireRoot } from '../engine/capabilities.js';
import { isSame } from '../engine/proc.js';
import { RealRunner, runArgv } from '../engine/runner.js';
import { existsSync } from 'node:fs';
import {
  ensureStateDir,
  listStates,
  listWorkDirs,
  ownerAlive,
  readState,
  stateDir,
  workDirOwner,
  workRoot,
} from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { listMountFiles, removeMounts } from '../engine/node-mounts.js';
import { ETC_NETNS, listEtcNetns } from '../engine/etc-netns.js';
import { rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseNsName, PREFIX } from '../plan/names.js';
import { matcher } from './common.js';
import { downRootless, rootlessGone, rootlessHere } from './rootless.js';

/**
 * Removes what dead runs left, and only what can be proved to be theirs: labs
 * whose record says they were being created or tested by a process that is
 * gone (pid and start time), and the scratch directories of dead nslab
 * processes. A lab left up on purpose (`nslab up`,
 * `--keep`) is never touched; nor is a namespace no record of this state
 * directory proves dead: it is listed, not removed.
 *
 * Order matters: namespaces are listed *before* the records are read. A lab is
 * recorded before its first namespace exists, so every lab namespace seen in the
 * list has a record by the time records are read, and one being created is
 * owned by a live process. And a record is read again *after* its owner is found
 * dead: a dead owner writes nothing more, so what that second read says (still
 * its owner, not left up) is final. Acting on the first read alone removed a lab
 * whose `up` wrote status up and exited in between (seen once in 500 cycles).
 */
export async function run(patterns: string[] = []): Promise<number> {
  if (rootlessHere()) return cleanupRootless(matcher(patterns));
  requireRoot('cleanup');
  if (existsSync(stateDir())) ensureStateDir(false); // a missing state directory just records nothing
  const wanted = matcher(patterns);
  const runner = new RealRunner();
  const list = await runArgv(['ip', 'netns', 'list']);
  const present = String(list.stdout)
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((ns) => ns.startsWith(PREFIX));
  const say = (s: string) => process.stdout.write(s + '\n');
  // an invalid record is reported where it is in scope (its file name, less .json, matches)
  const states = listStates((f) => {
    if (wanted(basename(f, '.json'))) say(`ignored ${f}: not a valid nslab record (left as it is)`);
  });
  let removed = 0;
  for (const first of states) {
    if (!wanted(first.instance) || first.status === 'up' || ownerAlive(first)) continue;
    const s = readState(first.instance); // again, now that its owner is known to be dead
    if (!s || s.status === 'up' || s.owner.pid !== first.owner.pid || s.owner.start !== first.owner.start) continue;
    await teardown(s, runner);
    // the scratch space of the dead owner too: its name carries the same pid and start time
    removeWorkDirs((o) => o.pid === s.owner.pid && o.start === s.owner.start);
    say(`removed lab '${s.instance}' (${s.status}, owner pid ${s.owner.pid} is gone)`);
    removed++;
  }
  // scratch space of nslab processes that are gone: its name proves whose it is
  if (!patterns.length) removed += removeWorkDirs((o) => !isSame(o.pid, o.start));
  const recorded = new Set(states.map((s) => s.instance));
  const unknown = present.filter((ns) => {
    const p = parseNsName(ns);
    return p ? !recorded.has(p.instance) && wanted(p.instance) : !patterns.length;
  });
  if (unknown.length)
    say(
      `left alone: ${unknown.length} nslab namespaces that no record in ${stateDir()} proves dead: ${unknown.slice(0, 10).join(' ')}${unknown.length > 10 ? ' …' : ''}\n` +
        '  (a lab of another state directory, or of an older nslab: clean it up from there, or remove it with ip netns del once you know it is yours)',
    );
  // table-name directories (/etc/netns/NS) that no record explains: listed, as namespaces are
  const live = new Set(listStates().flatMap((s) => s.etc ?? []));
  const strays = listEtcNetns().filter((ns) => !live.has(ns) && wanted(parseNsName(ns)!.instance));
  if (strays.length)
    say(
      `left alone: ${strays.length} directories in ${ETC_NETNS} that no record in ${stateDir()} proves nslab's: ${strays.slice(0, 10).join(' ')}${strays.length > 10 ? ' …' : ''}\n` +
        `  (remove one with rm -r ${ETC_NETNS}/NAME once you know it is yours)`,
    );
  // nodes' mount namespace files (node-mounts.ts) that no record names: in the private state directory, so nslab's;
  // listed first, then the records read again (a lab coming up records its files before it makes them)
  const files = listMountFiles().filter((ns) => wanted(parseNsName(ns)!.instance));
  const named = new Set(listStates().flatMap((s) => s.mnt ?? []));
  const orphans = files.filter((ns) => !named.has(ns));
  if (orphans.length) {
    await removeMounts(orphans, runner);
    say(`removed ${orphans.length} mount namespace files that no record names: ${orphans.slice(0, 10).join(' ')}`);
    removed++;
  }
  if (!removed) say('nothing to clean up');
  return 0;
}

/** Removes the scratch directories whose owner (pid, start time) `gone` says is dead; returns how many. */
function removeWorkDirs(gone: (owner: { pid: number; start: string }) => boolean): number {
  let n = 0;
  for (const d of listWorkDirs()) {
    const o = workDirOwner(d);
    if (o && o.pid !== process.pid && gone(o)) {
      rmSync(join(workRoot(), d), { recursive: true, force: true });
      n++;
    }
  }
  return n;
}

/**
 * Without privilege, the records are the user's rootless labs (src/engine/holder.ts): nothing of theirs exists
 * outside their holders, so what is left of a dead one is its record alone. A record is removed when its holder has
 * ended, or, while its `up` was still starting one, when that `up` is gone (a holder it had started is ended then).
 */
async function cleanupRootless(wanted: (instance: string) => boolean): Promise<number> {
  if (existsSync(stateDir())) ensureStateDir(false);
  let removed = 0;
  for (const first of listStates()) {
    if (!wanted(first.instance) || !(rootlessGone(first) || (first.status !== 'up' && !ownerAlive(first)))) continue;
    const s = readState(first.instance); // again, now that it is known to be gone (as above)
    if (!s || s.owner.pid !== first.owner.pid || s.owner.start !== first.owner.start) continue;
    if (!(rootlessGone(s) || (s.status !== 'up' && !ownerAlive(s)))) continue;
    const why =
      s.holder && rootlessGone(s)
        ? `its holder, pid ${s.holder.pid}, had ended`
        : `its nslab up, pid ${s.owner.pid}, ended before the lab was up`;
    await downRootless(s);
    process.stdout.write(`removed lab '${s.instance}' (${why})\n`);
    removed++;
  }
  if (!removed) process.stdout.write('nothing to clean up\n');
  return 0;
}

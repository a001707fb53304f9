// The reaper of one lab: a small detached process that the API starts as soon
// as the lab's record exists (before anything of the lab is created) and that
// outlives a test process killed outright or cut short (vitest ends a worker
// whose main process is gone, at its next message to it, and kills one that
// does not stop within 500 ms of SIGTERM; CI kills jobs; the OOM killer). Once
// the owner is gone it runs `nslab cleanup INSTANCE`, which removes the lab
// only if its record still names that dead owner; once the lab's record is
// gone (taken down as usual), it just exits.
// argv: owner-pid owner-start instance
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { isSame } from '../engine/proc.js';
import { readState } from '../engine/state.js';

const [pid, start, instance] = process.argv.slice(2) as [string, string, string];
const CLI = fileURLToPath(new URL('../bin/main.js', import.meta.url));

const timer = setInterval(() => {
  if (!readState(instance)) process.exit(0);
  if (isSame(Number(pid), start || undefined)) return;
  clearInterval(timer);
  spawnSync(process.execPath, [CLI, 'cleanup', instance], { stdio: 'ignore' });
  process.exit(0);
}, 100); // a read of the record and of /proc/PID/stat: cheap, and the lab is removed soon after its owner died

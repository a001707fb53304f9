// The trainer's view (issue 21): root lists every user's labs, rootless ones
// included, from each user's own state directory. Those directories and files
// are the users': they are only read (never a link, never anything but a
// regular file, opened without blocking), and a record is shown only if it is
// a valid record of that directory. A holder counts as running only while its
// pid, with the recorded start time, is a process of that user.
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentError } from '../errors.js';
import { isRunning } from '../engine/proc.js';
import { validState, type LabState } from '../engine/state.js';

export interface UserLab {
  user: string;
  uid: number;
  gid: number;
  home: string;
  dir: string;
  state: LabState;
  holderAlive?: boolean;
}

/** Where a user's records may be (state.ts's stateDir() for that user, without their environment). */
const candidates = (uid: number, home: string) => [
  `/run/user/${uid}/nslab-${uid}`,
  join(home, '.local/state/nslab'),
  `/tmp/nslab-${uid}`,
];

function users(): { name: string; uid: number; gid: number; home: string }[] {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length >= 7 && /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!) && f[2] !== '0')
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]), home: f[5]! }));
}

/** A file of a user's directory, read only if it is a regular file (a FIFO or device is never opened to block). */
function readRegular(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    if (!fstatSync(fd).isFile() || fstatSync(fd).size > 1_000_000) return undefined;
    return readFileSync(fd, 'utf8');
  } catch {
    return undefined;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function holderOf(uid: number, h: { pid: number; start: string }): boolean {
  if (!isRunning(h.pid, h.start)) return false;
  try {
    return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${h.pid}/status`, 'utf8'))?.[1] === String(uid);
  } catch {
    return false;
  }
}

/** Every user's labs (root's own are `nslab ls`'s); root only. */
export function allUsersLabs(): UserLab[] {
  if (process.getuid?.() !== 0)
    throw new EnvironmentError(
      "--all-users is the trainer's view: it needs root",
      "without root, 'nslab ls' lists your own labs",
    );
  const out: UserLab[] = [];
  for (const u of users())
    for (const dir of new Set(candidates(u.uid, u.home))) {
      const st = lstatSync(dir, { throwIfNoEntry: false });
      // the user's own private directory, as nslab makes it: anything else is not theirs to show
      if (!st?.isDirectory() || st.uid !== u.uid || (st.mode & 0o022) !== 0) continue;
      let names: string[];
      try {
        names = readdirSync(dir).filter((n) => n.endsWith('.json'));
      } catch {
        continue;
      }
      for (const n of names) {
        const text = readRegular(join(dir, n));
        if (text === undefined) continue;
        let state: LabState | undefined;
        const saved = process.env.NSLAB_STATE_DIR;
        process.env.NSLAB_STATE_DIR = dir; // a record names its log directory in its own state directory
        try {
          state = validState(JSON.parse(text), n.slice(0, -5));
        } catch {
          state = undefined;
        } finally {
          if (saved === undefined) delete process.env.NSLAB_STATE_DIR;
          else process.env.NSLAB_STATE_DIR = saved;
        }
        if (state)
          out.push({
            user: u.name,
            uid: u.uid,
            gid: u.gid,
            home: u.home,
            dir,
            state,
            ...(state.holder ? { holderAlive: holderOf(u.uid, state.holder) } : {}),
          });
      }
    }
  return out.sort((a, b) => a.user.localeCompare(b.user) || a.state.instance.localeCompare(b.state.instance));
}

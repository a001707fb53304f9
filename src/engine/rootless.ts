// Rootless runs: without root, `nslab test` runs itself again inside a user
// namespace it creates, with its own network, mount and PID namespaces:
//
//   unshare --user --map-current-user --keep-caps --net --mount --pid --fork --mount-proc
//
// In there the user's own uid holds every capability of that namespace
// (ambient, so ip, tc, nft, sysctl and nsenter inherit them), a tmpfs on /run
// gives `ip netns` and the state directory a private place, and the machine is
// out of reach: the "root" network namespace is a new empty one, mounts stay in
// the private mount namespace, and everything dies with the run (the PID
// namespace takes every process with it, even after a SIGKILL).
//
// Why the user's own uid and not a mapped root (`unshare -r`): tcpdump run as
// uid 0 always tries to drop privileges (initgroups, then setuid to `-Z USER`,
// `tcpdump` by default, or root with `-Z root`), and initgroups is refused in a
// user namespace made without privilege (setgroups is "deny"), so it exits
// before capturing anything. Run as any other uid, tcpdump keeps the
// capabilities it was given and captures.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { EnvironmentError } from '../errors.js';
import { isPrivileged, isRoot, onPath, OWN_USERNS, requireTools } from './capabilities.js';
import { installHint, programsFor } from './requirements.js';
import { markRootlessRun } from './node-mounts.js';
import { runArgv } from './runner.js';

/** Set in the environment of the nslab that runs inside the rootless namespaces. */
export const ROOTLESS_ENV = 'NSLAB_ROOTLESS';
/** The state directory inside: on the private tmpfs, gone with the run. */
export const ROOTLESS_STATE_DIR = '/run/nslab';

export const UNSHARE = [
  'unshare',
  ...OWN_USERNS,
  '--net',
  '--mount',
  '--propagation',
  'private',
  '--pid',
  '--fork',
  '--mount-proc',
  '--kill-child',
];

const readInt = (file: string): number | undefined => {
  try {
    return Number(readFileSync(file, 'utf8').trim());
  } catch {
    return undefined;
  }
};

export interface UsernsBlock {
  reason: string;
  fix: string;
}

/**
 * Kernel settings that forbid an unprivileged user namespace, each with the
 * command that allows it. The trial in rootlessProblem() is what decides;
 * these name the cause.
 */
export function usernsSettings(read: (file: string) => number | undefined = readInt): UsernsBlock[] {
  const out: UsernsBlock[] = [];
  if (read('/proc/sys/user/max_user_namespaces') === 0)
    out.push({
      reason: 'user.max_user_namespaces is 0',
      fix: 'sysctl -w user.max_user_namespaces=15000 (as root; persist it in /etc/sysctl.d/)',
    });
  if (read('/proc/sys/kernel/unprivileged_userns_clone') === 0)
    out.push({
      reason: 'kernel.unprivileged_userns_clone is 0',
      fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (as root; persist it in /etc/sysctl.d/)',
    });
  if (read('/proc/sys/kernel/apparmor_restrict_unprivileged_userns') === 1)
    out.push({
      reason:
        'AppArmor restricts unprivileged user namespaces (kernel.apparmor_restrict_unprivileged_userns=1, Ubuntu 23.10 and later)',
      fix: 'sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (as root), or an AppArmor profile that allows userns for node',
    });
  return out;
}

/**
 * Why a rootless run cannot work here, or undefined if it can: the namespaces
 * are tried for real (a seccomp filter, an AppArmor rule or a container's
 * masked /proc can forbid what no setting shows).
 */
export async function rootlessProblem(): Promise<UsernsBlock | undefined> {
  if (!onPath('unshare')) return { reason: "'unshare' (util-linux) is not installed", fix: installHint('unshare') };
  const r = await runArgv([...UNSHARE, '--', 'true'], { timeoutMs: 10_000 });
  if (r.exitCode === 0) return undefined;
  const blocks = usernsSettings();
  const said = r.stderr.trim().split('\n').pop() ?? `exit status ${r.exitCode}`;
  if (blocks.length)
    return {
      reason: `unprivileged user namespaces are disabled: ${blocks.map((b) => b.reason).join('; ')} (${said})`,
      fix: blocks.map((b) => b.fix).join('; '),
    };
  return {
    reason: `a user namespace with network, mount and PID namespaces cannot be made here (${said})`,
    fix: 'in a container, run it with --privileged (or as root); on a host, check for a seccomp or AppArmor policy that forbids unshare(CLONE_NEWUSER)',
  };
}

let entered = false;

/** Whether this is the nslab inside the rootless namespaces. */
export function insideRootless(): boolean {
  return entered || process.env[ROOTLESS_ENV] === '1';
}

/** Whether `nslab test` has to go rootless: not privileged, and not already inside. */
export function needsRootless(): boolean {
  return !isPrivileged() && !insideRootless();
}

/**
 * Runs this same nslab command again inside new user, network, mount and PID
 * namespaces, and returns its exit status. Signals sent to this process are
 * passed on to the nslab inside, which unwinds and exits 130/143.
 */
export async function runRootless(args: string[]): Promise<number> {
  const problem = await rootlessProblem();
  // root without the capabilities is an unprivileged container: --privileged is the fix, not root
  if (problem && isRoot()) {
    throw new EnvironmentError(
      'running tests needs CAP_NET_ADMIN and CAP_SYS_ADMIN, which this root lacks (an unprivileged container?), ' +
        `or an unprivileged user namespace for a rootless run: ${problem.reason}`,
      `run the container with --privileged (docker run --privileged ...), or allow a rootless run: ${problem.fix}; see docs/ci.md`,
    );
  }
  if (problem)
    throw new EnvironmentError(
      `running tests without root needs an unprivileged user namespace: ${problem.reason}`,
      `${problem.fix}; or run as root`,
    );
  // what the run inside needs, and its mounts: said here, before any namespace is made
  requireTools(programsFor('lab', 'test', 'rootless'));
  const argv = [...UNSHARE, '--', process.execPath, ...process.execArgv, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'inherit', env: { ...process.env, [ROOTLESS_ENV]: '1' } });
  // unshare --fork blocks SIGINT and SIGTERM while it waits: they go to the nslab inside, its child.
  // That one is PID 1 of its namespace, and until enterRootless() has set its handlers a signal
  // would be lost (Node's own SIGINT/SIGTERM handler re-raises it with the default action, which
  // the kernel ignores for PID 1): a signal is held until then, and sent once. The sign that the
  // handlers are set: SIGHUP caught, which Node does not catch by itself.
  const timers: NodeJS.Timeout[] = [];
  const pass = (sig: NodeJS.Signals) => () => {
    const t = setInterval(() => {
      const inside = childrenOf(child.pid).filter((pid) => catches(pid, 'SIGHUP'));
      for (const pid of inside)
        try {
          process.kill(pid, sig);
        } catch {
          /* gone already */
        }
      if (inside.length) clearInterval(t);
    }, 50);
    timers.push(t);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, pass(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, sig) => resolve(code ?? 128 + (sig ? constants.signals[sig] : 0)));
    });
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
    for (const t of timers) clearInterval(t);
  }
}

/** Whether a process has a handler for a signal (SigCgt in /proc/PID/status). */
function catches(pid: number, sig: NodeJS.Signals): boolean {
  try {
    const hex = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return !!hex && ((BigInt(`0x${hex}`) >> BigInt(constants.signals[sig] - 1)) & 1n) === 1n;
  } catch {
    return false;
  }
}

function childrenOf(pid: number | undefined): number[] {
  if (!pid) return [];
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Inside: a private tmpfs on /run (for `ip netns` and the state directory),
 * and signal handling fit for PID 1 (which the kernel spares every signal it
 * has no handler for). Refuses to run anywhere but in the namespaces
 * runRootless made: NSLAB_ROOTLESS set by hand must never mount over a /run.
 */
export async function enterRootless(): Promise<void> {
  // what runRootless made: a user namespace that is not the machine's, and a PID namespace whose first process is us
  if (isInitialUserNamespace() || process.pid !== 1)
    throw new EnvironmentError(
      `${ROOTLESS_ENV} is set, but this is not the namespace a rootless nslab made`,
      `unset ${ROOTLESS_ENV}`,
    );
  // not handed down to the lab's services and commands (an nslab among them is not this one)
  delete process.env[ROOTLESS_ENV];
  entered = true;
  markRootlessRun();
  const r = await runArgv(['mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'nslab-rootless', '/run']);
  if (r.exitCode !== 0)
    throw new EnvironmentError(
      `rootless: cannot mount a private /run (${r.stderr.trim()})`,
      'run as root, or see docs/ci.md#rootless',
    );
  process.env.NSLAB_STATE_DIR = ROOTLESS_STATE_DIR;
  await privateEtcNetns();
  // as PID 1, a signal nobody handles is ignored: until a verb handles them, they end the process as they would
  // elsewhere (runRootless() passes a signal on once these are set: SIGHUP caught is the sign)
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
    process.on(s, () => {
      if (process.listenerCount(s) === 1) process.exit(128 + constants.signals[s]);
    });
}

/**
 * Table names inside nodes are files in /etc/netns (etc-netns.ts), which an
 * unprivileged user cannot write. This mount namespace gets a private, writable
 * one: a tmpfs over the machine's /etc/netns where there is one, else an overlay
 * of /etc whose changes stay in /run's tmpfs (unprivileged overlay mounts need
 * Linux 5.11). The machine's /etc is never written.
 */
async function privateEtcNetns(): Promise<void> {
  const r = existsSync('/etc/netns')
    ? await runArgv(['mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'nslab-etc-netns', '/etc/netns'])
    : await (async () => {
        for (const d of ['upper', 'work']) mkdirSync(`/run/nslab-etc/${d}`, { recursive: true, mode: 0o700 });
        return runArgv([
          'mount',
          '-t',
          'overlay',
          '-o',
          'lowerdir=/etc,upperdir=/run/nslab-etc/upper,workdir=/run/nslab-etc/work',
          'nslab-etc',
          '/etc',
        ]);
      })();
  if (r.exitCode !== 0)
    throw new EnvironmentError(
      `rootless: cannot make a private /etc/netns for the nodes' table names (${r.stderr.trim()})`,
      'run as root, or on Linux 5.11 or later (unprivileged overlay mounts)',
    );
}

/** The machine's own user namespace maps every uid to itself. */
export function isInitialUserNamespace(
  map = (() => {
    try {
      return readFileSync('/proc/self/uid_map', 'utf8');
    } catch {
      return '';
    }
  })(),
): boolean {
  return /^\s*0\s+0\s+4294967295\s*$/.test(map);
}

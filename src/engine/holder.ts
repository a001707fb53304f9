// Rootless labs that outlive the command (issue 21). Without privilege, `nslab up`
// starts a holder: one small process per lab, the first process of namespaces
// of its own, made without privilege by
//
//   unshare --user --map-current-user --keep-caps --net --mount --pid --fork --mount-proc --kill-child
//
// It mounts a private tmpfs on /run (so /run/netns, where `ip netns` names the
// lab's network namespaces, and nslab's state inside, /run/nslab, are the lab's
// alone) and a private /etc/netns, then waits, reaping orphans. The lab's
// namespaces are made inside it and owned by its user namespace; nothing is
// created on the machine (no name in its /run/netns, no file in its /etc).
// Killing the holder, even with SIGKILL, ends its PID namespace and with it
// every process of the lab; its mount namespace goes with the last of them, and
// with it the names that kept the lab's network namespaces alive.
//
// The verbs enter the holder's namespaces (user, mount, network, PID) from the
// user's own record of it (pid and start time, in the per-user state
// directory). util-linux 2.38's nsenter cannot keep the capabilities the user
// has in the holder's user namespace across its exec (--keep-caps came in
// 2.39), and without them `ip netns exec` cannot enter a node: ENTER_PL does
// what nsenter does (setns to each namespace, then a fork for the PID
// namespace) and raises every capability of that user namespace as ambient,
// so that the command and its children keep them, as they do in a rootless
// `nslab test` (rootless.ts says why the user's own uid, not a mapped root).
// Those capabilities count only inside the holder's user namespace: its files
// are the machine's, and the user can write only what their uid can.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { EnvironmentError } from '../errors.js';
import { UNSHARE } from './rootless.js';
import { isRunning, startTime } from './proc.js';

/** The state directory inside a holder: on its private tmpfs, gone with it. */
export const HOLDER_STATE_DIR = '/run/nslab';
/** Set in the environment of an nslab that runs inside a holder. */
export const HOLDER_ENV = 'NSLAB_HOLDER';

export interface Holder {
  pid: number;
  start: string;
}

/**
 * PID 1 of the holder: the private mounts, "ready" on fd 3 for the nslab that
 * starts it, then a perl that reaps the orphans of the PID namespace (as an
 * init must) and ends on SIGTERM, SIGHUP or SIGINT (as PID 1 it ignores every
 * signal it has no handler for). /etc/netns (table names, etc-netns.ts) is a
 * private tmpfs where the machine has one, else /etc gets a private overlay
 * whose changes stay in the tmpfs (Linux 5.11 or later).
 */
const HOLDER_SH = `exec 2>&3
set -e
mount -t tmpfs -o mode=0755,nosuid,nodev nslab-holder /run
if [ -d /etc/netns ]; then
  mount -t tmpfs -o mode=0755,nosuid,nodev nslab-etc-netns /etc/netns
else
  mkdir -p -m 0700 /run/nslab-etc/upper /run/nslab-etc/work
  mount -t overlay -o lowerdir=/etc,upperdir=/run/nslab-etc/upper,workdir=/run/nslab-etc/work nslab-etc /etc
fi
echo ready >&3
exec perl -e "\\$0 = 'nslab-holder '.\\$ARGV[0]; \\$SIG{\\$_} = sub { exit 0 } for qw(TERM HUP INT); while (1) { sleep 1 if wait() == -1 }" "$0" </dev/null >/dev/null 2>&1 3>&-
`;

/**
 * Enters a holder: `perl -e ENTER_PL PID START -- COMMAND...`. The namespace
 * files are opened first and the holder's start time checked after, so a pid
 * reused meanwhile is never entered. Exits with the command's status (128 +
 * the signal that ended it); ignores SIGINT and SIGQUIT as a shell does while
 * its foreground command runs, and passes SIGTERM and SIGHUP on.
 */
export const ENTER_PL = String.raw`use strict; use Config ();
my ($pid, $start, $sep, @cmd) = @ARGV;
die "nslab: usage: enter PID START -- COMMAND...\n" unless defined $sep && $sep eq '--' && @cmd && $pid =~ /^\d+$/;
my %nr = (x86_64 => [308, 126, 157], aarch64 => [268, 91, 167]);
my ($arch) = (($Config::Config{archname} // '') =~ /^([^-]+)/, 'unknown');
my ($SETNS, $CAPSET, $PRCTL) = @{ $nr{$arch} || die "nslab: rootless labs know no system call numbers for $arch\n" };
my @ns;
for my $t (qw(user mnt net pid)) {
  open(my $fh, '<', "/proc/$pid/ns/$t") or die "nslab: cannot open the namespaces of holder pid $pid: $!\n";
  push @ns, $fh;
}
my $s = do { open(my $st, '<', "/proc/$pid/stat") or die "nslab: holder pid $pid is gone\n"; local $/; <$st> };
$s =~ s/^.*\) //s;
die "nslab: holder pid $pid is gone\n" unless ((split / /, $s)[19] // '') eq $start;
my $cwd = readlink('/proc/self/cwd');
for my $fh (@ns) { syscall($SETNS, fileno($fh), 0) == 0 or die "nslab: cannot enter holder pid $pid: $!\n" }
close $_ for @ns;
chdir($cwd) if defined $cwd;
my $last = do { open(my $f, '<', '/proc/sys/kernel/cap_last_cap') or die "nslab: cap_last_cap: $!\n"; local $/; <$f> };
chomp $last;
my @m = (0, 0);
$m[$_ >> 5] |= 1 << ($_ & 31) for 0 .. $last;
my ($hdr, $data) = (pack('LL', 0x20080522, 0), pack('L6', $m[0], $m[0], $m[0], $m[1], $m[1], $m[1]));
syscall($CAPSET, $hdr, $data) == 0 or die "nslab: capset: $!\n";
for my $c (0 .. $last) { syscall($PRCTL, 47, 2, $c, 0, 0) == 0 or die "nslab: ambient capability $c: $!\n" }
my $child = fork() // die "nslab: fork: $!\n";
if (!$child) { exec { $cmd[0] } @cmd; print STDERR "nslab: cannot run $cmd[0]: $!\n"; exit 127 }
$SIG{INT} = $SIG{QUIT} = 'IGNORE';
$SIG{$_} = sub { kill $_[0], $child } for qw(TERM HUP);
while (waitpid($child, 0) == -1) { last unless $!{EINTR} }
exit($? & 127 ? 128 + ($? & 127) : $? >> 8);
`;

/** The argv that runs `argv` inside a holder's namespaces, with that user namespace's capabilities. */
export function enterArgv(holder: Holder, argv: string[]): string[] {
  return ['perl', '-e', ENTER_PL, String(holder.pid), holder.start, '--', ...argv];
}

/** Whether the holder a record names is still running (same pid and start time, not a zombie). */
export function holderAlive(h: Holder | undefined): boolean {
  return !!h && isRunning(h.pid, h.start);
}

/**
 * Starts a holder for an instance and returns once its mounts are made. The
 * holder runs in a session of its own (a terminal's hangup or Ctrl-C does not
 * reach it); `unshare` stays its parent, and --kill-child ends it if `unshare`
 * is killed.
 */
export async function startHolder(instance: string): Promise<Holder> {
  // the same namespaces as a rootless `nslab test` run
  const argv = [...UNSHARE, '--', 'sh', '-c', HOLDER_SH, instance];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'pipe'] });
  const fd3 = child.stdio[3] as NodeJS.ReadableStream;
  let said = '';
  fd3.setEncoding('utf8');
  fd3.on('data', (d: string) => (said += d));
  const ready = await new Promise<boolean>((resolve) => {
    fd3.on('data', () => {
      if (said.includes('ready\n')) resolve(true);
    });
    fd3.on('end', () => resolve(said.includes('ready\n')));
    child.on('error', () => resolve(false));
    child.on('exit', () => setTimeout(() => resolve(said.includes('ready\n')), 50));
  });
  (fd3 as NodeJS.ReadableStream & { destroy(): void }).destroy();
  child.unref();
  const pid = ready ? holderPidOf(child.pid) : undefined;
  const start = pid && startTime(pid);
  if (!pid || !start) {
    if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    throw new EnvironmentError(
      `rootless: the lab's holder could not start${said.trim() ? ` (${said.trim().split('\n').pop()})` : ''}`,
      "'nslab doctor' says what keeps rootless labs from running here, and the fix",
    );
  }
  return { pid, start };
}

/** The holder is the one child of `unshare --fork`. */
function holderPidOf(unsharePid: number | undefined): number | undefined {
  if (!unsharePid) return undefined;
  try {
    const kids = readFileSync(`/proc/${unsharePid}/task/${unsharePid}/children`, 'utf8').trim().split(/\s+/);
    return kids.length === 1 && /^\d+$/.test(kids[0]!) ? Number(kids[0]) : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Ends a holder and with it its lab: SIGKILL to its PID 1 ends every process
 * of its PID namespace. Waits (up to 10 s) until it has been reaped: its
 * `unshare` collects it only once the kernel has ended and reaped every other
 * process of the namespace, so the lab is gone when this returns.
 */
export async function killHolder(h: Holder): Promise<void> {
  if (!holderAlive(h)) return;
  try {
    process.kill(h.pid, 'SIGKILL');
  } catch {
    return; // gone meanwhile
  }
  for (let t = 0; t < 10_000 && startTime(h.pid) === h.start; t += 10) await sleep(10);
}

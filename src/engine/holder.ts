// Rootless labs that outlive the command (issue 21). Without privilege, `nslab up`
// starts a holder: one small process per lab, the first process of namespaces
// of its own, made without privilege by
//
//   unshare --user --map-current-user --keep-caps --net --mount --pid --fork --mount-proc --kill-child
//
// It mounts a private tmpfs on /run (so /run/netns, where `ip netns` names the
// lab's network namespaces, and nslab's state inside, /run/nslab, are the lab's
// alone) and a private /etc/netns, then runs the programs of the lab's bring-up
// for the nslab that started it (HOLDER_PL, holder-channel.ts), then waits,
// reaping orphans. The lab's namespaces are made inside it and owned by its
// user namespace; nothing is created on the machine (no name in its /run/netns,
// no file in its /etc).
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
import type { Readable } from 'node:stream';
import { EnvironmentError } from '../errors.js';
import { HolderChannel } from './holder-channel.js';
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
 * The holder's PID 1 (perl, the first process of its namespaces). First its private mounts: a tmpfs on /run, and
 * /etc/netns (table names, etc-netns.ts) a private tmpfs where the machine has one, else /etc a private overlay whose
 * changes stay in the tmpfs (Linux 5.11 or later); mount(2) is called directly where its number is known (an exec
 * of mount(8) each cost ~9 ms of every rootless `up`), else through mount(8). Then "ready" on fd 3. Then it serves
 * the nslab that started it (the channel: requests on standard input, answers on fd 3): `X ID ARGVLEN INLEN`, then
 * the argv (NUL-separated) and the input, runs a program in the holder's namespaces with its capabilities (unshare
 * --keep-caps made them ambient), its output in files of the holder's own /run, and answers `E ID STATUS OUTLEN
 * ERRLEN`, then the output; `K ID SIGNAL` signals one; `D` (done) ends the serving. An end of input without `D` means
 * that the nslab died while it brought the lab up: PID 1 exits, and the lab ends with it. After `D` it reaps the
 * orphans of the PID namespace (as an init must) and ends on SIGTERM, SIGHUP or SIGINT (as PID 1 it ignores every
 * signal it has no handler for). Argument: the instance (its process title).
 */
export const HOLDER_PL = String.raw`use strict;
$0 = "nslab-holder $ARGV[0]";
open(my $ans, '>&', 3) or exit 1; # perl's own fds are close-on-exec: no program it runs keeps the channel
{ open(my $f3, '>&=', 3) or exit 1; close $f3 }
binmode STDIN; binmode $ans;
open(STDERR, '>&', $ans) or exit 1;
sub fail { syswrite($ans, "$_[0]\n"); exit 1 }
use Config ();
# perl's own architecture (as ENTER_PL's), not Node's: a 32-bit perl beside a 64-bit Node must not call another syscall
my ($arch) = ($Config::Config{archname} // '') =~ /^([^-]+)/;
my $MOUNT = { x86_64 => 165, aarch64 => 40 }->{$arch // ''};
sub mnt {
  my ($src, $target, $type, $data) = @_;
  if ($MOUNT) { syscall($MOUNT, $src, $target, $type, 6, $data) == 0 or fail("mount $type on $target: $!") } # 6: nosuid, nodev
  else { system('mount', '-t', $type, '-o', "nosuid,nodev,$data", $src, $target) == 0 or fail("mount $type on $target failed") }
}
mnt('nslab-holder', '/run', 'tmpfs', 'mode=0755');
if (-d '/etc/netns') { mnt('nslab-etc-netns', '/etc/netns', 'tmpfs', 'mode=0755') }
else {
  mkdir($_, 0700) or fail("mkdir $_: $!") for '/run/nslab-etc', '/run/nslab-etc/upper', '/run/nslab-etc/work';
  mnt('nslab-etc', '/etc', 'overlay', 'lowerdir=/etc,upperdir=/run/nslab-etc/upper,workdir=/run/nslab-etc/work');
}
my $dir = '/run/nslab-exec';
mkdir($dir, 0700) or fail("mkdir $dir: $!");
open(STDERR, '>', '/dev/null');
syswrite($ans, "ready\n");
pipe(my $wake_r, my $wake_w) or exit 1;
{ use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK); fcntl($_, F_SETFL, fcntl($_, F_GETFL, 0) | O_NONBLOCK) for $wake_r, $wake_w }
$SIG{$_} = sub { exit 0 } for qw(TERM HUP INT);
$SIG{CHLD} = sub { syswrite($wake_w, 'c') };
my (%id_of, %pid_of);
sub answer {
  my ($id, $code, $out, $err) = @_;
  my $m = "E $id $code " . length($out) . ' ' . length($err) . "\n" . $out . $err;
  while (length $m) {
    my $w = syswrite($ans, $m);
    if (!defined $w) { next if $!{EINTR}; exit 0 }
    substr($m, 0, $w, '');
  }
}
sub slurp { open(my $h, '<:raw', $_[0]) or return ''; local $/; my $s = <$h>; defined $s ? $s : '' }
sub reap {
  while ((my $p = waitpid(-1, 1)) > 0) {
    my $st = $?;
    my $id = delete $id_of{$p};
    next unless defined $id;
    delete $pid_of{$id};
    my ($o, $e) = (slurp("$dir/$id.out"), slurp("$dir/$id.err"));
    unlink "$dir/$id.in", "$dir/$id.out", "$dir/$id.err";
    answer($id, $st & 127 ? 128 + ($st & 127) : $st >> 8, $o, $e);
  }
}
sub start {
  my ($id, $argv, $in) = @_;
  my $f = "$dir/$id";
  open(my $h, '>:raw', "$f.in") or return answer($id, 127, '', "nslab holder: $f.in: $!\n");
  (print $h $in) && close($h) or return answer($id, 127, '', "nslab holder: $f.in: $!\n");
  my $pid = fork();
  return answer($id, 127, '', "nslab holder: fork: $!\n") unless defined $pid;
  if (!$pid) {
    open(STDIN, '<', "$f.in") && open(STDOUT, '>', "$f.out") && open(STDERR, '>', "$f.err") or exit 127;
    exec { $argv->[0] } @$argv;
    print STDERR "nslab: cannot run $argv->[0]: $!\n";
    exit 127;
  }
  $id_of{$pid} = $id;
  $pid_of{$id} = $pid;
}
my $buf = '';
SERVE: while (1) {
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1;
  vec($rin, fileno($wake_r), 1) = 1;
  my $n = select(my $rout = $rin, undef, undef, undef);
  1 while sysread($wake_r, my $x, 512);
  reap();
  next unless $n > 0 && vec($rout, fileno(STDIN), 1);
  my $got = sysread(STDIN, $buf, 65536, length $buf);
  next if !defined $got && $!{EINTR};
  exit 0 unless $got;
  while ($buf =~ /\A([^\n]*)\n/) {
    my $hl = length($1) + 1;
    my @h = split / /, $1;
    if ($h[0] eq 'X' && @h == 4 && "@h[1..3]" =~ /^\d+ \d+ \d+$/) {
      last if length($buf) < $hl + $h[2] + $h[3];
      my @argv = split /\0/, substr($buf, $hl, $h[2]), -1;
      my $in = substr($buf, $hl + $h[2], $h[3]);
      substr($buf, 0, $hl + $h[2] + $h[3], '');
      @argv ? start($h[1], \@argv, $in) : answer($h[1], 127, '', "nslab holder: no program\n");
    } elsif ($h[0] eq 'K' && @h == 3 && "@h[1..2]" =~ /^\d+ \d+$/) {
      substr($buf, 0, $hl, '');
      kill($h[2], $pid_of{$h[1]}) if $pid_of{$h[1]};
    } elsif ($h[0] eq 'D' && @h == 1) {
      last SERVE;
    } else {
      exit 1;
    }
  }
}
close $ans;
open(STDIN, '<', '/dev/null');
$SIG{CHLD} = 'DEFAULT';
while (1) { sleep 1 if wait() == -1 }
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
 * Starts a holder for an instance and returns once its mounts are made, with
 * the channel to its PID 1 (holder-channel.ts), which the caller either uses
 * and then releases, or releases at once. The holder runs in a session of its
 * own (a terminal's hangup or Ctrl-C does not reach it); `unshare` stays its
 * parent, and --kill-child ends it if `unshare` is killed.
 */
export async function startHolder(instance: string): Promise<{ holder: Holder; channel: HolderChannel }> {
  // the same namespaces as a rootless `nslab test` run
  const argv = [...UNSHARE, '--', 'perl', '-e', HOLDER_PL, instance];
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['pipe', 'ignore', 'ignore', 'pipe'] });
  const fd3 = child.stdio[3] as Readable;
  let said = Buffer.alloc(0);
  const hasReady = () => said.indexOf('ready\n') >= 0;
  const onData = (d: Buffer) => (said = Buffer.concat([said, d]));
  fd3.on('data', onData);
  const ready = await new Promise<boolean>((resolve) => {
    fd3.on('data', () => {
      if (hasReady()) resolve(true);
    });
    fd3.on('end', () => resolve(hasReady()));
    child.on('error', () => resolve(false));
    child.on('exit', () => setTimeout(() => resolve(hasReady()), 50));
  });
  fd3.removeAllListeners('data');
  fd3.removeAllListeners('end');
  const pid = ready ? holderPidOf(child.pid) : undefined;
  const start = pid && startTime(pid);
  if (!pid || !start) {
    fd3.destroy();
    child.stdin?.destroy();
    child.unref();
    if (child.pid && child.exitCode === null) child.kill('SIGKILL');
    const text = said.toString('utf8').trim();
    throw new EnvironmentError(
      `rootless: the lab's holder could not start${text ? ` (${text.split('\n').pop()})` : ''}`,
      "'nslab doctor' says what keeps rootless labs from running here, and the fix",
    );
  }
  const rest = said.subarray(said.indexOf('ready\n') + 'ready\n'.length);
  return { holder: { pid, start }, channel: new HolderChannel(child, child.stdin!, fd3, rest) };
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

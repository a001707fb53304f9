// What this machine can do, detected at run time: never assumed, never faked.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runArgv } from './runner.js';
import { EnvironmentError } from '../errors.js';
import type { Feature } from '../lab/model.js';
import { installHint, REQUIREMENTS } from './requirements.js';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

const CAP_NET_ADMIN = 12n,
  CAP_SYS_ADMIN = 21n;

/** This process's effective capabilities (a bit mask), from /proc. */
export function effectiveCaps(
  status = (() => {
    try {
      return readFileSync('/proc/self/status', 'utf8');
    } catch {
      return '';
    }
  })(),
): bigint {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(status)?.[1];
  return hex ? BigInt(`0x${hex}`) : 0n;
}

/**
 * Whether this process can make namespaces, veths and mounts: CAP_NET_ADMIN
 * and CAP_SYS_ADMIN. Root on a host or in a privileged container has both;
 * root in an ordinary container lacks them; inside nslab's rootless user
 * namespace the user's own uid has them (ambient, for its children too).
 */
export function isPrivileged(caps = effectiveCaps()): boolean {
  return ((caps >> CAP_NET_ADMIN) & 1n) === 1n && ((caps >> CAP_SYS_ADMIN) & 1n) === 1n;
}

/** Whether a program is on PATH, without running it (preflight must be cheap). */
export function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter))
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  return false;
}

/** Exit 3 unless this process is privileged (root, or inside nslab's rootless namespace); `what` says what needs it. */
export function requireRoot(what: string): void {
  if (isPrivileged()) return;
  if (isRoot())
    throw new EnvironmentError(
      `${what} needs CAP_NET_ADMIN and CAP_SYS_ADMIN, which this root lacks (an unprivileged container?)`,
      'run the container with --privileged (docker run --privileged ...); see docs/ci.md',
    );
  throw new EnvironmentError(
    `${what} needs root`,
    "run it as root or in a privileged container; without root, 'nslab test' runs rootless, 'nslab up' leaves a lab up in a holder of its own, and a test suite using the API runs as 'nslab run -- npx vitest run': see docs/rootless.md",
  );
}

/** Exit 3 naming the first of these programs that is not installed, and its package (src/engine/requirements.ts). */
export function requireTools(tools: Iterable<string>): void {
  for (const t of tools)
    if (!onPath(t))
      throw new EnvironmentError(
        `'${t}' is not installed`,
        `${installHint(t)}; 'nslab doctor' lists everything nslab needs (./scripts/nslab installs it)`,
      );
}

export async function toolVersion(argv: string[]): Promise<string | undefined> {
  if (!onPath(argv[0]!)) return undefined;
  let r;
  // a program the kernel refuses to run (file capabilities beyond this process's bounding set) is as good as missing
  try {
    r = await runArgv(argv);
  } catch {
    return undefined;
  }
  if (r.exitCode === 127) return undefined;
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => /\d/.test(l));
  return (lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0])?.trim();
}

/** The programs of src/engine/requirements.ts that print a version, with the argv that prints it. */
export const TOOLS: Record<string, string[]> = Object.fromEntries(
  REQUIREMENTS.filter((r) => r.version).map((r) => [r.name, r.version!]),
);

const QDISC_ARGS: Record<Feature, string[]> = {
  tbf: ['tbf', 'rate', '1mbit', 'burst', '3200', 'latency', '50ms'],
  htb: ['htb', 'default', '1'],
  netem: ['netem', 'delay', '1ms'],
};

let cached: Promise<Record<Feature, boolean>> | undefined;

/**
 * An anonymous network namespace to try things in; without privilege, inside
 * a user namespace of its own as a rootless run would be (where that is
 * forbidden, the trial fails and the feature counts as absent).
 */
/**
 * A user namespace mapping the caller's own uid, with that namespace's capabilities kept (rootless.ts says why not
 * root).
 */
export const OWN_USERNS = ['--user', '--map-current-user', '--keep-caps'];
const scratchNet = () => (isPrivileged() ? ['unshare', '--net'] : ['unshare', ...OWN_USERNS, '--net']);

/**
 * Which qdiscs the kernel has, tried for real on a veth in a scratch namespace
 * (a module may be absent, built in, or loadable on demand: only trying tells).
 * The namespace is an anonymous one (`unshare --net`): it has no name and dies
 * with the shell that made it, so a killed nslab cannot leave it behind.
 */
export function kernelFeatures(): Promise<Record<Feature, boolean>> {
  cached ??= probeFeatures();
  return cached;
}

async function probeFeatures(): Promise<Record<Feature, boolean>> {
  const out = { tbf: false, htb: false, netem: false } as Record<Feature, boolean>;
  const fast = { tbf: 'sch_tbf', htb: 'sch_htb', netem: 'sch_netem' } as const;
  const unknown = (Object.keys(out) as Feature[]).filter((f) => !(out[f] = existsSync(`/sys/module/${fast[f]}`)));
  if (!unknown.length) return out;
  // one line per feature, "<name> <tc's exit status>"; the qdisc arguments are constants of ours
  const script = [
    'ip link add name a type veth peer name b || exit 1',
    ...unknown.map((f) => `tc qdisc replace dev a root ${QDISC_ARGS[f].join(' ')} 2>/dev/null; echo "${f} $?"`),
  ].join('\n');
  const r = await runArgv([...scratchNet(), '--', 'sh', '-c', script]);
  for (const line of r.stdout.split('\n')) {
    const [f, code] = line.split(' ');
    if (unknown.includes(f as Feature)) out[f as Feature] = code === '0';
  }
  return out;
}

// ---- container pitfalls, read from /proc/self/mountinfo ----

export interface Mount {
  point: string;
  options: string[];
  optional: string[];
  fstype: string;
}

/** /proc/self/mountinfo, parsed: mount point, its options, the optional fields (shared:N, master:N), the type. */
export function parseMountinfo(text: string): Mount[] {
  const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  const out: Mount[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const dash = f.indexOf('-');
    if (f.length < 10 || dash < 6) continue;
    out.push({ point: unescape(f[4]!), options: f[5]!.split(','), optional: f.slice(6, dash), fstype: f[dash + 1]! });
  }
  return out;
}

export function readMountinfo(): Mount[] {
  try {
    return parseMountinfo(readFileSync('/proc/self/mountinfo', 'utf8'));
  } catch {
    return [];
  }
}

/** The mount a path lives on: the longest mount point above it, the last one mounted where several stack. */
export function mountOf(path: string, mounts: Mount[]): Mount | undefined {
  let best: Mount | undefined;
  for (const m of mounts)
    if (
      (path === m.point || path.startsWith(m.point === '/' ? '/' : `${m.point}/`)) &&
      (!best || m.point.length >= best.point.length)
    )
      best = m;
  return best;
}

/** Whether the sysctls of a lab's nodes can be written: containers often mount /proc/sys read-only. */
export function procSysReadOnly(mounts = readMountinfo()): boolean {
  return !!mountOf('/proc/sys/net/ipv4/ip_forward', mounts)?.options.includes('ro');
}

/**
 * /run/netns as `ip netns` finds it: not a mount point yet (ip makes it one,
 * shared, itself), a shared mount, or a mount without shared propagation: the
 * namespaces bound there are then invisible to every other mount namespace
 * (the host, other containers, `ip netns` in a sibling job).
 */
export function netnsPropagation(mounts = readMountinfo()): 'absent' | 'shared' | 'private' {
  const m = mounts.filter((x) => x.point === '/run/netns').at(-1);
  if (!m) return 'absent';
  return m.optional.some((o) => o.startsWith('shared:')) ? 'shared' : 'private';
}

/**
 * The kernel's veth and nf_tables, tried for real in an anonymous network
 * namespace (as for the qdiscs); undefined where this process cannot try.
 */
export async function kernelBasics(): Promise<{ veth?: boolean; nftables?: boolean }> {
  const script = [
    'ip link add name a type veth peer name b 2>/dev/null; echo "veth $?"',
    onPath('nft') ? 'echo \'table inet nslab_probe { }\' | nft -f - 2>/dev/null; echo "nftables $?"' : '',
  ].join('\n');
  const r = await runArgv([...scratchNet(), '--', 'sh', '-c', script]);
  const got = (k: string) => {
    const m = new RegExp(`^${k} (\\d+)$`, 'm').exec(r.stdout);
    return m ? m[1] === '0' : undefined;
  };
  return { veth: got('veth'), nftables: got('nftables') };
}

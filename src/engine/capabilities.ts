// What this machine can do, detected at run time: never assumed, never faked.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { runArgv } from './runner.js';
import { EnvironmentError } from '../errors.js';
import type { Feature } from '../lab/model.js';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

/** Whether a program is on PATH, without running it (preflight must be cheap). */
export function onPath(program: string): boolean {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(delimiter))
    try { accessSync(join(dir, program), constants.X_OK); return true; } catch { /* next */ }
  return false;
}

/** Exit 3 unless this process is root; `what` says what needs it. */
export function requireRoot(what: string): void {
  if (!isRoot()) throw new EnvironmentError(`${what} needs root`, 'run it as root, or in a privileged container');
}

/** Exit 3 naming the first of these programs that is not installed. */
export function requireTools(tools: Iterable<string>): void {
  for (const t of tools)
    if (!onPath(t)) throw new EnvironmentError(`'${t}' is not installed`, 'run ./scripts/nslab once, which installs what is missing, or apt-get install iproute2 iputils-ping tcpdump nftables');
}

export async function toolVersion(argv: string[]): Promise<string | undefined> {
  if (!onPath(argv[0]!)) return undefined;
  const r = await runArgv(argv);
  const lines = (r.stdout + r.stderr).split('\n').filter((l) => /\d/.test(l));
  return (lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0])?.trim();
}

export const TOOLS: Record<string, string[]> = {
  ip: ['ip', '-V'], tc: ['tc', '-V'], nsenter: ['nsenter', '--version'], nft: ['nft', '--version'],
  tcpdump: ['tcpdump', '--version'], ping: ['ping', '-V'], iperf3: ['iperf3', '--version'],
};

const QDISC_ARGS: Record<Feature, string[]> = {
  tbf: ['tbf', 'rate', '1mbit', 'burst', '3200', 'latency', '50ms'],
  htb: ['htb', 'default', '1'],
  netem: ['netem', 'delay', '1ms'],
};

let cached: Promise<Record<Feature, boolean>> | undefined;

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
  if (!unknown.length || !isRoot()) return out;
  // one line per feature, "<name> <tc's exit status>"; the qdisc arguments are constants of ours
  const script = ['ip link add name a type veth peer name b || exit 1',
    ...unknown.map((f) => `tc qdisc replace dev a root ${QDISC_ARGS[f].join(' ')} 2>/dev/null; echo "${f} $?"`)].join('\n');
  const r = await runArgv(['unshare', '--net', '--', 'sh', '-c', script]);
  for (const line of r.stdout.split('\n')) {
    const [f, code] = line.split(' ');
    if (unknown.includes(f as Feature)) out[f as Feature] = code === '0';
  }
  return out;
}

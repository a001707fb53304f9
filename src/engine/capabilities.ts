// What this machine can do, detected at run time: never assumed, never faked.
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { Feature } from '../lab/model.js';
import { PREFIX } from '../plan/names.js';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

export async function toolVersion(argv: string[]): Promise<string | undefined> {
  try {
    const r = await execa(argv[0]!, argv.slice(1), { reject: false, all: true });
    if (r.exitCode !== 0 && !r.all) return undefined;
    if (r.failed && (r as { code?: string }).code === 'ENOENT') return undefined;
    const lines = String(r.all ?? '').split('\n').filter((l) => /\d/.test(l));
    return (lines.find((l) => /\d+\.\d+/.test(l)) ?? lines[0])?.trim();
  } catch {
    return undefined;
  }
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
  const ns = `${PREFIX}probe-${process.pid}`;
  try {
    await execa('ip', ['netns', 'add', ns]);
    await execa('ip', ['-n', ns, 'link', 'add', 'name', 'a', 'type', 'veth', 'peer', 'name', 'b']);
    for (const f of unknown) {
      const r = await execa('tc', ['-n', ns, 'qdisc', 'replace', 'dev', 'a', 'root', ...QDISC_ARGS[f]], { reject: false });
      out[f] = r.exitCode === 0;
    }
  } catch {
    /* leave the unknown ones false */
  } finally {
    await execa('ip', ['netns', 'del', ns], { reject: false });
  }
  return out;
}

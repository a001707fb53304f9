// Which node owns an address, and helpers to run the probe helper in a node.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Lab } from '../engine/lab.js';
import { inNamespace } from '../engine/runner.js';
import type { LabModel } from '../lab/model.js';
import { durationMs } from '../lab/grammar.js';
import { resolveTarget } from '../lab/resolve.js';

export function ownerOf(model: LabModel, address: string): string | undefined {
  for (const n of model.nodes) {
    if (n.interfaces.some((i) => i.addresses.some((a) => a.address === address))) return n.name;
    if (model.stages.some((s) => s.apply.get(n.name)?.addresses.some((a) => a.cidr.address === address))) return n.name;
  }
  return undefined;
}

export function target(model: LabModel, to: string, ipv6?: boolean): string {
  const t = resolveTarget(model, to, ipv6 ? 6 : 4);
  if (!t) throw new Error(`'${to}' has no ${ipv6 ? 'IPv6' : 'IPv4'} address`);
  return t;
}

/** The built probe helper: dist/probes/helper.js, found from src/probes, dist/probes and dist/bin alike. */
export const HELPER = fileURLToPath(new URL('../../dist/probes/helper.js', import.meta.url));

export function randomPort(): number {
  return 20000 + Math.floor(Math.random() * 40000);
}

/** A long-running program in a node (a listener), ready when its output matches. */
export async function startListener(lab: Lab, node: string, argv: string[], ready: RegExp): Promise<{ lines: () => string[]; stop: () => Promise<void> }> {
  const full = inNamespace(lab.ns(node), argv);
  const child = spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const closed = new Promise<void>((res) => child.on('close', () => res()));
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const started = new Promise<void>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`listener in node '${node}' did not start within 5 s: ${err.trim() || out.trim() || 'no output'}`)), 5000);
    child.stdout.on('data', (d: string) => {
      out += d;
      if (ready.test(out)) { clearTimeout(t); res(); }
    });
    child.on('close', (code) => { clearTimeout(t); rej(new Error(`listener in node '${node}' exited (${code}): ${err.trim()}`)); });
  });
  try {
    await started;
  } catch (e) {
    child.kill('SIGKILL'); // never leave it behind
    await closed;
    throw e;
  }
  return {
    lines: () => out.split('\n').filter(Boolean),
    // our own child, by its handle; a program that ignores SIGTERM (iperf3 in some states) gets SIGKILL
    stop: async () => {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 1000);
      await closed;
      clearTimeout(t);
    },
  };
}

/** A probe's timeout in milliseconds, or the probe's default. */
export function timeoutMs(d: string | undefined, fallback: number): number {
  return d ? durationMs(d) : fallback;
}

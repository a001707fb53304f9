// One tcpdump per node, on all its interfaces (-i any: Linux cooked v2 keeps
// each packet's interface and direction), streamed to nslab as pcap.
// Ready is known, not guessed: tcpdump prints "listening on" once its socket is
// open. Done is known too: a marker packet sent inside the node after the
// traffic must come through before tcpdump is stopped.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import type { Observation } from './paths.js';
import { PcapReader, pcapBytes, type Packet } from './pcap.js';
import { inNamespace, runArgv } from '../engine/runner.js';

export interface NodePacket extends Packet { node: string; iface: string }

const MARKER_DST = '127.0.0.1';

export class Capture {
  readonly packets: NodePacket[] = [];
  private reader = new PcapReader();
  private child: ChildProcess;
  private stderr = '';
  private waiters: (() => void)[] = [];
  private exited: Promise<void>;

  private constructor(readonly node: string, readonly ns: string, private ifnames: Map<number, string>) {
    const argv = inNamespace(ns, ['tcpdump', '-i', 'any', '-n', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-s', '262', '-w', '-', '-Z', 'root', 'ip or ip6']);
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => {
      for (const p of this.reader.push(b)) this.packets.push({ ...p, node, iface: this.ifnames.get(p.ifindex) ?? `if${p.ifindex}` });
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; this.notify(); });
    this.exited = new Promise((res) => this.child.on('close', () => { this.notify(); res(); }));
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (this.child.exitCode !== null) throw new Error(`tcpdump in node '${this.node}' exited: ${this.stderr.trim()}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`tcpdump in node '${this.node}': ${what} did not happen within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  /** Starts tcpdump in a node and waits until it is really listening. */
  static async start(node: string, ns: string, ifnames: Map<number, string>): Promise<Capture> {
    const c = new Capture(node, ns, ifnames);
    await c.until(() => /listening on/.test(c.stderr), 5000, 'listening');
    return c;
  }

  /** Stops once the marker (a ping to loopback with this payload pattern) has been captured. */
  async stop(markerHex: string): Promise<void> {
    const marker = Buffer.from(markerHex, 'hex');
    const seen = () => this.packets.some((p) => p.iface === 'lo' && p.dst === MARKER_DST && p.payload.includes(marker));
    try {
      await this.until(seen, 3000, 'the end-of-probe marker');
    } finally {
      // Our own child, by its handle. Once the marker has come through, every
      // packet before it is already in hand: SIGKILL spares tcpdump's own ~20 ms
      // exit, and its end is not awaited: the kernel's release of the capture
      // socket (an RCU grace period, 10-25 ms) holds nothing nslab needs.
      this.child.kill('SIGKILL');
    }
  }

  save(file: string): void {
    writeFileSync(file, pcapBytes(this.reader), { flag: 'wx', mode: 0o600 });
  }

  observations(match: (p: NodePacket) => boolean): Observation[] {
    return this.packets.filter(match).map((p) => ({ node: p.node, iface: p.iface, dir: p.dir, ts: p.ts, frame: p.frame, src: p.src, dst: p.dst }));
  }
}

/** Sends the end-of-probe marker inside a node: one ping to loopback carrying the pattern. */
export function sendMarker(ns: string, markerHex: string): Promise<unknown> {
  return runArgv(inNamespace(ns, ['ping', '-n', '-q', '-c', '1', '-W', '1', '-p', markerHex, MARKER_DST]));
}

/** A random hex pattern for ping -p (at most 16 bytes). */
export function randomPattern(bytes = 12): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += Math.floor(Math.random() * 256).toString(16).padStart(2, '0');
  return s;
}

/** ifindex -> interface name inside a namespace (pcap knows only indexes). */
export async function interfaceNames(ns: string): Promise<Map<number, string>> {
  const r = await runArgv(['ip', '-n', ns, '-j', 'link', 'show']);
  const links = JSON.parse(r.stdout || '[]') as { ifindex: number; ifname: string }[];
  return new Map(links.map((l) => [l.ifindex, l.ifname]));
}

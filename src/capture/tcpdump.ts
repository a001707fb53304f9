// One tcpdump per node, on all its interfaces (-i any: Linux cooked v2 keeps
// each packet's interface and direction), streamed to nslab as pcap. It runs
// for as long as the lab is probed (see watch.ts); each probe reads the
// window of records between its start and its end-of-probe marker.
// Ready is known, not guessed: tcpdump prints "listening on" once its socket is
// open. A window's end is known too: a marker datagram sent inside the node
// after the traffic must come through before the window is read.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Observation } from './paths.js';
import { PcapReader, type Packet } from './pcap.js';
import { inNamespace, runArgv } from '../engine/runner.js';

export interface NodePacket extends Packet { node: string; iface: string }

/** Where end-of-probe markers go: loopback's discard port, inside each node. */
const MARKER_DST = '127.0.0.1';
const MARKER_PORT = 9;

/**
 * Our long-lived children die with nslab, even by SIGKILL (the parent-death
 * signal): a capture or agent must never outlive the run that reads it.
 */
export function diesWithUs(argv: string[]): string[] {
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];
}

export class Capture {
  /** The packets of the records kept (see prune), with their record numbers as frames. */
  private packets: NodePacket[] = [];
  private reader = new PcapReader();
  private child: ChildProcess;
  private stderr = '';
  private waiters: (() => void)[] = [];

  private names = new Map<number, string>();

  private constructor(readonly node: string, readonly ns: string, private wanted: () => boolean) {
    const argv = inNamespace(ns, diesWithUs(['tcpdump', '-i', 'any', '-n', '-U', '--immediate-mode', '--time-stamp-precision=nano', '-s', '262', '-w', '-', '-Z', 'root', 'ip or ip6']));
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => {
      // named when a window is read: the names may come after the first packets
      for (const p of this.reader.push(b)) this.packets.push({ ...p, node, iface: '' });
      // between probes nothing is kept: a chatty lab service must not fill memory while no one reads
      if (!this.wanted() && !this.waiters.length) this.prune(this.position);
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => { this.stderr += d; this.notify(); });
    this.child.on('close', () => this.notify());
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!cond()) {
      if (!this.alive) throw new Error(`tcpdump in node '${this.node}' exited: ${this.stderr.trim()}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`tcpdump in node '${this.node}': ${what} did not happen within ${timeoutMs} ms`);
      await new Promise<void>((res) => {
        const t = setTimeout(res, left);
        this.waiters.push(() => { clearTimeout(t); res(); });
      });
    }
  }

  /** Starts tcpdump in a node and waits until it is really listening (and knows the node's interface names, asked meanwhile). */
  static async start(node: string, ns: string, wanted: () => boolean): Promise<Capture> {
    const c = new Capture(node, ns, wanted);
    try {
      const [names] = await Promise.all([interfaceNames(ns), c.until(() => /listening on/.test(c.stderr), 5000, 'listening')]);
      c.names = names;
    } catch (e) {
      c.stop();
      throw e;
    }
    return c;
  }

  /** The number of the last record read so far: a window that starts now holds the records after it. */
  get position(): number {
    return this.reader.count;
  }

  /** Waits until the marker (a datagram to loopback carrying it) has come through; returns its record number. */
  async through(marker: string): Promise<number> {
    const bytes = Buffer.from(marker);
    const find = () => this.packets.find((p) => p.proto === 'udp' && p.dst === MARKER_DST && p.dport === MARKER_PORT && p.payload.includes(bytes));
    await this.until(() => !!find(), 3000, 'the end-of-probe marker');
    return find()!.frame;
  }

  /** The packets of records from+1..to, numbered from 1 as in the window's own pcap; interface names refreshed if one is new. */
  async window(from: number, to: number): Promise<NodePacket[]> {
    const inside = this.packets.filter((p) => p.frame > from && p.frame <= to);
    // an interface made after the capture started (a stage, a test's own command): ask the node
    if (inside.some((p) => !this.names.has(p.ifindex))) this.names = await interfaceNames(this.ns);
    return inside.map((p) => ({ ...p, iface: this.names.get(p.ifindex) ?? `if${p.ifindex}`, frame: p.frame - from }));
  }

  /** The window's records as a pcap file: the bytes tcpdump wrote, unchanged. */
  pcap(from: number, to: number): Buffer {
    return this.reader.bytes(from + 1, to);
  }

  /** Forgets the records up to `upTo` (no open window needs them). */
  prune(upTo: number): void {
    this.reader.prune(upTo + 1);
    const keep = this.packets.findIndex((p) => p.frame > upTo);
    this.packets.splice(0, keep < 0 ? this.packets.length : keep);
  }

  private get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Our own child, by its handle. Every window already read has its packets:
   * SIGKILL spares tcpdump's own ~20 ms exit, and its end is not awaited: the
   * kernel's release of the capture socket (an RCU grace period, 10-25 ms)
   * holds nothing nslab needs.
   */
  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Sends end-of-probe markers inside a node: a shell reading lines, each sent
 * as one UDP datagram to loopback (bash's /dev/udp; no process per marker).
 */
export class MarkerSender {
  private child: ChildProcess;

  constructor(ns: string) {
    const argv = inNamespace(ns, diesWithUs(['bash', '-c', `while IFS= read -r m; do printf %s "$m" >/dev/udp/${MARKER_DST}/${MARKER_PORT}; done`]));
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'ignore'] });
    this.child.stdin!.on('error', () => { /* gone: the capture waiting for the marker says so */ });
  }

  send(marker: string): void {
    this.child.stdin!.write(`${marker}\n`);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
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

export function observation(p: NodePacket): Observation {
  return { node: p.node, iface: p.iface, dir: p.dir, ts: p.ts, frame: p.frame, src: p.src, dst: p.dst };
}

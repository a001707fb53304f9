// One tcpdump per node, on all its interfaces (-i any: Linux cooked v2 keeps
// each packet's interface and direction), streamed to nslab as pcap. It runs
// for as long as the lab is probed (see watch.ts); each probe reads the
// window of records between its start and its end-of-probe marker.
// Ready is known, not guessed: tcpdump prints "listening on" once its socket is
// open. A window's end is known too: a marker frame sent inside the node after
// the traffic must come through before the window is read.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Observation, PacketFacts } from './paths.js';
import { MARKER_ETHERTYPE, PcapReader, type Marker, type Packet } from './pcap.js';
import { inNamespace, runArgv } from '../engine/runner.js';

export interface NodePacket extends Packet {
  node: string;
  iface: string;
}

/** What tcpdump keeps: the lab's IP traffic, and nslab's markers. */
const FILTER = `ip or ip6 or ether proto 0x${MARKER_ETHERTYPE.toString(16)}`;

/**
 * Our long-lived children die with nslab, even by SIGKILL (the parent-death
 * signal): a capture or agent must never outlive the run that reads it.
 */
export function diesWithUs(argv: string[]): string[] {
  return ['setpriv', '--pdeathsig', 'KILL', '--', ...argv];
}

const running = (child: ChildProcess) => child.exitCode === null && child.signalCode === null;

export class Capture {
  /** The packets of the records kept (see prune), with their record numbers as frames. */
  private packets: NodePacket[] = [];
  /** The marker frames of the records kept, apart from the packets: they are not the lab's traffic. */
  private markers: Marker[] = [];
  private reader = new PcapReader((m) => this.markers.push(m));
  private child: ChildProcess;
  private stderr = '';
  private waiters: (() => void)[] = [];

  private names = new Map<number, string>();

  private constructor(
    readonly node: string,
    readonly ns: string,
    private wanted: () => boolean,
  ) {
    const argv = inNamespace(
      ns,
      diesWithUs([
        'tcpdump',
        '-i',
        'any',
        '-n',
        '-U',
        '--immediate-mode',
        '--time-stamp-precision=nano',
        '-s',
        '262',
        '-w',
        '-',
        '-Z',
        'root',
        FILTER,
      ]),
    );
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (b: Buffer) => {
      // named when a window is read: the names may come after the first packets
      for (const p of this.reader.push(b)) this.packets.push({ ...p, node, iface: '' });
      // between probes nothing is kept: a chatty lab service must not fill memory while no one reads
      if (!this.wanted() && !this.waiters.length) this.prune(this.position);
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.notify();
    });
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
        this.waiters.push(() => {
          clearTimeout(t);
          res();
        });
      });
    }
  }

  /**
   * Starts tcpdump in a node and waits until it is really listening (and knows the node's interface names, asked
   * meanwhile).
   */
  static async start(node: string, ns: string, wanted: () => boolean): Promise<Capture> {
    const c = new Capture(node, ns, wanted);
    try {
      const [names] = await Promise.all([
        interfaceNames(ns),
        c.until(() => /listening on/.test(c.stderr), 5000, 'listening'),
      ]);
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

  /** Waits until the marker (a frame on lo carrying this token) has come through; returns its record number. */
  async through(token: string): Promise<number> {
    const find = () => this.markers.find((m) => m.token === token);
    await this.until(() => !!find(), 3000, "the end-of-probe marker (a frame nslab sends on the node's lo)");
    return find()!.frame;
  }

  /**
   * The packets recorded after `from` so far (interfaces not named yet): what a probe may look at before its window
   * ends.
   */
  since(from: number): readonly NodePacket[] {
    return this.packets.filter((p) => p.frame > from);
  }

  /**
   * The packets of records from+1..to, numbered from 1 as in the window's own pcap; interface names refreshed if one is
   * new.
   */
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
    for (const list of [this.packets, this.markers]) {
      const keep = list.findIndex((p) => p.frame > upTo);
      list.splice(0, keep < 0 ? list.length : keep);
    }
  }

  private get alive(): boolean {
    return running(this.child);
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
 * Sends end-of-probe markers inside a node: one perl (perl-base is Essential on
 * Debian) reads tokens, one a line, and sends each as an Ethernet frame of
 * nslab's own ethertype on lo through an AF_PACKET socket, so no process is
 * started per marker. Such a frame meets none of the node's netfilter hooks
 * (no IP stack sees it: a lab whose output policy is drop still has its probes
 * delimited) nor, with PACKET_QDISC_BYPASS, a qdisc on lo; tcpdump sees it as it
 * comes in on lo, before any ingress hook. Only a netdev egress hook on lo
 * (Linux 5.16+) that drops it would stop it: the probe then fails, saying the
 * marker did not come through.
 */
const SEND_MARKERS = [
  'socket(S, 17, 3, 0) or die "AF_PACKET socket: $!\\n";', // AF_PACKET, SOCK_RAW
  'setsockopt(S, 263, 20, pack("i", 1));', // SOL_PACKET, PACKET_QDISC_BYPASS
  '$r = pack("a16 x24", "lo"); ioctl(S, 0x8933, $r) or die "lo: $!\\n";', // SIOCGIFINDEX
  `$to = pack("S n i S C C a8", 17, ${MARKER_ETHERTYPE}, unpack("x16 i", $r), 0, 0, 6, "");`, // sockaddr_ll
  // to lo's own address (all zeros): it comes in as the host's; a send that fails leaves the capture to say so
  `while (<STDIN>) { chomp; send(S, "\\0" x 12 . pack("n", ${MARKER_ETHERTYPE}) . $_, 0, $to) }`,
].join('\n');

export class MarkerSender {
  private child: ChildProcess;
  private stderr = '';

  constructor(ns: string) {
    const argv = inNamespace(ns, diesWithUs(['perl', '-e', SEND_MARKERS]));
    this.child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'pipe'] });
    this.child.stdin!.on('error', () => {
      /* gone: the capture waiting for the marker says so */
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = (this.stderr + d).slice(-500);
    });
  }

  send(token: string): void {
    this.child.stdin!.write(`${token}\n`);
  }

  /** Why no marker came, where the sender knows: it exited (perl missing, no AF_PACKET socket). */
  get failure(): string | undefined {
    if (running(this.child)) return undefined;
    return `its marker sender exited${this.stderr.trim() ? `: ${this.stderr.trim()}` : ''}`;
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

/** A random hex pattern for ping -p (at most 16 bytes). */
export function randomPattern(bytes = 12): string {
  let s = '';
  for (let i = 0; i < bytes; i++)
    s += Math.floor(Math.random() * 256)
      .toString(16)
      .padStart(2, '0');
  return s;
}

/** ifindex -> interface name inside a namespace (pcap knows only indexes). */
export async function interfaceNames(ns: string): Promise<Map<number, string>> {
  const r = await runArgv(['ip', '-n', ns, '-j', 'link', 'show']);
  const links = JSON.parse(r.stdout || '[]') as { ifindex: number; ifname: string }[];
  return new Map(links.map((l) => [l.ifindex, l.ifname]));
}

export function observation(p: NodePacket): Observation {
  const facts: PacketFacts = { proto: p.proto };
  for (const k of ['sport', 'dport', 'icmpType', 'tcpFlags', 'tos'] as const) if (p[k] !== undefined) facts[k] = p[k];
  return { node: p.node, iface: p.iface, dir: p.dir, ts: p.ts, frame: p.frame, src: p.src, dst: p.dst, facts };
}

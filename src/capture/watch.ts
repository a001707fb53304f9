// The captures of a lab while it is probed: one tcpdump and one marker sender
// per node, started at the first probe and kept until the lab changes hands
// (down, the end of a `check`, a throughput test that must not be captured).
// A probe opens a window, runs its traffic, and closes the window with a
// marker in every node (a frame on its lo, which no firewall of the node
// sees); the records in between are its evidence. Windows may overlap
// (probes run concurrently): each probe picks its own packets out by their
// identity (payload pattern, token, ports, sequence numbers).
import type { Lab } from '../engine/lab.js';
import { Capture, MarkerSender, randomPattern, type NodePacket } from './tcpdump.js';
import { refuseIfClosed } from './closed.js';

/** What one node's capture saw in one window. */
export interface NodeWindow {
  node: string;
  packets: NodePacket[];
  /** The window's records as a pcap file. */
  pcap: () => Buffer;
}

interface Open {
  starts: Map<string, number>;
}

export class Watch {
  private broken = false;
  private idlers: (() => void)[] = [];

  /** `open`: the windows not yet closed (the captures keep records only while there is one). */
  private constructor(
    private captures: Capture[],
    private markers: Map<string, MarkerSender>,
    private open: Set<Open>,
  ) {}

  /** The lab's watch, started if it is not running (concurrent callers share one start, and one restart). */
  static for(lab: Lab): Promise<Watch> {
    const running = watches.get(lab);
    if (!running) return Watch.replace(lab);
    return running.then(
      (w) => (w.broken ? Watch.replace(lab, running, w) : w),
      () => Watch.replace(lab, running),
    );
  }

  /**
   * A new watch in place of `old` (broken, or failed to start). The first caller
   * to find `old` still in place starts it; the others, finding it gone, share
   * that one. A broken watch is retired, not stopped: the probes with a window
   * still open on it read their evidence from its captures (one late marker
   * must not fail them too); it stops once they have all ended.
   */
  private static replace(lab: Lab, old?: Promise<Watch>, broken?: Watch): Promise<Watch> {
    const current = watches.get(lab);
    if (current && current !== old) return Watch.for(lab);
    if (broken) retire(lab, broken);
    const next = Watch.start(lab);
    watches.set(lab, next);
    return next;
  }

  private static async start(lab: Lab): Promise<Watch> {
    refuseIfClosed(lab, "the lab's captures");
    const nodes = lab.state.namespaces.map((n) => n.node);
    const markers = new Map(nodes.map((node) => [node, new MarkerSender(lab.ns(node))]));
    const open = new Set<Open>();
    const started = await Promise.allSettled(
      nodes.map((node) => Capture.start(node, lab.ns(node), () => open.size > 0)),
    );
    const captures = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const c of captures) c.stop();
      for (const m of markers.values()) m.stop();
      throw failed.reason;
    }
    return new Watch(captures, markers, open);
  }

  /** Opens a window: every record read from now on may be this probe's. */
  begin(): Open {
    const w = { starts: new Map(this.captures.map((c) => [c.node, c.position])) };
    this.open.add(w);
    return w;
  }

  /**
   * What the window's captures have recorded so far, in every node (interfaces not named): a probe may stop waiting
   * once it sees what it waits for.
   */
  seen(w: Open): NodePacket[] {
    return this.captures.flatMap((c) => c.since(w.starts.get(c.node)!));
  }

  /** Closes a window once a marker sent after the traffic has come through in every node. */
  async end(w: Open): Promise<NodeWindow[]> {
    try {
      const marker = `nslab-end-${randomPattern(8)}`;
      for (const m of this.markers.values()) m.send(marker);
      return await Promise.all(
        this.captures.map(async (c) => {
          const from = w.starts.get(c.node)!;
          const to = await c.through(marker).catch((e: Error) => {
            const why = this.markers.get(c.node)?.failure;
            throw why ? new Error(`${e.message}: ${why}`) : e;
          });
          const pcap = c.pcap(from, to); // copied now: the records are pruned once no window needs them
          return { node: c.node, packets: await c.window(from, to), pcap: () => pcap };
        }),
      );
    } catch (e) {
      this.broken = true; // a capture died or lagged: the next probe starts afresh
      throw e;
    } finally {
      this.open.delete(w);
      this.pruneClosed();
      if (!this.open.size) for (const f of this.idlers.splice(0)) f();
    }
  }

  /** Resolves once no window is open (the probes reading the captures have all ended). */
  idle(): Promise<void> {
    return this.open.size ? new Promise((res) => this.idlers.push(res)) : Promise.resolve();
  }

  /** Records no open window can need are dropped: a long run keeps only what its probes are reading. */
  private pruneClosed(): void {
    for (const c of this.captures) {
      const needed = Math.min(...[...this.open].map((o) => o.starts.get(c.node)!));
      c.prune(Number.isFinite(needed) ? needed : c.position);
    }
  }

  stop(): void {
    for (const c of this.captures) c.stop();
    for (const m of this.markers.values()) m.stop();
  }
}

const watches = new WeakMap<Lab, Promise<Watch>>();
/** Broken watches that windows are still open on: each stops when they close (or with stopWatch). */
const retired = new WeakMap<Lab, Set<Watch>>();

function retire(lab: Lab, w: Watch): void {
  let set = retired.get(lab);
  if (!set) retired.set(lab, (set = new Set()));
  set.add(w);
  void w.idle().then(() => {
    w.stop();
    set.delete(w);
  });
}

/**
 * Stops the lab's captures, if any run (retired ones too): before down and at
 * the end of a check at once; before a throughput test once the probes reading
 * them have ended (`whenIdle`: probes the API runs side by side keep their evidence).
 */
export async function stopWatch(lab: Lab, opts: { whenIdle?: boolean } = {}): Promise<void> {
  const w = watches.get(lab);
  watches.delete(lab);
  const stop = async (x: Watch) => {
    if (opts.whenIdle) await x.idle();
    x.stop();
  };
  await Promise.all([w?.then(stop, () => {}), ...[...(retired.get(lab) ?? [])].map(stop)]);
}

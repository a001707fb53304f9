// The evidence of one probe: a capture in every node of the lab while the
// traffic runs, and the probe's own packets picked out of them.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from '../engine/lab.js';
import { OutputDir } from '../engine/output.js';
import { observation, type NodePacket } from './tcpdump.js';
import { pathOf, type Hop, type Peers } from './paths.js';
import { countingNodes, moved, readCounters, type Moved } from './counters.js';
import { Watch, type NodeWindow } from './watch.js';
import type { LabModel } from '../lab/model.js';

/** Both ends of every link, for following a packet from node to node. */
export function peersOf(model: LabModel | undefined): Peers {
  const peers: Peers = new Map();
  for (const l of model?.links ?? []) {
    peers.set(`${l.a.node}:${l.a.iface}`, l.b);
    peers.set(`${l.b.node}:${l.b.iface}`, l.a);
  }
  return peers;
}

const NO_THROW = { throwIfNoEntry: false } as const;

export class Evidence {
  private peers: Peers;
  /** Firewall rules whose counters moved while the traffic ran (only in nodes whose ruleset counts). */
  counters: Moved[] = [];

  private constructor(
    readonly windows: NodeWindow[],
    model: LabModel | undefined,
  ) {
    this.peers = peersOf(model);
  }

  /**
   * What every node of the lab captured while `traffic` ran (the lab's watch, one window).
   * `traffic` may look at what has been recorded so far (`seen`), to stop waiting for packets once they are there.
   */
  static async during<T>(
    lab: Lab,
    traffic: (seen: () => NodePacket[]) => Promise<T>,
  ): Promise<{ result: T; evidence: Evidence }> {
    const watch = await Watch.for(lab);
    const counting = countingNodes(lab.model);
    const w = watch.begin();
    let result: T;
    let counters: Moved[] = [];
    let windows: NodeWindow[];
    try {
      const before = counting.length ? await readCounters(lab, counting) : undefined;
      result = await traffic(() => watch.seen(w));
      if (before) counters = moved(before, await readCounters(lab, counting));
    } finally {
      windows = await watch.end(w);
    }
    const evidence = new Evidence(windows, lab.model);
    evidence.counters = counters;
    return { result, evidence };
  }

  packets(match: (p: NodePacket) => boolean): NodePacket[] {
    return this.windows.flatMap((c) => c.packets.filter(match));
  }

  path(match: (p: NodePacket) => boolean): Hop[] {
    return pathOf(this.packets(match).map(observation), this.peers);
  }

  /**
   * Writes one pcap per node into FOLDER (made 0700) of ROOT, the artifacts folder
   * (the user's --artifacts DIR, or a private one); readable by the owner only,
   * created exclusively, never through a link (engine/output.ts). Returns the file names.
   */
  save(root: string, folder: string, prefix: string): string[] {
    const out = OutputDir.open(root, { create: true });
    // A second run into the same directory (`check` again, same instance) keeps
    // the first one's pcaps: its own take the next free PREFIX.N. Any name taken
    // (a file, a link, anything) is skipped: a pcap never replaces anything.
    const taken = (tag: string) =>
      this.windows.some((c) => !!lstatSync(join(out.real, folder, `${tag}-${c.node}.pcap`), NO_THROW));
    let tag = prefix;
    for (let n = 2; taken(tag); n++) tag = `${prefix}.${n}`;
    return this.windows.map((c) => {
      const file = out.write(`${folder}/${tag}-${c.node}.pcap`, c.pcap(), {
        exclusive: true,
        mode: 0o600,
        dirMode: 0o700,
      });
      this.saved.set(c.node, file);
      return file;
    });
  }

  /** node -> the pcap file saved for it (after save), which traces cite. */
  readonly saved = new Map<string, string>();
}

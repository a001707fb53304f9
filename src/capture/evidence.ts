// The evidence of one probe: a capture in every node of the lab while the
// traffic runs, and the probe's own packets picked out of them.
import { join } from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import type { Lab } from '../engine/lab.js';
import { Capture, interfaceNames, randomPattern, sendMarker, type NodePacket } from './tcpdump.js';
import { pathOf, type Hop, type Peers } from './paths.js';
import { countingNodes, moved, readCounters, type Moved } from './counters.js';
import type { LabModel } from '../lab/model.js';

const ifnameCache = new WeakMap<Lab, Map<string, Map<number, string>>>();

async function ifnames(lab: Lab, node: string): Promise<Map<number, string>> {
  let perLab = ifnameCache.get(lab);
  if (!perLab) ifnameCache.set(lab, (perLab = new Map()));
  let m = perLab.get(node);
  if (!m) perLab.set(node, (m = await interfaceNames(lab.ns(node))));
  return m;
}

/** Both ends of every link, for following a packet from node to node. */
export function peersOf(model: LabModel | undefined): Peers {
  const peers: Peers = new Map();
  for (const l of model?.links ?? []) {
    peers.set(`${l.a.node}:${l.a.iface}`, l.b);
    peers.set(`${l.b.node}:${l.b.iface}`, l.a);
  }
  return peers;
}

export class Evidence {
  private peers: Peers;
  /** Firewall rules whose counters moved while the traffic ran (only in nodes whose ruleset counts). */
  counters: Moved[] = [];

  private constructor(readonly captures: Capture[], model: LabModel | undefined) {
    this.peers = peersOf(model);
  }

  /** Captures in every node of the lab while `traffic` runs. */
  static async during<T>(lab: Lab, traffic: () => Promise<T>): Promise<{ result: T; evidence: Evidence }> {
    const nodes = lab.state.namespaces.map((n) => n.node);
    const started = await Promise.allSettled(nodes.map(async (node) => Capture.start(node, lab.ns(node), await ifnames(lab, node))));
    const captures = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const marker = randomPattern(16);
    const stopAll = () => Promise.all(captures.map((c) => Promise.all([sendMarker(c.ns, marker), c.stop(marker)])));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      await stopAll().catch(() => {});
      throw (failed as PromiseRejectedResult).reason;
    }
    const counting = countingNodes(lab.model);
    let result: T;
    let counters: Moved[] = [];
    try {
      const before = counting.length ? await readCounters(lab, counting) : undefined;
      result = await traffic();
      if (before) counters = moved(before, await readCounters(lab, counting));
    } finally {
      await stopAll();
    }
    const evidence = new Evidence(captures, lab.model);
    evidence.counters = counters;
    return { result, evidence };
  }

  packets(match: (p: NodePacket) => boolean): NodePacket[] {
    return this.captures.flatMap((c) => c.packets.filter(match));
  }

  path(match: (p: NodePacket) => boolean): Hop[] {
    return pathOf(this.captures.flatMap((c) => c.observations(match)), this.peers);
  }

  /** Writes one pcap per node, readable by the owner only, never through an existing file or link; returns the file names. */
  save(dir: string, prefix: string): string[] {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // A second run into the same directory (`check` again, same instance) keeps
    // the first one's pcaps: its own take the next free PREFIX.N. Files are still
    // created exclusively (never overwritten, never through a link).
    let tag = prefix;
    for (let n = 2; this.captures.some((c) => existsSync(join(dir, `${tag}-${c.node}.pcap`))); n++) tag = `${prefix}.${n}`;
    return this.captures.map((c) => {
      const file = join(dir, `${tag}-${c.node}.pcap`);
      c.save(file);
      this.saved.set(c.node, file);
      return file;
    });
  }

  /** node -> the pcap file saved for it (after save), which traces cite. */
  readonly saved = new Map<string, string>();
}

// traces/: what one probe packet did, per direction, as data (this file: the
// shape; build.ts: from a probe's reconstructed paths to its traces). Probes fill them
// from the captures; reporters (JSON, console, HTML) and the graph draw them.
// The JSON reporter carries them as they are: this shape is public (docs/tests.md).
// As filled (helper trace): ping, tcp and udp give [request, reply] (reply absent
// when the request never arrived); the core fields are unchanged; `detail` says in
// words how it ended (with a drop's cause); `evidence.pcap` is set only where the
// captures were kept (failed tests); `Why` is set for failed tests only.

/** How a direction ended, named for what the captures show. */
export type Disposition =
  | 'delivered' // reached the node it was addressed to (request) or the sender (reply)
  | 'unanswered' // the request was delivered, no reply left the target
  | 'dropped-no-route' // died at a hop that had no route for it
  | 'dropped-filtered' // died at a hop whose firewall counted a drop/reject
  | 'dropped-rp-filter' // died entering a hop whose reverse-path filter refused it
  | 'dropped-no-neighbour' // died at a hop that could not resolve the next hop
  | 'dropped' // died at a hop, cause not established
  | 'asymmetric' // delivered, but not back along the request's path
  | 'wrong-source' // delivered, but from another address than the one asked
  | 'not-sent'; // nothing left the sender

/** A frame that proves a hop: which capture, which frame, when. */
export interface HopEvidence {
  pcap?: string; // the file kept for it (failures keep their pcaps)
  frame: number; // 1-based frame number in that node's capture
  ts: number; // seconds since the epoch, microsecond precision
  iface: string;
  dir: 'in' | 'out';
}

export interface TraceHop {
  node: string;
  in?: string;
  out?: string;
  /** addresses as seen entering the hop (else leaving it) */
  src: string;
  dst: string;
  /** set when NAT changed them between in and out: the addresses (and the ports, where they changed) on exit */
  nat?: { src: string; dst: string; sport?: number; dport?: number };
  /** the packet as captured entering the hop (else leaving it): what a rule or a firewall may match beyond addresses */
  proto?: 'icmp' | 'tcp' | 'udp';
  sport?: number;
  dport?: number;
  icmpType?: number;
  /** IPv4 tos / IPv6 traffic class, where not 0 */
  tos?: number;
  evidence: HopEvidence[];
}

export interface Trace {
  direction: 'request' | 'reply';
  hops: TraceHop[];
  disposition: Disposition;
  /** the node where it ended, died, or diverged from what the test expects */
  at?: string;
  /** index in hops of the first hop that differs from the expectation */
  divergesAt?: number;
  detail?: string;
  /** the address the request was sent to, set where nothing left the sender (no hop carries it) */
  to?: string;
}

/** The kernel's decision at the hop that went wrong, and the fix it suggests. */
export interface Why {
  node: string;
  /** one line: "server: reply from A to B matched rule 32766 (main) → default via … dev eth0" */
  decision: string;
  /** the likely cause, where a packet died (a counter that moved, rp_filter, no route …) */
  cause?: string;
  /** the fix, in the lab's own terms: complete commands for one node (`on NODE: ...`), or a stage's lines */
  hint?: string;
  /** where no fix is given: why not, and what was checked ("no fix found: ...") */
  noFix?: string;
}

/** Cites the kept pcap files in every hop's evidence: `file(node)` is that node's capture, if kept. */
export function citePcaps(traces: Trace[], file: (node: string) => string | undefined): void {
  for (const t of traces)
    for (const h of t.hops) {
      const f = file(h.node);
      if (f) for (const e of h.evidence) e.pcap = f;
    }
}

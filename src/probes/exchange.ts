// The part tcp and udp probes share: a listener on the node owning the target
// (unless a lab service listens), the client run under capture, its JSON outcome.
import { Evidence } from '../capture/evidence.js';
import { randomPattern } from '../capture/tcpdump.js';
import type { Lab } from '../engine/lab.js';
import type { LabModel } from '../lab/model.js';
import { timeoutMs, HELPER, ownerOf, randomPort, startListener, target } from './targets.js';

export interface L4Spec { from: string; to: string; port?: number; bind?: string; timeout?: string; listen?: boolean; ipv6?: boolean }

export interface Exchange {
  port: number;
  outcome: { outcome: string; local?: string; lport?: number; error?: string };
  evidence: Evidence;
  /** What the listener reported of its peers. */
  peers: string[];
  /** The node that owns the target address. */
  owner: string;
  /** udp: the random token the datagram carries (the responder echoes it), to tell this exchange's packets from any other's. */
  token: string;
}

export async function exchange(lab: Lab, model: LabModel, kind: 'tcp' | 'udp', spec: L4Spec, defaultTimeoutMs: number): Promise<Exchange> {
  const to = target(model, spec.to, spec.ipv6);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`${kind} probe: ${to} is no address of a lab node, so nslab cannot start a listener for it`);
  if (spec.listen === false && spec.port === undefined) throw new Error(`${kind} probe: listen: false needs the port the lab's service listens on`);
  const port = spec.port ?? randomPort();
  const listener = spec.listen === false ? { lines: () => [], stop: async () => {} } : await startListener(lab, owner, ['node', HELPER, 'listen', kind, String(port)], /^ready$/m);
  try {
    const mode = kind === 'tcp' ? 'connect' : 'udp';
    const token = randomPattern(8);
    const r = await Evidence.during(lab, () => lab.exec(spec.from, ['node', HELPER, mode, to, String(port), spec.bind ?? '-', String(timeoutMs(spec.timeout, defaultTimeoutMs)), token]));
    let outcome: Exchange['outcome'];
    try { outcome = JSON.parse(r.result.stdout.trim().split('\n').pop()!); } catch { outcome = { outcome: 'error', error: r.result.stderr.trim() }; }
    return { port, outcome, evidence: r.evidence, peers: listener.lines(), owner, token };
  } finally {
    await listener.stop();
  }
}

// The part tcp and udp probes share: a listener on the node owning the target
// (unless a lab service listens), the client's attempt made by the source
// node's agent under capture, its outcome.
import { Evidence } from '../capture/evidence.js';
import { randomPattern } from '../capture/tcpdump.js';
import type { Lab } from '../engine/lab.js';
import type { LabModel } from '../lab/model.js';
import { agentOf } from './agent.js';
import { serviceReady } from './service-ready.js';
import { ownerOf, target } from './targets.js';
import { givenWait, noteRtt, waitFor, type Wait } from './wait.js';

export interface L4Spec {
  from: string;
  to: string;
  port?: number;
  bind?: string;
  timeout?: string;
  listen?: boolean;
  ipv6?: boolean;
  send?: string;
}

/**
 * An application exchange (`send`, `expect.response`, http): what the client sends, and the regex at which it may stop
 * reading.
 */
export interface Talk {
  send?: Buffer;
  match?: string;
}

export interface Exchange {
  port: number;
  outcome: {
    outcome: string;
    local?: string;
    lport?: number;
    error?: string;
    ms?: number;
    /** talk: what the client received (base64), and how its reading ended */
    received?: string;
    ended?: string;
  };
  evidence: Evidence;
  /** What the listener reported of its peers while the exchange ran. */
  peers: string[];
  /** The node that owns the target address. */
  owner: string;
  /**
   * udp: the random token the datagram carries (the responder echoes it), to tell this exchange's packets from any
   * other's.
   */
  token: string;
  /** How long the client waited for an answer, and why that long. */
  wait: Wait;
  /** The address it was sent to. */
  to: string;
}

/**
 * A lab's own service may take its time to answer (a udp daemon): without a timeout of the test's, it gets this long.
 */
export const SERVICE_ANSWER_MS = 1500;

/** How long a client that talks reads an application's answer: the test's timeout, else at least SERVICE_ANSWER_MS. */
export function answerMs(spec: { timeout?: string }, wait: Wait): number {
  return spec.timeout ? wait.ms : Math.max(wait.ms, SERVICE_ANSWER_MS);
}

export async function exchange(
  lab: Lab,
  model: LabModel,
  kind: 'tcp' | 'udp',
  spec: L4Spec,
  talk?: Talk,
): Promise<Exchange> {
  const to = target(model, spec.to, spec.ipv6);
  const owner = ownerOf(model, to);
  if (!owner)
    throw new Error(`${kind} probe: ${to} is no address of a lab node, so nslab cannot start a listener for it`);
  if (spec.listen === false && spec.port === undefined)
    throw new Error(`${kind} probe: listen: false needs the port the lab's service listens on`);
  // the wait: the test's timeout; else the lab's rule, which bounds the network's answer (a SYN-ACK
  // comes from the kernel), not an application's (a lab's udp service answers when it likes)
  const wait = spec.timeout
    ? givenWait(spec.timeout)
    : kind === 'udp' && spec.listen === false
      ? {
          ms: SERVICE_ANSWER_MS,
          why: `waited ${SERVICE_ANSWER_MS} ms for the lab's own service (set timeout: to change)`,
        }
      : await waitFor(lab, model, spec.from, kind);
  const [server, client] = await Promise.all([
    spec.listen === false ? undefined : agentOf(lab, owner),
    agentOf(lab, spec.from),
  ]);
  // a port the test names gets a listener of its own, closed after; else the node's standing listener
  const port = spec.port ?? (await server!.defaultPort(kind));
  if (server && spec.port !== undefined) await server.request('listen', { proto: kind, port });
  // a lab's own service may still be starting (service-ready.ts)
  else if (!server)
    await serviceReady(
      lab.state.services.filter((s) => s.node === owner),
      kind,
      port,
    );
  const peersBefore = server?.peers.length ?? 0;
  try {
    const token = randomPattern(8);
    const op = kind === 'tcp' ? 'connect' : 'udp';
    const app =
      talk === undefined
        ? {}
        : kind === 'udp'
          ? { send: talk.send?.toString('base64') }
          : { talk: true, send: talk.send?.toString('base64'), match: talk.match, readMs: answerMs(spec, wait) };
    const r = await Evidence.during(lab, () =>
      client.request<Exchange['outcome']>(op, {
        host: to,
        port,
        bind: spec.bind ?? '-',
        timeout: wait.ms,
        token,
        ...app,
        // the agent's own deadline covers the answer's read too
        ...('readMs' in app ? { ms: app.readMs } : {}),
      }),
    );
    const outcome = r.result;
    if ((outcome.outcome === 'connected' || outcome.outcome === 'answered') && outcome.ms !== undefined)
      noteRtt(lab, outcome.ms);
    const peers = (server?.peers.slice(peersBefore) ?? [])
      .filter((p) => p.proto === kind && p.port === port)
      .map((p) => `${p.remote}:${p.rport}`);
    return { port, outcome, evidence: r.evidence, peers, owner, token, wait, to };
  } finally {
    if (server && spec.port !== undefined) await server.request('unlisten', { proto: kind, port });
  }
}

// tcp: a listener nslab starts on the node that owns the target address, and a
// connect from the source node (optionally bound to a source address). The
// outcome (connected / refused / timeout) comes from the client; the paths and
// the source the far end saw come from the captures.
import type { NodePacket } from '../capture/tcpdump.js';
import { exchange, type L4Spec } from './exchange.js';
import { pathChecks } from './judge-paths.js';
import { labTraces } from './targets.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';
import { endedFact, outcomeFact, responseCheck, talkOf } from './response.js';
import { asText, shownReceived } from '../lab/payload.js';

const SYN = 0x02,
  ACK = 0x10,
  RST = 0x04;

export const tcp: Probe = async ({ lab, model, test }) => {
  // send / expect.response: the client sends its payload and reads the answer (src/probes/response.ts)
  const talk = talkOf(test.spec, test.expect);
  const { port, outcome, evidence, peers, owner, wait, to } = await exchange(
    lab,
    model,
    'tcp',
    test.spec as unknown as L4Spec,
    talk,
  );
  // This connection, not another on the same port (a lab's mail daemon on 25 serves the previous test's
  // connection too, whose late packets once passed for this one's reply): the SYN the client sent, known
  // by its sequence number, and the SYN-ACK or RST that acknowledges it. NAT rewrites ports and
  // addresses, not these numbers, so they follow the connection across it.
  const spec = test.spec as unknown as L4Spec;
  const syn = (p: NodePacket) => p.proto === 'tcp' && p.dport === port && (p.tcpFlags! & (SYN | ACK)) === SYN;
  // The client's SYN is known by the local port the agent bound; a SYN not captured leaving the client
  // (its own firewall dropped it) leaves nothing to follow: no other connection stands in for it.
  const first = evidence.packets(
    (p) => syn(p) && p.node === spec.from && p.dir === 'out' && p.sport === outcome.lport,
  )[0];
  const isRequest = (p: NodePacket) => first !== undefined && syn(p) && p.tcpSeq === first.tcpSeq;
  const isReply = (p: NodePacket) =>
    first !== undefined &&
    p.proto === 'tcp' &&
    p.sport === port &&
    ((p.tcpFlags! & (SYN | ACK)) === (SYN | ACK) || (p.tcpFlags! & RST) !== 0) &&
    p.tcpAck === (first.tcpSeq! + 1) >>> 0;
  // the listener's peers while the test ran, of this connection only (tests to one listener run side by side)
  const arrived = new Set(
    evidence.packets((p) => isRequest(p) && p.node === owner && p.dir === 'in').map((p) => `${p.src}:${p.sport}`),
  );
  const mine = peers.filter((x) => arrived.has(x));
  const request = evidence.path(isRequest);
  const reply = evidence.path(isReply);
  const seen = new Set(evidence.packets((p) => isRequest(p) || isReply(p)).map((p) => `${p.node}:${p.iface}`));
  const judge = (e: ExpectT) => {
    const checks = [];
    if (e.connected !== undefined) {
      const want = typeof e.connected === 'boolean' ? (e.connected ? 'connected' : 'not connected') : e.connected;
      const ok =
        typeof e.connected === 'boolean'
          ? (outcome.outcome === 'connected') === e.connected
          : outcome.outcome === e.connected;
      checks.push(check('connected', want, outcome.outcome, ok));
    }
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, outcome.outcome === 'connected'));
    checks.push(...responseCheck(e, outcome, talk !== undefined));
    checks.push(...pathChecks(e, request, reply, seen, owner));
    return checks;
  };
  const ended = endedFact(outcome.ended);
  return {
    checks: judge(test.expect),
    judge,
    evidence,
    request,
    reply,
    traces: labTraces(model, { request, reply, origin: spec.from, target: owner, to, expect: test.expect }),
    tracesFor: (expect) => labTraces(model, { request, reply, origin: spec.from, target: owner, to, expect }),
    facts: {
      outcome: outcomeFact(outcome),
      peers: mine.join(' '),
      ...(outcome.outcome === 'timeout' ? { wait: wait.why } : {}),
      ...(outcome.received !== undefined
        ? { received: shownReceived(asText(Buffer.from(outcome.received, 'base64'))) }
        : {}),
      ...(ended ? { read: ended } : {}),
    },
  };
};

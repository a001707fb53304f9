// udp: a responder nslab starts on the target's node echoes one datagram back.
import type { NodePacket } from '../capture/tcpdump.js';
import { exchange, type L4Spec } from './exchange.js';
import { pathChecks } from './judge-paths.js';
import { labTraces } from './targets.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';
import { responseCheck, samePayload, talkOf } from './response.js';
import { asText, shownReceived } from '../lab/payload.js';

export const udp: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as L4Spec;
  // send: the datagram is the test's payload, not nslab's; its answer is read (src/probes/response.ts)
  const talk = talkOf(spec, test.expect);
  const { port, outcome, evidence, owner, token, wait, to } = await exchange(lab, model, 'udp', spec, talk);
  // this exchange's datagrams, not another's on the same port: the request carries a random token, which
  // nslab's responder echoes (a lab's own service, listen: false, answers with its own payload: its reply
  // is the datagram back to the client's port); NAT rewrites addresses and ports, not the payload. A test's
  // own payload is the mark instead (samePayload), so two tests sending the same payload to the same port at
  // the same time cannot be told apart.
  const mark = Buffer.from(token, 'utf8');
  const carries = talk?.send ? samePayload(talk.send) : (p: NodePacket) => p.payload.includes(mark);
  const isRequest = (p: NodePacket) => p.proto === 'udp' && p.dport === port && carries(p);
  const isReply = (p: NodePacket) =>
    p.proto === 'udp' && p.sport === port && (spec.listen === false ? p.dport === outcome.lport : carries(p));
  const request = evidence.path(isRequest);
  const reply = evidence.path(isReply);
  const seen = new Set(evidence.packets((p) => isRequest(p) || isReply(p)).map((p) => `${p.node}:${p.iface}`));
  const answered = outcome.outcome === 'answered';
  const judge = (e: ExpectT) => {
    const checks = [];
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, answered));
    if (e.replies !== undefined) checks.push(check('replies', e.replies, answered ? 1 : 0));
    checks.push(...responseCheck(e, outcome, talk !== undefined));
    checks.push(...pathChecks(e, request, reply, seen, owner));
    return checks;
  };
  return {
    checks: judge(test.expect),
    judge,
    evidence,
    request,
    reply,
    traces: labTraces(model, { request, reply, origin: spec.from, target: owner, to, expect: test.expect }),
    tracesFor: (expect) => labTraces(model, { request, reply, origin: spec.from, target: owner, to, expect }),
    facts: {
      outcome: outcome.outcome,
      ...(outcome.outcome === 'timeout' ? { wait: wait.why } : {}),
      ...(talk && outcome.received !== undefined
        ? { received: shownReceived(asText(Buffer.from(outcome.received, 'base64'))) }
        : {}),
    },
  };
};

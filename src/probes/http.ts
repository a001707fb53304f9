// http: an HTTP request by nslab's own client (Node's http, in the source node's
// probe agent) to a service of the lab. TCP on the wire: its packets are found as
// tcp's are (the SYN leaving the source by the local port the client bound, then
// its sequence number; the SYN-ACK or RST acknowledging it), so the path, reply-via
// and source checks are tcp's; status, body and headers are what the client received.
import type { NodePacket } from '../capture/tcpdump.js';
import { Evidence } from '../capture/evidence.js';
import { parseAddress } from '../lab/addr.js';
import { httpTarget, shownReceived } from '../lab/payload.js';
import type { ExpectT } from '../lab/schema.js';
import { agentOf } from './agent.js';
import { answerMs } from './exchange.js';
import { pathChecks } from './judge-paths.js';
import { endedFact, outcomeFact, regexCheck } from './response.js';
import { serviceReady } from './service-ready.js';
import { labTraces, ownerOf, target } from './targets.js';
import { check, type Check, type Probe } from './types.js';
import { givenWait, noteRtt, waitFor } from './wait.js';

const SYN = 0x02,
  ACK = 0x10,
  RST = 0x04;

export interface HttpSpec {
  from: string;
  url: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  bind?: string;
  timeout?: string;
  ipv6?: boolean;
}

interface HttpOutcome {
  outcome: string;
  local?: string;
  lport?: number;
  error?: string;
  ms?: number;
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  ended?: string;
}

export const http: Probe = async ({ lab, model, test }) => {
  const spec = test.spec as unknown as HttpSpec;
  const url = httpTarget(spec.url);
  if (!url) throw new Error(`http probe: url '${spec.url}' is not http://HOST[:PORT]/PATH with a port of 1 to 65535`);
  const to = parseAddress(url.host) ? url.host : target(model, url.host, spec.ipv6);
  const owner = ownerOf(model, to);
  if (!owner) throw new Error(`http probe: ${to} is no address of a lab node`);
  const wait = spec.timeout ? givenWait(spec.timeout) : await waitFor(lab, model, spec.from, 'tcp');
  const client = await agentOf(lab, spec.from);
  // a service of the lab answers: it may still be starting (service-ready.ts)
  await serviceReady(
    lab.state.services.filter((s) => s.node === owner),
    'tcp',
    url.port,
  );
  // Host as the URL writes it (a node's name, as a resolver would give it), unless the test sets its own
  const given = new Set(Object.keys(spec.headers ?? {}).map((h) => h.toLowerCase()));
  const hostPart = url.host.includes(':') ? `[${url.host}]` : url.host;
  const headers = {
    ...(given.has('host') ? {} : { host: url.port === 80 ? hostPart : `${hostPart}:${url.port}` }),
    ...(given.has('user-agent') ? {} : { 'user-agent': 'nslab' }),
    ...spec.headers,
  };
  const readMs = answerMs(spec, wait);
  const r = await Evidence.during(lab, () =>
    client.request<HttpOutcome>('http', {
      host: to,
      port: url.port,
      bind: spec.bind ?? '-',
      timeout: wait.ms,
      method: spec.method ?? 'GET',
      path: url.path,
      headers,
      ...(spec.body !== undefined ? { body: spec.body } : {}),
      readMs,
      ms: readMs,
    }),
  );
  const outcome = r.result;
  const evidence = r.evidence;
  if (outcome.outcome === 'connected' && outcome.ms !== undefined) noteRtt(lab, outcome.ms);
  const port = url.port;
  // this connection's packets, as tcp.ts finds them
  const syn = (p: NodePacket) => p.proto === 'tcp' && p.dport === port && (p.tcpFlags! & (SYN | ACK)) === SYN;
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
  const request = evidence.path(isRequest);
  const reply = evidence.path(isReply);
  const seen = new Set(evidence.packets((p) => isRequest(p) || isReply(p)).map((p) => `${p.node}:${p.iface}`));
  const body = outcome.body !== undefined ? Buffer.from(outcome.body, 'base64').toString('utf8') : undefined;
  const noAnswer = () =>
    outcome.outcome !== 'connected'
      ? `no response (${outcome.outcome}${outcome.error ? `: ${outcome.error}` : ''})`
      : `no response (${endedFact(outcome.ended) ?? 'none came'}${outcome.error ? `: ${outcome.error}` : ''})`;
  const judge = (e: ExpectT) => {
    const checks: Check[] = [];
    if (e.connected !== undefined) {
      const want = typeof e.connected === 'boolean' ? (e.connected ? 'connected' : 'not connected') : e.connected;
      const ok =
        typeof e.connected === 'boolean'
          ? (outcome.outcome === 'connected') === e.connected
          : outcome.outcome === e.connected;
      checks.push(check('connected', want, outcome.outcome, ok));
    }
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, outcome.outcome === 'connected'));
    if (e.status !== undefined)
      checks.push(
        outcome.status === undefined
          ? check('status', e.status, noAnswer(), false)
          : check('status', e.status, outcome.status),
      );
    if (e.body !== undefined) checks.push(regexCheck('body', e.body, body, noAnswer()));
    for (const [name, source] of Object.entries(e.header ?? {})) {
      const h = outcome.headers;
      checks.push(
        regexCheck(
          `header ${name}`,
          source,
          h?.[name.toLowerCase()],
          h === undefined ? noAnswer() : `no such header (the response has: ${Object.keys(h).join(', ') || 'none'})`,
        ),
      );
    }
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
      ...(outcome.status !== undefined ? { status: String(outcome.status) } : {}),
      ...(body !== undefined ? { body: shownReceived(body) } : {}),
      ...(ended ? { read: ended } : {}),
      ...(outcome.outcome === 'timeout' ? { wait: wait.why } : {}),
    },
  };
};

// The application's answer as tcp, udp and http tests judge it: what the client
// received, against the regexes of `expect` (src/lab/payload.ts says how bytes read).
import { asText, payloadBytes, responseRegex, shownReceived } from '../lab/payload.js';
import type { ExpectT } from '../lab/schema.js';
import type { Talk } from './exchange.js';
import { check, type Check } from './types.js';

/** The capture keeps at least this much of a datagram's payload (its snap length less the headers). */
const CAPTURED = 64;

/**
 * Whether a captured datagram carries exactly this payload: all of it, or, where the capture cut it, all that was
 * kept (at least CAPTURED bytes). Not `includes`: 'PING' must not stand for 'PING ' sent by another test.
 */
export function samePayload(send: Buffer): (p: { payload: Buffer }) => boolean {
  return (p) =>
    p.payload.length > 0 &&
    (p.payload.length === send.length || (p.payload.length >= CAPTURED && p.payload.length < send.length)) &&
    send.subarray(0, p.payload.length).equals(p.payload);
}

/** Whether a tcp or udp test talks (sends its payload, reads the answer), and what it sends. */
export function talkOf(spec: { send?: string }, expect: ExpectT): Talk | undefined {
  if (spec.send === undefined && expect.response === undefined) return undefined;
  return {
    ...(spec.send !== undefined ? { send: payloadBytes(spec.send) } : {}),
    ...(expect.response !== undefined ? { match: expect.response } : {}),
  };
}

const HOW: Record<string, string> = {
  matched: 'read until it matched',
  closed: 'the server closed the connection',
  waited: 'read until the wait was over',
  reset: 'the connection was reset',
};

/** A tcp exchange's outcome as a fact of the test: what happened, from which local address, and the error if any. */
export function outcomeFact(o: { outcome: string; local?: string; error?: string }): string {
  return `${o.outcome}${o.local ? ` from ${o.local}` : ''}${o.error ? ` (${o.error})` : ''}`;
}

/** How the client's reading ended, as a fact of the test. */
export function endedFact(ended: string | undefined): string | undefined {
  return ended === undefined ? undefined : (HOW[ended] ?? ended);
}

/**
 * A regex against what was received: a mismatch shows what came (printable, cut); nothing received says why (the
 * outcome), so a response check never passes on an exchange that did not happen.
 */
export function regexCheck(name: string, source: string, received: string | undefined, absent: string): Check {
  const expected = `/${source}/`;
  if (received === undefined) return check(name, expected, absent, false);
  return check(name, expected, shownReceived(received), responseRegex(source).test(received));
}

/** The `response` check of a tcp or udp test, from the agent's outcome. */
export function responseCheck(
  expect: ExpectT,
  outcome: { outcome: string; received?: string },
  talked: boolean,
): Check[] {
  if (expect.response === undefined) return [];
  const got = talked && outcome.received !== undefined ? asText(Buffer.from(outcome.received, 'base64')) : undefined;
  const why = talked ? outcome.outcome : 'this probe did not read: it sent no payload and expected no response';
  return [regexCheck('response', expect.response, got, `nothing received (${why})`)];
}

// The matchers' logic, without vitest: each turns one claim into the lab
// file's expectation, has the probe judge it (the engine's verdict code, as
// `nslab test` uses it) and words a failure as the CLI does: expected vs
// observed, both paths, the pcap files.
import { unjudged as notJudgedBy } from '../lab/schema.js';
import type { Check } from '../probes/types.js';
import { deadLine } from '../run/deaths.js';
import { deadServiceLines } from '../run/results.js';
import { whyLines, type Why } from '../run/why.js';
import type { NamesOf } from './names.js';
import type { Expectation, ProbeResult } from './probes.js';

export interface MatcherContext {
  /** true under `.not`; vitest leaves it undefined otherwise */
  isNot?: boolean;
}
export interface MatcherResult {
  pass: boolean;
  message: () => string;
  actual?: unknown;
  expected?: unknown;
}

function isResult(v: unknown): v is ProbeResult {
  return (
    !!v &&
    typeof v === 'object' &&
    typeof (v as ProbeResult).judge === 'function' &&
    typeof (v as ProbeResult).probe === 'string'
  );
}

async function judged(
  ctx: MatcherContext,
  received: unknown,
  matcher: string,
  claim: string,
  expect: Expectation,
  negated?: Expectation,
): Promise<MatcherResult> {
  if (!isResult(received)) {
    return {
      pass: !!ctx.isNot,
      message: () =>
        `${matcher}: expected the result of a probe (await lab.ping(...), lab.tcp(...), ...), got ${typeof received}`,
    };
  }
  const asked = ctx.isNot && negated ? negated : expect;
  // a service that was dead while the probe ran fails every claim on its result, with and without .not
  const dead = received.services.length > 0;
  // a claim the probe does not judge would pass on checks of something else (an exec's exit status)
  const checks = notJudgedBy(received.probe, asked).length ? [] : received.judge(asked);
  if (!checks.length) {
    return {
      pass: !!ctx.isNot,
      message: () =>
        [`${matcher}: the ${received.probe} probe cannot show whether ${claim}`, ...deathLines(received)].join('\n'),
    };
  }
  const unjudged = checks.some((c) => c.notObserved);
  const ok = checks.every((c) => c.ok);
  // vitest inverts `pass` under .not: with a negated expectation, its verdict is the claim's opposite;
  // without one, a claim that could not be judged must still fail
  const pass = dead ? !!ctx.isNot : ctx.isNot ? (negated ? !ok : ok || unjudged) : ok;
  const failed = pass === !!ctx.isNot;
  // the why of what was asked, as `nslab test` asks it for a failed test; a `.not` without an opposite in the lab
  // file format has no expectation nslab could explain
  const why = failed && !ok && (!ctx.isNot || negated) ? await received.why(asked) : undefined;
  return {
    pass,
    actual: checks.map((c) => c.observed).join('; '),
    expected: checks.map((c) => c.expected).join('; '),
    message: () =>
      describe(
        received,
        `expected ${received.probe} ${ctx.isNot ? 'not ' : ''}to show that ${claim}`,
        ctx.isNot && !negated ? checks.map((c) => ({ ...c, expected: `not ${c.expected}` })) : checks,
        why,
      ),
  };
}

/** The services dead while the probe ran, as `nslab test` words them (the reason, then the log's end). */
function deathLines(r: ProbeResult): string[] {
  return r.services.flatMap((s) => [deadLine(s), ...deadServiceLines(s)].map((l) => `  ${l}`));
}

/** Only called for a failure (vitest asks for the message then): that is when the pcaps are kept. */
function describe(r: ProbeResult, head: string, checks: Check[], why: Why[] | undefined): string {
  const lines = [`${head} (${r.at})`, ...deathLines(r)];
  for (const c of checks) lines.push(`  ${c.name}: expected ${c.expected}, observed ${c.observed}`);
  if (r.request !== undefined) lines.push(`  request path: ${r.requestPath || '(not captured)'}`);
  if (r.reply !== undefined) lines.push(`  reply path:   ${r.replyPath || '(not captured)'}`);
  for (const l of whyLines(why)) lines.push(`  ${l}`);
  for (const [k, v] of Object.entries(r.facts)) if (v) lines.push(`  ${k}: ${v}`);
  // a pcap nslab may not write (a link in the artifacts folder) must not hide the failure itself
  let files: string[] = [];
  try {
    files = r.pcaps();
  } catch (e) {
    lines.push(`  pcaps not kept: ${(e as Error).message.split('\n')[0]}`);
  }
  if (files.length) lines.push(`  pcaps kept: ${files.join(' ')}`);
  return lines.join('\n');
}

const list = (refs: string | string[]) => (Array.isArray(refs) ? refs : [refs]);

/** The matchers, by name; `this` is vitest's matcher context. */
export const matchers = {
  /** The reply left the target through this interface (`reply-via`). */
  toReplyVia(this: MatcherContext, received: unknown, ref: string) {
    return judged(this, received, 'toReplyVia', `the reply left by ${ref}`, { 'reply-via': ref });
  },
  /** The reply came back along the request's path (`symmetric: true`). */
  toBeSymmetric(this: MatcherContext, received: unknown) {
    return judged(
      this,
      received,
      'toBeSymmetric',
      "the reply takes the request's path back",
      { symmetric: true },
      { symmetric: false },
    );
  },
  /** The far end saw this source address (`source`). */
  toHaveSource(this: MatcherContext, received: unknown, address: string) {
    return judged(this, received, 'toHaveSource', `the target saw source ${address}`, { source: address });
  },
  /**
   * The request crossed these nodes (or node:interface), in order (`path`); `{ reply: true }` for the reply
   * (`reply-path`).
   */
  toFollowPath(this: MatcherContext, received: unknown, hops: string[], opts: { reply?: boolean } = {}) {
    return judged(
      this,
      received,
      'toFollowPath',
      `the ${opts.reply ? 'reply' : 'request'} follows ${hops.join(' -> ')}`,
      opts.reply ? { 'reply-path': hops } : { path: hops },
    );
  },
  /** The probe's packets were captured at every node:interface given (`seen`); `.not`: at none of them (`not-seen`). */
  toBeSeenAt(this: MatcherContext, received: unknown, refs: string | string[]) {
    return judged(
      this,
      received,
      'toBeSeenAt',
      `its packets are seen at ${list(refs).join(', ')}`,
      { seen: list(refs) },
      { 'not-seen': list(refs) },
    );
  },
  /** Flows were delivered through these node:interface in these proportions (`spread`, `tolerance`). */
  toSpread(this: MatcherContext, received: unknown, weights: Partial<Record<string, number>>, tolerance?: number) {
    const given = Object.entries(weights).filter((e): e is [string, number] => e[1] !== undefined);
    return judged(this, received, 'toSpread', `flows spread as ${given.map(([k, v]) => `${k}: ${v}`).join(', ')}`, {
      spread: Object.fromEntries(given),
      ...(tolerance === undefined ? {} : { tolerance }),
    });
  },
  /** The route came from this routing table, by name or id (`table`). */
  toUseTable(this: MatcherContext, received: unknown, table: string | number) {
    return judged(this, received, 'toUseTable', `the route comes from table ${table}`, { table });
  },
  /** The target answered (`reachable: true`); `.not`: it did not (`reachable: false`). */
  toBeReachable(this: MatcherContext, received: unknown) {
    return judged(this, received, 'toBeReachable', 'the target answers', { reachable: true }, { reachable: false });
  },
  /** Every expectation given as in a lab file's `expect:` holds. */
  toMeet(this: MatcherContext, received: unknown, expect: Expectation) {
    return judged(this, received, 'toMeet', `it meets ${JSON.stringify(expect)}`, expect);
  },
};

/** The interfaces (`node:interface`) and nodes of the lab a received probe result came from: typed for a defineLab lab. */
type IfaceOf<T> = NamesOf<T>['iface'];
type HopOf<T> = NamesOf<T>['node'] | NamesOf<T>['iface'];

/**
 * The matchers as vitest's `expect(result)` has them. Each returns a promise (a failure asks the kernel for its why):
 * `await expect(ping).toReplyVia('server:eth1')`.
 */
export type NslabMatchers<T = unknown> = {
  toReplyVia(ref: IfaceOf<T>): Promise<void>;
  toBeSymmetric(): Promise<void>;
  toHaveSource(address: string): Promise<void>;
  toFollowPath(hops: HopOf<T>[], opts?: { reply?: boolean }): Promise<void>;
  toBeSeenAt(refs: IfaceOf<T> | IfaceOf<T>[]): Promise<void>;
  toSpread(weights: Partial<Record<IfaceOf<T>, number>>, tolerance?: number): Promise<void>;
  toUseTable(table: string | number): Promise<void>;
  toBeReachable(): Promise<void>;
  toMeet(expect: Expectation): Promise<void>;
};

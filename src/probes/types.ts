// What every probe gets and gives back.
import type { Evidence } from '../capture/evidence.js';
import type { Hop } from '../capture/paths.js';
import type { Lab } from '../engine/lab.js';
import type { LabModel, TestModel } from '../lab/model.js';
import type { Trace } from '../traces/trace.js';
import type { ExpectT } from '../lab/schema.js';

export interface ProbeContext {
  lab: Lab;
  model: LabModel;
  test: TestModel;
}

/** One asserted property: what was expected and what was observed. */
export interface Check {
  name: string;
  ok: boolean;
  expected: string;
  observed: string;
  /**
   * Set on a failure whose place saw nothing (no reply at the target, no
   * packet at the node named): the claim could not be judged, which is not
   * the same as a mismatch, and reports say which.
   */
  notObserved?: true;
}

export interface ProbeOutcome {
  checks: Check[];
  evidence?: Evidence;
  request?: Hop[];
  reply?: Hop[];
  /** per direction, the hops with their frames and how it ended */
  traces?: Trace[];
  /** Other facts worth showing with a failure (outcome, output). */
  facts: Record<string, string>;
  /**
   * The probe's verdict logic over what it observed: the checks any other
   * expectation would give, without sending again (the API's matchers use it).
   */
  judge: (expect: ExpectT) => Check[];
  /** The traces as another expectation reads them (where a path parts from the one it claims): for its why. */
  tracesFor?: (expect: ExpectT) => Trace[];
}

export type Probe = (ctx: ProbeContext) => Promise<ProbeOutcome>;

export function check(
  name: string,
  expected: unknown,
  observed: unknown,
  ok = String(expected) === String(observed),
): Check {
  return { name, ok, expected: String(expected), observed: String(observed) };
}

/** A claim about a place that saw nothing: always a failure, "not observed at PLACE: why". */
export function notObserved(name: string, expected: unknown, place: string | undefined, why: string): Check {
  return {
    name,
    ok: false,
    expected: String(expected),
    observed: `not observed${place ? ` at ${place}` : ''}: ${why}`,
    notObserved: true,
  };
}

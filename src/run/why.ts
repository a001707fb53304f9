// The why of one probe's failure, asked of the kernel: shared by `nslab test`
// (a failed test), the API's matchers (a failed claim) and `nslab explain` /
// lab.explain() (one probe run to be explained), so that all of them print the
// same why and hint for the same lab, probe and expectation.
import type { Moved } from '../capture/counters.js';
import type { Lab } from '../engine/lab.js';
import { answeredBy, explain, explainRoute, portOf, protoOf } from '../explain/why.js';
import type { LabModel, TestModel } from '../lab/model.js';
import type { ExpectT } from '../lab/schema.js';
import type { Trace, Why } from '../traces/trace.js';

export type { Trace, Why };

/** What the why needs of a test: its probe, what it sent and what it claims. */
export type Asked = Pick<TestModel, 'probe' | 'spec'> & { expect: ExpectT };

/** The kernel's side of a failure; a question it cannot answer leaves the failure as it is (undefined). */
export async function whyOf(
  lab: Lab,
  model: LabModel,
  t: Asked,
  traces: Trace[] | undefined,
  counters?: Moved[],
  applied: string[] = lab.state.stages,
): Promise<Why[] | undefined> {
  const ctx = {
    model,
    applied,
    expect: t.expect,
    ask: (node: string, argv: string[]) => lab.exec(node, argv),
    counters,
    proto: protoOf(t.probe),
    answeredBy: answeredBy(t.probe, t.spec),
    ...portOf(t.spec),
  };
  try {
    const why =
      t.probe === 'route'
        ? await explainRoute(t.spec as Parameters<typeof explainRoute>[0], ctx)
        : traces
          ? await explain(traces, ctx)
          : [];
    return why.length ? why : undefined;
  } catch {
    return undefined;
  }
}

/** A why as reports print it, one line each (`why:`, `cause:`, `hint:`, `no fix found:`), without colour. */
export function whyLines(whys: Why[] | undefined): string[] {
  const lines: string[] = [];
  for (const w of whys ?? []) {
    lines.push(`why: ${w.decision}`);
    if (w.cause && w.cause !== w.decision) lines.push(`cause: ${w.cause}`);
    if (w.hint) lines.push(`hint: ${w.hint}`);
    if (w.noFix) lines.push(`no fix found: ${w.noFix}`);
  }
  return lines;
}

// One probe between two nodes of a live lab, explained: its traces and, where
// the path goes wrong, the kernel's decision and a fix. `nslab explain` and the
// API's lab.explain() are this, so they cannot disagree.
import type { Lab } from '../engine/lab.js';
import { UsageError } from '../errors.js';
import type { LabModel, TestModel } from '../lab/model.js';
import { PROBES } from '../probes/index.js';
import type { Trace, Why } from '../traces/trace.js';
import { whyOf } from './why.js';

export interface ExplainRequest {
  from: string;
  to: string;
  /** ping (one echo, the default), tcp or udp */
  probe?: 'ping' | 'tcp' | 'udp';
  /** for tcp and udp: a port a service of the lab listens on (nslab then starts no listener of its own) */
  port?: number;
  ipv6?: boolean;
  /** explain as if the stages up to this one were applied: hints come from the stages after it */
  stage?: string;
}

export interface Explanation {
  version: 1;
  instance: string;
  from: string;
  to: string;
  probe: 'ping' | 'tcp' | 'udp';
  /** the stages taken as applied (hints come from the later ones) */
  applied: string[];
  /** per direction: the hops, how it ended, where it diverged */
  traces: Trace[];
  /** at the hop where it went wrong: the kernel's decision, the cause, the fix or why there is none */
  why: Why[];
  /** both directions delivered and the reply retraces the request (`nslab explain` exits 0) */
  ok: boolean;
}

/** Checks the request against the lab: unknown stage, node or port are usage errors, before anything is sent. */
export function explainSpec(
  model: LabModel,
  req: ExplainRequest,
  applied: string[],
): { test: TestModel; applied: string[] } {
  const k = req.stage ? model.stages.findIndex((s) => s.name === req.stage) : -1;
  if (req.stage && k < 0)
    throw new UsageError(
      `lab '${model.name}' has no stage '${req.stage}'`,
      `stages: ${model.stages.map((s) => `'${s.name}'`).join(', ')}`,
    );
  if (!model.nodes.some((n) => n.name === req.from))
    throw new UsageError(
      `lab '${model.name}' has no node '${req.from}'`,
      `nodes: ${model.nodes.map((n) => n.name).join(', ')}`,
    );
  const port = req.port;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`--port must be a port number (1-65535), not '${String(port)}'`);
  const probe = req.probe ?? 'ping';
  const spec: Record<string, unknown> =
    probe === 'ping'
      ? { from: req.from, to: req.to, count: 1 }
      : { from: req.from, to: req.to, ...(port ? { port, listen: false } : {}) };
  if (req.ipv6) spec.ipv6 = true;
  return {
    test: {
      name: `explain ${req.from} → ${req.to}`,
      probe,
      spec,
      // the expectation every reply path question starts from: it arrives, and the reply retraces the request
      expect: { symmetric: true },
      requires: [],
      at: { file: model.file, line: 0, col: 0 },
    },
    applied: req.stage ? model.stages.slice(0, k + 1).map((s) => s.name) : applied,
  };
}

/** Runs the probe and explains it; the caller closes the lab's probes when it is done with them. */
export async function explainProbe(lab: Lab, model: LabModel, req: ExplainRequest): Promise<Explanation> {
  const { test, applied } = explainSpec(model, req, lab.state.stages);
  let out;
  try {
    out = await PROBES[test.probe]({ lab, model, test });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const traces = out.traces ?? [];
  const why = (await whyOf(lab, model, test, traces, out.evidence?.counters, applied)) ?? [];
  const ok = traces.length === 2 && traces.every((t) => t.disposition === 'delivered' && t.divergesAt === undefined);
  return {
    version: 1,
    instance: lab.instance,
    from: req.from,
    to: req.to,
    probe: test.probe as Explanation['probe'],
    applied,
    traces,
    why,
    ok,
  };
}

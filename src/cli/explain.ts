// `nslab explain`: one probe between two nodes of a live lab, its traces, and
// at the hop where the path goes wrong the kernel's decision and a fix.
import { UsageError } from '../errors.js';
import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import { loadLab } from '../lab/resolve.js';
import { closeProbes } from '../probes/index.js';
import { explainText } from '../report/explain.js';
import { explainProbe, explainSpec } from '../run/explain.js';
import { findInstance } from './common.js';
import { rootlessHere, sameInside } from './rootless.js';
import { testPreflight } from './test.js';

export interface ExplainOpts {
  stage?: string;
  from: string;
  to: string;
  probe?: 'ping' | 'tcp' | 'udp';
  port?: string;
  ipv6?: boolean;
  json?: boolean;
}

/**
 * The expectation is the one every reply path question starts from: the
 * request arrives and the reply comes back the way the request went. Hints
 * come from the stages after --stage (default: after the last one applied).
 * Exit 0 when both directions are delivered and symmetric, 1 when not.
 */
export async function run(labArg: string, opts: ExplainOpts): Promise<number> {
  // without privilege: by the nslab inside the lab's holder
  if (rootlessHere()) return sameInside(await findInstance(labArg));
  testPreflight();
  const state = await findInstance(labArg);
  const model = loadLab(state.file);
  // usage errors before anything runs: the stage, the node, then the port as written
  const req = { from: opts.from, to: opts.to, probe: opts.probe, ipv6: opts.ipv6, stage: opts.stage };
  explainSpec(model, req, state.stages);
  const port = opts.port !== undefined ? Number(opts.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`--port must be a port number (1-65535), not '${opts.port}'`);
  const lab = Lab.attach(state.instance, model);
  const x = await withSignals(async () => {
    try {
      return await explainProbe(lab, model, { ...req, port });
    } finally {
      await closeProbes(lab);
    }
  });
  const { version, instance, from, to, probe, traces, why, ok } = x;
  if (opts.json)
    process.stdout.write(JSON.stringify({ version, instance, from, to, probe, traces, why }, null, 2) + '\n');
  else process.stdout.write(explainText(x));
  return ok ? 0 : 1;
}

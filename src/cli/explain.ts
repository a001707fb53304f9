// `nslab explain`: one probe between two nodes of a live lab, its traces, and
// at the hop where the path goes wrong the kernel's decision and a fix.
import chalk from 'chalk';
import { UsageError } from '../errors.js';
import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import type { TestModel } from '../lab/model.js';
import { loadLab } from '../lab/resolve.js';
import { PROBES, closeProbes } from '../probes/index.js';
import { traceLine } from '../report/console.js';
import { answeredBy, explain, portOf, protoOf } from '../explain/why.js';
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
  const k = opts.stage ? model.stages.findIndex((s) => s.name === opts.stage) : -1;
  if (opts.stage && k < 0)
    throw new UsageError(
      `lab '${model.name}' has no stage '${opts.stage}'`,
      `stages: ${model.stages.map((s) => `'${s.name}'`).join(', ')}`,
    );
  const applied = opts.stage ? model.stages.slice(0, k + 1).map((s) => s.name) : state.stages;
  if (!model.nodes.some((n) => n.name === opts.from))
    throw new UsageError(
      `lab '${model.name}' has no node '${opts.from}'`,
      `nodes: ${model.nodes.map((n) => n.name).join(', ')}`,
    );
  const probe = opts.probe ?? 'ping';
  const port = opts.port !== undefined ? Number(opts.port) : undefined;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536))
    throw new UsageError(`--port must be a port number (1-65535), not '${opts.port}'`);
  const spec: Record<string, unknown> =
    probe === 'ping'
      ? { from: opts.from, to: opts.to, count: 1 }
      : { from: opts.from, to: opts.to, ...(port ? { port, listen: false } : {}) };
  if (opts.ipv6) spec.ipv6 = true;
  const test: TestModel = {
    name: `explain ${opts.from} → ${opts.to}`,
    probe,
    spec,
    expect: { symmetric: true },
    requires: [],
    at: { file: state.file, line: 0, col: 0 },
  };
  const lab = Lab.attach(state.instance, model);
  const { traces, why } = await withSignals(async () => {
    let out;
    try {
      out = await PROBES[probe]({ lab, model, test });
    } catch (e) {
      throw new UsageError((e as Error).message);
    } finally {
      await closeProbes(lab);
    }
    const traces = out.traces ?? [];
    const why = await explain(traces, {
      model,
      applied,
      expect: test.expect,
      ask: (node, argv) => lab.exec(node, argv),
      counters: out.evidence?.counters,
      proto: protoOf(probe),
      answeredBy: answeredBy(probe, spec),
      ...portOf(spec),
    });
    return { traces, why };
  });
  const ok = traces.length === 2 && traces.every((t) => t.disposition === 'delivered' && t.divergesAt === undefined);
  if (opts.json)
    process.stdout.write(
      JSON.stringify(
        { version: 1, instance: state.instance, from: opts.from, to: opts.to, probe, traces, why },
        null,
        2,
      ) + '\n',
    );
  else {
    const lines = [
      chalk.bold(
        `${probe} ${opts.from} → ${opts.to} in '${state.instance}'${applied.length ? ` (stages applied: ${applied.join(', ')})` : ''}`,
      ),
    ];
    for (const t of traces)
      lines.push(
        `  ${`${t.direction}:`.padEnd(9)}${traceLine(t)}${t.detail && t.disposition !== 'delivered' ? chalk.dim(` (${t.detail})`) : ''}`,
      );
    for (const w of why) {
      lines.push(`  why: ${w.decision}`);
      if (w.cause && w.cause !== w.decision) lines.push(`  cause: ${w.cause}`);
      if (w.hint) lines.push(`  hint: ${chalk.cyan(w.hint)}`);
      if (w.noFix) lines.push(`  no fix found: ${w.noFix}`);
    }
    if (ok) lines.push(chalk.green('  the reply retraces the request: nothing to explain'));
    process.stdout.write(lines.join('\n') + '\n');
  }
  return ok ? 0 : 1;
}

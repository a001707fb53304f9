// Runs a lab's stages in order: apply the stage, run its tests (probe ->
// evidence -> checks), keep the captures of what failed, tear down.
import { countingNodes } from '../capture/counters.js';
import { formatPath } from '../capture/paths.js';
import { kernelFeatures } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { writeState } from '../engine/state.js';
import type { Feature, LabModel, StageModel, TestModel } from '../lab/model.js';
import { randomId } from '../plan/names.js';
import { PROBES, closeProbes, prepareProbes } from '../probes/index.js';
import { privateArtifacts } from './artifacts.js';
import { failForDeaths } from './deaths.js';
import type { LabRun, TestResult } from './results.js';
import { citePcaps } from '../traces/trace.js';
import { whyOf } from './why.js';

export interface RunOptions {
  /** Apply the stages up to this one and run only its tests. */
  stage?: string;
  grep?: RegExp;
  /** Leave the lab up when a test failed, for inspection. */
  keep?: boolean;
  artifacts?: string;
  signal?: AbortSignal;
  onResult?: (r: TestResult) => void;
}

const featureReason = (missing: Feature[]) =>
  `needs ${missing.map((f) => `sch_${f}`).join(', ')}, which this kernel lacks`;

/**
 * The stages to apply, in order, and whether to run each one's tests: up to
 * --stage, and with --grep only up to the last stage that has a selected test
 * (a later stage's apply would change nothing those tests see, and its errors
 * are not the user's question).
 */
function selected(model: LabModel, opts: RunOptions): { stage: StageModel; run: boolean }[] {
  let last = opts.stage ? model.stages.findIndex((s) => s.name === opts.stage) : model.stages.length - 1;
  if (opts.stage && last < 0)
    throw new Error(
      `lab '${model.name}' has no stage '${opts.stage}' (stages: ${model.stages.map((s) => s.name).join(', ')})`,
    );
  if (opts.grep)
    while (last >= 0 && !model.stages[last]!.tests.some((t) => wanted(t, model.stages[last]!, opts))) last--;
  return model.stages.slice(0, last + 1).map((stage) => ({ stage, run: !opts.stage || stage.name === opts.stage }));
}

/** `nslab test` for one lab: a fresh isolated instance, every stage, then down. */
export async function runLab(model: LabModel, opts: RunOptions = {}): Promise<LabRun> {
  const t0 = performance.now();
  const run: LabRun = { lab: model.name, file: model.file, instance: '', durationMs: 0, tests: [] };
  const stages = selected(model, opts);
  const have = await kernelFeatures();
  const missing = model.needs.filter((f) => !have[f]);
  if (missing.length) {
    // the lab cannot even be built here: every test it has is skipped, with the reason
    for (const { stage, run: r } of stages)
      if (r)
        for (const t of stage.tests)
          if (wanted(t, stage, opts))
            report(run, resultOf(model, stage, t, 'skipped', `lab ${featureReason(missing)}`), opts);
    run.durationMs = performance.now() - t0;
    return run;
  }
  let lab: Lab | undefined;
  let k = 0; // the stage being applied or tested
  try {
    const tests = stages.filter((s) => s.run).map(({ stage }) => runnable(stage, opts, have));
    // captures and agents start as soon as the nodes are configured (while the lab's services settle)
    lab = await Lab.up(model, {
      id: randomId(),
      status: 'testing',
      signal: opts.signal,
      configured: (l) => prepareProbes(l, model, tests),
      unwinding: closeProbes,
      artifacts: () => opts.artifacts ?? privateArtifacts(),
    });
    run.instance = lab.instance;
    noteReady(run, lab);
    for (; k < stages.length; k++) {
      const { stage, run: runIt } = stages[k]!;
      // a stage boundary: a service found dead here is reported by the next test, even if this stage restarts it
      if (k > 0) await lab.liveness.dead(lab.state.services);
      if (stage.apply.size) await lab.applyStage(stage.name, opts.signal);
      noteReady(run, lab);
      if (runIt) await runStageTests(lab, model, stage, run, opts, have);
    }
  } catch (e) {
    run.error = (e as Error).message;
    // no test vanishes: those of the stage that failed and of every later one are reported, as not run and why
    const why = lab ? `stage '${stages[k]?.stage.name}' failed to apply` : `the lab could not be brought up`;
    const first = run.error.split('\n')[0];
    if (!opts.signal?.aborted)
      for (const { stage, run: r } of stages.slice(k))
        if (r)
          for (const t of stage.tests)
            if (wanted(t, stage, opts) && !run.tests.some((x) => x.stage === stage.name && x.name === t.name))
              report(run, resultOf(model, stage, t, 'failed', `not run: ${why}: ${first}`), opts);
  } finally {
    if (lab) await closeProbes(lab);
    const failed = run.error || run.tests.some((t) => t.status === 'failed');
    if (lab && opts.keep && failed && !opts.signal?.aborted) {
      lab.state.status = 'up'; // handed over to the user: `nslab down` removes it
      writeState(lab.state);
      run.kept = lab.instance;
    } else if (lab) await lab.down();
  }
  run.durationMs = performance.now() - t0;
  return run;
}

/** `nslab check`: one stage's tests against a lab that is already up, nothing applied. */
export async function checkStage(lab: Lab, model: LabModel, stageName: string, opts: RunOptions = {}): Promise<LabRun> {
  const t0 = performance.now();
  const stage = model.stages.find((s) => s.name === stageName);
  if (!stage) throw new Error(`lab '${model.name}' has no stage '${stageName}'`);
  const run: LabRun = { lab: model.name, file: model.file, instance: lab.instance, durationMs: 0, tests: [] };
  const have = await kernelFeatures();
  prepareProbes(lab, model, [runnable(stage, opts, have)]);
  try {
    await runStageTests(lab, model, stage, run, opts, have);
  } finally {
    await closeProbes(lab); // the lab stays up, the user's: nothing of nslab's keeps running in it
  }
  run.durationMs = performance.now() - t0;
  return run;
}

/** The readiness waits of the services started so far (each pid once: a restarted service waits again). */
function noteReady(run: LabRun, lab: Lab): void {
  const seen = (noted.get(run) ?? noted.set(run, new Set()).get(run))!;
  for (const s of lab.state.services)
    if (s.ready && !seen.has(s.pid)) {
      seen.add(s.pid);
      (run.ready ??= []).push({ node: s.node, service: s.name, what: s.ready.what, ms: s.ready.ms });
    }
}
const noted = new WeakMap<LabRun, Set<number>>();

function wanted(t: TestModel, stage: StageModel, opts: RunOptions): boolean {
  return !opts.grep || opts.grep.test(`${stage.name} › ${t.name}`);
}

/** A stage's tests that will run: selected, and with what the kernel has. */
function runnable(stage: StageModel, opts: RunOptions, have: Record<Feature, boolean>): TestModel[] {
  return stage.tests.filter((t) => wanted(t, stage, opts) && t.requires.every((f) => have[f]));
}

function report(run: LabRun, r: TestResult, opts: RunOptions): void {
  run.tests.push(r);
  opts.onResult?.(r);
}

function resultOf(
  model: LabModel,
  stage: StageModel,
  t: TestModel,
  status: TestResult['status'],
  reason?: string,
): TestResult {
  return {
    lab: model.name,
    file: model.file,
    stage: stage.name,
    name: t.name,
    probe: t.probe,
    status,
    durationMs: 0,
    checks: [],
    reason,
    facts: {},
    artifacts: [],
    at: `${t.at.file}:${t.at.line}:${t.at.col}`,
    ...(status === 'failed' && t.hint ? { hint: t.hint } : {}),
  };
}

/**
 * A stage's tests read a network that does not change while they run, so they
 * run together, up to CONCURRENT at a time; each picks its own packets out of
 * the shared captures by its identity (flows too: its flows use a port of
 * their own, and where a flow goes depends on its own headers only). Run
 * alone, with nothing else in flight: throughput (it measures a rate, and
 * stops the captures while it runs), exec (a command may change the network),
 * and every test of a lab whose firewall counts packets (a counter that moved
 * is evidence only if one probe's traffic moved it). Results are reported in
 * the file's order.
 */
export const CONCURRENT = 4;
const ALONE: ReadonlySet<string> = new Set(['throughput', 'exec']);

async function runStageTests(
  lab: Lab,
  model: LabModel,
  stage: StageModel,
  run: LabRun,
  opts: RunOptions,
  have: Record<Feature, boolean>,
): Promise<void> {
  const tests = stage.tests.filter((t) => wanted(t, stage, opts));
  const serial = countingNodes(model).length > 0;
  const done: (TestResult | undefined)[] = tests.map(() => undefined);
  let reported = 0;
  const flush = () => {
    while (reported < tests.length && done[reported]) report(run, done[reported++]!, opts);
  };
  const running = new Set<Promise<void>>();
  for (const [i, t] of tests.entries()) {
    const alone = serial || ALONE.has(t.probe);
    // an exclusive test waits for every running one, and the next waits for it
    while (running.size && (alone || running.size >= CONCURRENT))
      await (alone ? Promise.all(running) : Promise.race(running));
    if (opts.signal?.aborted) break;
    const p = runTest(lab, model, stage, t, opts, have).then((r) => {
      done[i] = r;
      flush();
    });
    const tracked = p.finally(() => running.delete(tracked));
    running.add(tracked);
    if (alone) await tracked;
  }
  await Promise.all(running);
  flush();
}

async function runTest(
  lab: Lab,
  model: LabModel,
  stage: StageModel,
  t: TestModel,
  opts: RunOptions,
  have: Record<Feature, boolean>,
): Promise<TestResult> {
  const missing = t.requires.filter((f) => !have[f]);
  if (missing.length) return resultOf(model, stage, t, 'skipped', `test ${featureReason(missing)}`);
  const t0 = performance.now();
  const r = resultOf(model, stage, t, 'passed');
  try {
    const out = await PROBES[t.probe]({ lab, model, test: t });
    r.checks = out.checks;
    r.facts = out.facts;
    if (out.request) r.request = formatPath(out.request);
    if (out.reply) r.reply = formatPath(out.reply);
    if (out.traces) r.traces = out.traces;
    if (!out.checks.length) {
      r.status = 'failed';
      r.reason = 'the test asserts nothing: add an expect';
    } else if (out.checks.some((c) => !c.ok)) r.status = 'failed';
    // the kernel is asked for a failure's why, and wherever a packet died (its disposition then names the cause)
    if (
      !opts.signal?.aborted &&
      (r.status === 'failed' || r.traces?.some((x) => x.disposition === 'dropped' || x.disposition === 'unanswered'))
    ) {
      const why = await whyOf(lab, model, t, r.traces, out.evidence?.counters);
      if (r.status === 'failed') r.why = why;
    }
    // an interrupted test's evidence is not a result: nothing is kept of it
    if (r.status === 'failed' && out.evidence && !opts.signal?.aborted)
      r.artifacts = out.evidence.save(
        opts.artifacts ?? privateArtifacts(),
        lab.instance,
        slug(`${stage.name}-${t.name}`),
      );
    if (r.traces && out.evidence) citePcaps(r.traces, (node) => out.evidence!.saved.get(node));
  } catch (e) {
    r.status = 'failed';
    r.reason = (e as Error).message;
  }
  // a test that ran while a service of the lab was dead fails, naming it (whatever its own checks say)
  if (!opts.signal?.aborted) {
    const deaths = await lab.liveness.forTest(lab.state.services);
    failForDeaths(r, deaths, () => ({ root: opts.artifacts ?? privateArtifacts(), folder: lab.instance }));
  }
  // Ctrl-C reaches the whole process group: ping or tcpdump may die of it, failing
  // the test, before this process's own handler has run. A failure while the run is
  // being interrupted is no verdict: it is reported as interrupted, nothing else.
  if (r.status === 'failed' && !opts.signal?.aborted) await new Promise((res) => setTimeout(res, 50));
  if (r.status === 'failed' && opts.signal?.aborted) {
    Object.assign(r, {
      checks: [],
      facts: {},
      artifacts: [],
      reason: (opts.signal.reason as Error | undefined)?.message ?? 'interrupted',
    });
    delete r.traces;
    delete r.why;
    delete r.request;
    delete r.reply;
  }
  if (r.status === 'failed' && t.hint) r.hint = t.hint;
  r.durationMs = performance.now() - t0;
  return r;
}

function slug(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 60);
}

import chalk from 'chalk';
import { statSync } from 'node:fs';
import { UsageError } from '../errors.js';
import { Lab } from '../engine/lab.js';
import type { LabState } from '../engine/state.js';
import { withSignals } from '../engine/signals.js';
import { checkedStage } from '../lab/exercise.js';
import type { LabModel } from '../lab/model.js';
import { loadLab } from '../lab/resolve.js';
import { testLine } from '../report/console.js';
import { csvReport, scoreOf } from '../report/csv.js';
import { jsonReport } from '../report/json.js';
import type { LabRun, TestResult } from '../run/results.js';
import { checkStage } from '../run/suite.js';
import { findInstance, findInstances, isFile } from './common.js';
import { rootlessHere, rootlessOne, sameInside } from './rootless.js';
import { checkOutputs, exitFor, report, testPreflight, type TestOpts } from './test.js';

export type CheckOpts = Pick<TestOpts, 'stage' | 'artifacts' | 'reporter' | 'html'> & { instance?: string };

/**
 * The workshop grader: runs one stage's tests against labs that are already
 * up, applying nothing. Default stage: in a lab with a solution stage (an
 * exercise), that stage unless one at or after it was applied; otherwise the
 * last one applied (by `up --stage`), else the first. With --instance PATTERN,
 * every lab left up whose instance matches is graded, one after the other.
 */
export async function run(labArg: string | undefined, opts: CheckOpts): Promise<number> {
  if (labArg === undefined && opts.instance === undefined)
    throw new UsageError(
      'name the lab to check, or the instances to grade with --instance PATTERN',
      "'nslab ls' lists the running labs",
    );
  // without privilege: by the nslab inside the lab's holder
  if (rootlessHere()) return sameInside(await rootlessOne(labArg, opts.instance, 'check'));
  testPreflight();
  const states =
    opts.instance !== undefined ? await findInstances(labArg, opts.instance) : [await findInstance(labArg!)];
  // graded with the tests of LAB when it is a file (the instructor's), else each lab's own file
  const given = labArg !== undefined && isFile(labArg) ? loadLab(labArg) : undefined;
  const models = new Map<string, LabModel>();
  const jobs = states.map((state) => {
    const model = given ?? models.get(state.file) ?? models.set(state.file, loadLab(state.file)).get(state.file)!;
    const stage = opts.stage ?? checkedStage(model, state.stages);
    if (!stage) throw new UsageError(`lab '${model.name}' has no stages, so there are no tests to check`);
    if (!model.stages.some((s) => s.name === stage))
      throw new UsageError(
        `lab '${model.name}' has no stage '${stage}'`,
        `stages: ${model.stages.map((s) => `'${s.name}'`).join(', ')}`,
      );
    return { state, model, stage };
  });
  checkOutputs(
    opts,
    [],
    states.map((s) => s.instance),
  );
  // graded with each lab's own file, which its user can edit: say so when it changed after the lab came up
  if (!given)
    for (const { state } of jobs) {
      const changed = statSync(state.file, { throwIfNoEntry: false })?.mtimeMs ?? 0;
      if (changed > Date.parse(state.createdAt))
        process.stderr.write(
          `nslab: '${state.instance}' is graded with its own lab file, changed since it came up (${state.file}); to grade with your tests, name your lab file: nslab check LAB.yaml --instance '${opts.instance ?? state.instance}'\n`,
        );
    }
  const reporter = opts.reporter ?? 'console';
  const live = reporter === 'console';
  const started = new Date();
  const runs: LabRun[] = [];
  await withSignals(async (signal) => {
    for (const { state, model, stage } of jobs) {
      if (signal.aborted) break;
      if (live)
        process.stdout.write(chalk.bold(`checking '${state.instance}' against the tests of stage '${stage}'\n`));
      const run = await checkOne(state, model, stage, {
        artifacts: opts.artifacts,
        signal,
        onResult: live ? (r) => process.stdout.write(withHint(r) + '\n') : undefined,
      });
      if (live) process.stdout.write(scoreLine(run) + '\n');
      runs.push(run);
    }
  });
  const text =
    reporter === 'csv'
      ? csvReport(runs)
      : reporter === 'json'
        ? jsonReport(runs.map((r) => ({ ...r, score: scoreOf(r) })))
        : undefined;
  // the page draws the lab as it is up: the stage `up --stage` applied (one lab graded)
  const applied = jobs.length === 1 ? { stage: jobs[0]!.state.stages.at(-1) } : undefined;
  await report(runs, reporter, { html: opts.html, artifacts: opts.artifacts, started, applied, text });
  return exitFor(runs);
}

/** One instance; a lab that cannot be checked (its namespaces gone) fails each test of the stage, with the reason. */
async function checkOne(
  state: LabState,
  model: LabModel,
  stage: string,
  o: Parameters<typeof checkStage>[3],
): Promise<LabRun> {
  try {
    return await checkStage(Lab.attach(state.instance, model), model, stage, o);
  } catch (e) {
    const first = (e as Error).message.split('\n')[0];
    const s = model.stages.find((x) => x.name === stage)!;
    const tests: TestResult[] = s.tests.map((t) => ({
      lab: model.name,
      file: model.file,
      stage,
      name: t.name,
      probe: t.probe,
      status: 'failed',
      durationMs: 0,
      checks: [],
      facts: {},
      artifacts: [],
      reason: `not run: ${first}`,
      at: `${t.at.file}:${t.at.line}:${t.at.col}`,
      ...(t.hint ? { hint: t.hint } : {}),
    }));
    for (const t of tests) o?.onResult?.(t);
    return { lab: model.name, file: model.file, instance: state.instance, durationMs: 0, tests, error: first };
  }
}

function withHint(r: TestResult): string {
  const line = testLine(r);
  return r.hint
    ? `${line}\n${r.hint
        .trim()
        .split('\n')
        .map((l) => `    ${chalk.cyan('hint:')} ${l}`)
        .join('\n')}`
    : line;
}

function scoreLine(r: LabRun): string {
  const { passed, total } = scoreOf(r);
  const text = `score: ${passed}/${total}${total ? ` (${Math.round((100 * passed) / total)}%)` : ''} for '${r.instance}'`;
  return passed === total ? chalk.green(text) : chalk.yellow(text);
}

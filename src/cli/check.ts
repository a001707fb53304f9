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
import { isFile } from './common.js';
import { rootlessHere, rootlessOne, sameInside } from './rootless.js';
import { gradeStudents, gradingCopy, labsToActOn, requireTrainer, type UserLab } from './trainer.js';
import { checkOutputs, exitFor, report, testPreflight, type TestOpts } from './test.js';

export type CheckOpts = Pick<TestOpts, 'stage' | 'artifacts' | 'reporter' | 'html'> & {
  instance?: string;
  user?: string;
};

/**
 * The workshop grader: runs one stage's tests against labs that are already
 * up, applying nothing. Default stage: in a lab with a solution stage (an
 * exercise), that stage unless one at or after it was applied; otherwise the
 * last one applied (by `up --stage`), else the first. With --instance PATTERN,
 * every lab left up whose instance matches is graded, one after the other; as
 * root, other users' rootless labs too (src/cli/trainer.ts), with their user.
 */
export async function run(labArg: string | undefined, opts: CheckOpts): Promise<number> {
  if (labArg === undefined && opts.instance === undefined && opts.user === undefined)
    throw new UsageError(
      'name the lab to check, or the instances to grade with --instance PATTERN',
      "'nslab ls' lists the running labs",
    );
  requireTrainer(opts.user, 'check');
  // without privilege: by the nslab inside the lab's holder
  if (rootlessHere()) return sameInside(await rootlessOne(labArg, opts.instance, 'check'));
  testPreflight();
  // as root: students' labs too, graded as each student (trainer.ts); with --user, only that user's
  const { students, states } = await labsToActOn(labArg, opts);
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
  checkOutputs(opts, [], [...states.map((s) => s.instance), ...students.map((s) => s.state.instance)]);
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
      runs.push(students.length ? { ...run, user: 'root' } : run);
    }
    if (students.length && !signal.aborted) runs.push(...(await gradeAsStudents(students, given, opts, live, signal)));
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

/**
 * Students' labs, each graded by its student's nslab (trainer.ts) with a copy of the trainer's file if one is given;
 * printed as each ends on the console.
 */
async function gradeAsStudents(
  students: UserLab[],
  given: LabModel | undefined,
  opts: CheckOpts,
  live: boolean,
  signal: AbortSignal,
): Promise<LabRun[]> {
  const copy = given ? gradingCopy(given.file) : undefined;
  try {
    return await gradeStudents(students, {
      copy: copy?.path,
      model: given,
      stage: opts.stage,
      signal,
      notRun: (s, reason) => {
        const stage = given ? (opts.stage ?? checkedStage(given, s.state.stages)) : undefined;
        return given && stage && given.stages.some((x) => x.name === stage)
          ? notRun(given, stage, s.state.instance, reason)
          : {
              lab: s.state.lab,
              file: s.state.file,
              instance: s.state.instance,
              durationMs: 0,
              tests: [],
              error: reason,
            };
      },
      onRun: live
        ? (s, run) =>
            process.stdout.write(
              [
                chalk.bold(`checked '${run.instance}' of user '${s.user}'`),
                ...(run.error && !run.tests.length ? [chalk.red(`  not graded: ${run.error}`)] : []),
                ...run.tests.map(withHint),
                scoreLine(run) + ` of user '${s.user}'`,
              ].join('\n') + '\n',
            )
        : undefined,
    });
  } finally {
    copy?.done();
  }
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
    const first = (e as Error).message.split('\n')[0]!;
    const run = notRun(model, stage, state.instance, first);
    for (const t of run.tests) o?.onResult?.(t);
    return run;
  }
}

/** Each test of the stage failed, not run, with the reason: a lab that could not be checked. */
function notRun(model: LabModel, stage: string, instance: string, first: string): LabRun {
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
  return { lab: model.name, file: model.file, instance, durationMs: 0, tests, error: first };
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

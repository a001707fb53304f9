import { EnvironmentError, EXIT, InterruptedError, LabFileError, UsageError, type Problem } from '../errors.js';
import { kernelFeatures, procSysReadOnly, requireRoot, requireTools } from '../engine/capabilities.js';
import { pool } from '../engine/apply.js';
import { OutputDir } from '../engine/output.js';
import { labPrograms, programsFor } from '../engine/requirements.js';
import { enterRootless, insideRootless, needsRootless, runRootless } from '../engine/rootless.js';
import { testKeepRootless } from './rootless.js';
import { withSignals } from '../engine/signals.js';
import type { LabModel } from '../lab/model.js';
import { loadLab } from '../lab/resolve.js';
import { consoleSummary, testLine } from '../report/console.js';
import { jsonReport } from '../report/json.js';
import { junitReport } from '../report/junit.js';
import { tapReport } from '../report/tap.js';
import { progress, wantsProgress } from '../report/progress.js';
import { totals, type LabRun } from '../run/results.js';
import { parseShard, readDurations, shardOf } from '../run/shard.js';
import { runLab, type RunOptions } from '../run/suite.js';
import { labFiles } from './common.js';

export interface TestOpts {
  stage?: string;
  grep?: string;
  jobs?: string;
  keep?: boolean;
  artifacts?: string;
  reporter?: string;
  html?: string;
  shard?: string;
  durations?: string[];
}

export const REPORTERS = ['console', 'json', 'junit', 'tap', 'html'] as const;

/** Checks that running tests (of these labs) is possible here; exit 3 otherwise. */
export function testPreflight(models: LabModel[] = []): void {
  requireRoot('running tests (network namespaces, packet capture)');
  // src/engine/requirements.ts, the table doctor checks: what every run needs, and what these labs' steps run (tc, nft)
  requireTools(new Set([...programsFor('lab', 'test'), ...models.flatMap(labPrograms)]));
  // a container default: without this check every lab fails on its first sysctl, with a message about the sysctl
  if (procSysReadOnly())
    throw new EnvironmentError(
      '/proc/sys is mounted read-only here (a container default): no sysctl can be set in a lab node',
      "run the container with --privileged, which mounts it read-write; 'nslab doctor' lists what else is missing",
    );
}

export function render(runs: LabRun[], reporter: string): string {
  switch (reporter) {
    case 'json':
      return jsonReport(runs);
    case 'junit':
      return junitReport(runs);
    case 'tap':
      return tapReport(runs);
    default:
      return consoleSummary(runs) + '\n';
  }
}

/**
 * Writes the report on stdout, and the HTML page where asked: DIR/report.html
 * for --html DIR and beside the other reports in --artifacts DIR. The HTML
 * reporter (and its Graphviz) is loaded only then. `text` is stdout when the
 * caller renders it itself (check's csv and scored json).
 */
export async function report(
  runs: LabRun[],
  reporter: string,
  o: { html?: string; artifacts?: string; started: Date; applied?: { stage?: string }; text?: string },
): Promise<void> {
  const dirs = [...new Set([o.html, o.artifacts].filter((d): d is string => !!d))];
  const html = reporter === 'html' || dirs.length ? await import('../report/html.js') : undefined;
  process.stdout.write(
    o.text !== undefined
      ? o.text
      : reporter === 'html'
        ? await html!.htmlReport(runs, { dir: process.cwd(), date: o.started, applied: o.applied })
        : render(runs, reporter),
  );
  for (const d of dirs) {
    const page = await html!.htmlReport(runs, { dir: d, date: o.started, applied: o.applied });
    OutputDir.open(d, { create: true }).write('report.html', page);
  }
}

/**
 * The files a run will write into --artifacts DIR (REPORTS, report.html, the pcaps'
 * folder of each of INSTANCES when known) and --html DIR, checked before anything
 * is created: a link there is refused now (exit 2), not after the run.
 */
export function checkOutputs(
  o: { artifacts?: string; html?: string },
  reports: string[],
  instances: string[] = [],
): void {
  if (o.artifacts) OutputDir.check(o.artifacts, [...reports, 'report.html'], instances);
  if (o.html) OutputDir.check(o.html, ['report.html']);
}

/** Remarks about the run itself go to stderr, so that stdout stays the report. */
function note(msg: string): void {
  process.stderr.write(`nslab: ${msg}\n`);
}

export function exitFor(runs: LabRun[]): number {
  const t = totals(runs);
  return t.failed || t.errors ? EXIT.failed : EXIT.ok;
}

export async function run(args: string[], opts: TestOpts): Promise<number> {
  if (insideRootless()) await enterRootless();
  // the kernel's qdiscs are asked (a scratch namespace) while the lab files are read
  if (!needsRootless()) void kernelFeatures();
  const reporter = opts.reporter ?? 'console';
  if (!(REPORTERS as readonly string[]).includes(reporter))
    throw new UsageError(`unknown reporter '${reporter}'`, `use one of: ${REPORTERS.join(', ')}`);
  const jobs = Number(opts.jobs ?? 1);
  if (!Number.isInteger(jobs) || jobs < 1) throw new UsageError(`--jobs takes a whole number, not '${opts.jobs}'`);
  let grep: RegExp | undefined;
  try {
    grep = opts.grep ? new RegExp(opts.grep) : undefined;
  } catch {
    throw new UsageError(`--grep '${opts.grep}' is not a valid regular expression`);
  }
  // every lab file is checked before anything is created
  const files = labFiles(args);
  if (!files.length) throw new UsageError('no lab files found', 'name lab files, or a directory of *.yaml');
  const problems: Problem[] = [];
  const models: LabModel[] = [];
  for (const f of files) {
    try {
      models.push(loadLab(f));
    } catch (e) {
      if (e instanceof LabFileError) problems.push(...e.problems);
      else throw e;
    }
  }
  if (problems.length) throw new LabFileError(problems);
  const shard = opts.shard ? parseShard(opts.shard) : undefined;
  if (opts.stage)
    for (const m of models)
      if (!m.stages.some((s) => s.name === opts.stage))
        throw new UsageError(
          `lab '${m.name}' has no stage '${opts.stage}'`,
          `stages: ${m.stages.map((s) => `'${s.name}'`).join(', ')}`,
        );
  // a --grep that selects nothing would pass CI with 0 tests: a usage error, before anything is created
  const names = models.flatMap((m) =>
    m.stages
      .filter((s) => !opts.stage || s.name === opts.stage)
      .flatMap((s) => s.tests.map((t) => `${s.name} › ${t.name}`)),
  );
  if (grep && !names.some((n) => grep.test(n)))
    throw new UsageError(
      `no test matches --grep '${opts.grep}'`,
      `names are matched as 'stage › test', e.g. '${names[0] ?? 'stage › test'}'`,
    );
  checkOutputs(opts, ['report.json', 'junit.xml']);
  // without root: the same command again, inside namespaces of its own (src/engine/rootless.ts)
  if (needsRootless()) {
    // --keep: in a holder that outlives the run if it keeps the lab (src/engine/holder.ts)
    if (opts.keep) {
      if (models.length !== 1)
        throw new UsageError(
          `without root, --keep takes one lab file (${models.length} given): a kept lab lives in a holder of its own`,
          'run nslab test --keep once per lab, or as root',
        );
      return testKeepRootless(models[0]!.name);
    }
    return runRootless(process.argv.slice(1));
  }
  // every shard checks every lab file (the same exit 2 everywhere), then runs its own share
  const mine = shard
    ? shardOf(
        models.map((m) => ({ m, key: m.name, file: m.file })),
        shard,
        readDurations(opts.durations ?? [], note),
      ).map((x) => x.m)
    : models;
  if (shard)
    note(
      `shard ${shard.index}/${shard.count}: ${mine.length} of ${models.length} labs${mine.length ? `: ${mine.map((m) => m.name).join(', ')}` : ''}`,
    );
  testPreflight(mine);
  const runs: LabRun[] = [];
  const started = new Date();
  const bar = progress(mine.length, wantsProgress(reporter));
  let interrupted: InterruptedError | undefined;
  try {
    await withSignals(async (signal) => {
      const o: RunOptions = {
        stage: opts.stage,
        grep,
        keep: opts.keep,
        artifacts: opts.artifacts,
        signal,
        onResult: reporter === 'console' ? (r) => bar.print(() => process.stdout.write(testLine(r) + '\n')) : undefined,
      };
      await pool(mine, jobs, async (m) => {
        runs.push(await runLab(m, o));
        bar.labDone();
      });
    });
  } catch (e) {
    if (!(e instanceof InterruptedError)) throw e;
    interrupted = e; // a cancelled CI job still gets the report of what ran
  } finally {
    bar.stop();
  }
  runs.sort((a, b) => files.indexOf(a.file) - files.indexOf(b.file));
  // the machine-read reports first: they stay even if drawing the HTML page fails
  if (opts.artifacts) {
    const out = OutputDir.open(opts.artifacts, { create: true });
    out.write('report.json', jsonReport(runs));
    out.write('junit.xml', junitReport(runs));
  }
  // interrupted: the console has shown each test as it finished, and its summary would count
  // the interruption as a failure; the other formats are files someone reads afterwards
  if (!interrupted || reporter !== 'console')
    await report(runs, reporter, { html: opts.html, artifacts: opts.artifacts, started });
  if (interrupted) throw interrupted;
  return exitFor(runs);
}

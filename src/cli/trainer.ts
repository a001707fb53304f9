// The trainer's view (issue 21): root grades, resets and takes down the rootless labs of the class's users.
//
// Root acts on a student's lab *as that student*: it runs this same nslab with the student's uid, gid and groups
// (setpriv), their HOME and the state directory their record is in, and that nslab reaches the lab through its
// holder exactly as the student's own command would. Root never enters a holder's namespaces itself: a holder's
// mount namespace is the student's (they hold CAP_SYS_ADMIN in its user namespace and can mount over /usr/bin/tcpdump
// in it, or write /etc/ld.so.preload into its /etc overlay), so any program root ran in there would be the student's
// program, run as root. As the student, root can do nothing the student could not do themselves.
//
// Grading uses the trainer's lab file without giving it to the student: root reads it, makes the students' copy of
// it (`nslab exercise`: the same stages and tests, without the solution's apply) in a folder of root's that students
// can read but not change, and the student's nslab grades with that copy. The tests a student sees are the ones
// handed out; the ones they grade with are the trainer's, whatever the student did to their own file.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { exerciseOf } from '../lab/exercise.js';
import { loadLab } from '../lab/resolve.js';
import { checkInstanceName } from '../plan/names.js';
import type { LabRun, TestResult } from '../run/results.js';
import type { LabModel } from '../lab/model.js';
import { allUsersLabs, type UserLab } from './all-users.js';
import { findInstance, findInstances, isFile, labNameOf, matcher } from './common.js';
import type { LabState } from '../engine/state.js';

/** Labs graded, reset or taken down at once (each as its student: one nslab, and one inside its holder). */
export const STUDENT_JOBS = 4;

export const isTrainer = () => process.getuid?.() === 0;

/** `--user NAME` is root's: a user acts on their own labs only. */
export function requireTrainer(user: string | undefined, verb: string): void {
  if (user !== undefined && !isTrainer())
    throw new EnvironmentError(
      `${verb} --user is the trainer's: it needs root`,
      `without root, 'nslab ${verb} LAB' acts on your own labs`,
    );
}

/** LAB as a lab or instance name (a file: the lab it declares). */
async function labWord(arg: string | undefined): Promise<string | undefined> {
  if (arg === undefined) return undefined;
  return isFile(arg) ? await labNameOf(arg) : checkInstanceName(arg);
}

/**
 * Other users' labs left up (rootless, in their holders) that LAB and the options select: of lab LAB (or instance
 * LAB), whose instance name or id matches PATTERN, of user NAME; in user, then instance order. Root only.
 */
export async function studentLabs(
  labArg: string | undefined,
  pattern: string | undefined,
  user: string | undefined,
): Promise<UserLab[]> {
  if (!isTrainer()) return [];
  const lab = await labWord(labArg);
  const m = pattern === undefined ? undefined : matcher([pattern]);
  const all = allUsersLabs();
  if (user !== undefined && !all.some((x) => x.user === user) && !userExists(user))
    throw new UsageError(`no user '${user}' on this machine`, "'nslab ls --all-users' lists every user's labs");
  return all
    .filter(
      (x) =>
        x.state.status === 'up' &&
        !!x.state.holder &&
        (user === undefined || x.user === user) &&
        (lab === undefined || x.state.lab === lab || x.state.instance === lab) &&
        (!m ||
          m(x.state.instance) ||
          (x.state.instance.startsWith(`${x.state.lab}.`) && m(x.state.instance.slice(x.state.lab.length + 1)))),
    )
    .sort(
      (a, b) =>
        a.user.localeCompare(b.user, 'en', { numeric: true }) ||
        a.state.instance.localeCompare(b.state.instance, 'en', { numeric: true }),
    );
}

function userExists(name: string): boolean {
  return readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .some((l) => l.split(':')[0] === name);
}

/** What a command run as a student printed, and how it ended. */
export interface AsStudent {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * This nslab, run as the student whose lab `s` is: their uid, gid and groups, a clean environment with their HOME
 * and the state directory their record is in. Output is collected; `live` also passes stderr on, line by line.
 */
export function asStudent(s: UserLab, args: string[], signal?: AbortSignal): Promise<AsStudent> {
  const nslab = [process.execPath, ...process.execArgv, process.argv[1]!];
  const argv = [`--reuid=${s.uid}`, `--regid=${s.gid}`, '--init-groups', '--', ...nslab, ...args];
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: s.home,
    USER: s.user,
    LOGNAME: s.user,
    NSLAB_STATE_DIR: s.dir,
    ...(process.env.LANG ? { LANG: process.env.LANG } : {}),
    ...(process.env.NO_COLOR !== undefined ? { NO_COLOR: process.env.NO_COLOR } : {}),
    ...(process.env.FORCE_COLOR !== undefined ? { FORCE_COLOR: process.env.FORCE_COLOR } : {}),
  };
  let child: ChildProcess;
  return new Promise<AsStudent>((resolve) => {
    child = spawn('setpriv', argv, { cwd: '/', env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const stop = () => child.kill('SIGTERM');
    signal?.addEventListener('abort', stop, { once: true });
    child.on('error', (e) => resolve({ code: 127, stdout, stderr: stderr + `setpriv: ${e.message}\n` }));
    child.on('close', (code, sig) => {
      signal?.removeEventListener('abort', stop);
      resolve({ code: code ?? (sig ? 128 + 15 : 1), stdout, stderr });
    });
  });
}

/** Runs `job` over `items`, at most `bound` at a time, results in the items' order. */
export async function bounded<T, R>(items: T[], bound: number, job: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(bound, items.length) }, worker));
  return out;
}

/**
 * The copy of the trainer's lab file a student's nslab reads: the students' file (`nslab exercise`) where the lab
 * has a solution stage, else the file as written (it hides nothing). In a folder of root's (0755, the file 0644):
 * the students can read it (they have it already), not change it. `done()` removes it.
 */
export function gradingCopy(file: string): { path: string; done: () => void } {
  const text = readFileSync(file, 'utf8');
  const copy = loadLab(file).stages.some((s) => s.solution) ? exerciseOf(text, basename(file), { file }).text : text;
  const dir = mkdtempSync(join(tmpdir(), 'nslab-grading-'));
  chmodSync(dir, 0o755);
  const path = join(dir, basename(file));
  writeFileSync(path, copy, { mode: 0o644, flag: 'wx' });
  chmodSync(path, 0o644);
  return { path, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** The last line of what a student's nslab said on stderr (its error), without the `nslab:` prefix. */
const lastError = (r: AsStudent) =>
  (r.stderr.trim().split('\n').filter(Boolean).at(-1) ?? `exit ${r.code}`).replace(/^nslab: /, '');

/**
 * Grades students' labs: `nslab check [COPY] --instance INSTANCE --reporter json` as each student (a rootless check,
 * in their lab's holder), STUDENT_JOBS at a time. A lab that could not be graded (gone, its student's nslab failing)
 * fails each test of the stage with the reason, through `notRun`, so that every student has their rows.
 */
export async function gradeStudents(
  labs: UserLab[],
  o: {
    copy?: string;
    /** The trainer's lab, of which `copy` is the students' file: results name its file and places. */
    model?: LabModel;
    stage?: string;
    signal?: AbortSignal;
    notRun: (s: UserLab, reason: string) => LabRun;
    onRun?: (s: UserLab, run: LabRun) => void;
  },
): Promise<LabRun[]> {
  return bounded(labs, STUDENT_JOBS, async (s) => {
    if (o.signal?.aborted) return { ...o.notRun(s, 'interrupted'), user: s.user };
    const args = [
      'check',
      ...(o.copy ? [o.copy] : []),
      '--instance',
      s.state.instance,
      '--reporter',
      'json',
      ...(o.stage !== undefined ? ['--stage', o.stage] : []),
    ];
    const r = await asStudent(s, args, o.signal);
    let run: LabRun | undefined;
    if (r.code === 0 || r.code === 1)
      try {
        run = (JSON.parse(r.stdout) as { labs: LabRun[] }).labs[0];
      } catch {
        run = undefined;
      }
    const graded: LabRun = run
      ? {
          ...run,
          ...(o.model ? { file: o.model.file, tests: run.tests.map((t) => atTrainers(t, o.model!)) } : {}),
          user: s.user,
        }
      : { ...o.notRun(s, lastError(r)), user: s.user };
    o.onRun?.(s, graded);
    return graded;
  });
}

/** A test graded with the students' copy, placed in the trainer's file (the copy's lines differ, and it is gone). */
function atTrainers(t: TestResult, model: LabModel): TestResult {
  const mine = model.stages.find((s) => s.name === t.stage)?.tests.find((x) => x.name === t.name);
  return { ...t, file: model.file, ...(mine ? { at: `${mine.at.file}:${mine.at.line}:${mine.at.col}` } : {}) };
}

/**
 * One nslab command per student, as that student (at most STUDENT_JOBS at once): what each printed, said with the
 * student's name; a failure on stderr. Exit 1 if any failed.
 */
async function asEachStudent(labs: UserLab[], argvOf: (s: UserLab) => string[]): Promise<number> {
  let failed = 0;
  const done = await bounded(labs, STUDENT_JOBS, (s) => asStudent(s, argvOf(s)));
  labs.forEach((s, i) => {
    const r = done[i]!;
    if (r.code === 0) process.stdout.write(`${r.stdout.trimEnd()} of user '${s.user}'\n`);
    else {
      failed++;
      process.stderr.write(`nslab: lab '${s.state.instance}' of user '${s.user}': ${lastError(r)}\n`);
    }
  });
  return failed ? 1 : 0;
}

/** `down` of a student's lab: their own `nslab down INSTANCE`, as them (it ends the holder, removes the record). */
export const downStudents = (labs: UserLab[]): Promise<number> =>
  asEachStudent(labs, (s) => ['down', s.state.instance]);

// a verb of nslab's, not a program: written apart from its options, which the requirements scan would read as one
const VERB_RESET = 'reset';

/**
 * `reset` of students' labs: `nslab reset --instance INSTANCE [--stage S]` as each student, from the file each
 * brought the lab up with (the students' file: a copy of the trainer's would be gone after this command, and the lab
 * is graded with the trainer's anyway).
 */
export const resetStudents = (labs: UserLab[], stage: string | undefined): Promise<number> =>
  asEachStudent(labs, (s) => [
    VERB_RESET,
    '--instance',
    s.state.instance,
    ...(stage !== undefined ? ['--stage', stage] : []),
  ]);

export type { UserLab };

/**
 * What `check` and `reset` act on as root: the students' labs (with --instance or --user) and root's own (unless
 * --user narrows it to one user). An --instance pattern that matches none of root's labs is no error where it matches
 * students'.
 */
export async function labsToActOn(
  labArg: string | undefined,
  opts: { instance?: string; user?: string },
): Promise<{ students: UserLab[]; states: LabState[] }> {
  const students =
    opts.instance !== undefined || opts.user !== undefined ? await studentLabs(labArg, opts.instance, opts.user) : [];
  if (opts.user !== undefined && !students.length)
    throw new UsageError(
      `user '${opts.user}' has no lab left up${labArg !== undefined ? ` matching '${labArg}'` : ''}${opts.instance !== undefined ? ` with an instance matching '${opts.instance}'` : ''}`,
      "'nslab ls --all-users' lists every user's labs",
    );
  const states =
    opts.user !== undefined
      ? []
      : opts.instance !== undefined
        ? await findInstances(labArg, opts.instance).catch((e: unknown) => {
            if (students.length && e instanceof UsageError) return [];
            throw e;
          })
        : [await findInstance(labArg!)];
  return { students, states };
}

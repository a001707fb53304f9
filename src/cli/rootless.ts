// The verbs without privilege (issue 21): each lab lives in a holder of its own
// (src/engine/holder.ts), recorded in the user's state directory. `up` starts
// the holder and brings the lab up in it (upRootless says how);
// `exec` and `shell` enter it straight into a node; `check`, `explain`,
// `reset` and `snapshot --node` run the same command again inside it; `down`
// ends the holder, and with it everything of the lab.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';
import { EnvironmentError, InterruptedError, UsageError } from '../errors.js';
import { isPrivileged, requireTools } from '../engine/capabilities.js';
import {
  enterArgv,
  HOLDER_ENV,
  HOLDER_STATE_DIR,
  holderAlive,
  killHolder,
  startHolder,
  type Holder,
} from '../engine/holder.js';
import type { HolderChannel } from '../engine/holder-channel.js';
import { preflightInHolder, upInHolder, wantsInnerNslab } from '../engine/holder-up.js';
import { programsFor } from '../engine/requirements.js';
import { withSignals } from '../engine/signals.js';
import { rootlessProblem } from '../engine/rootless.js';
import { enterNodeArgv, refuseFilesWithoutRoot } from '../engine/node-mounts.js';
import {
  claim,
  creatingState,
  logDirOf,
  me,
  ownerAlive,
  removeState,
  validState,
  writeState,
  type LabState,
} from '../engine/state.js';
import type { LabModel } from '../lab/model.js';
import { buildPlan } from '../plan/build.js';
import { instanceName, randomId } from '../plan/names.js';
import { exitStatus, findInstance, findInstances } from './common.js';
import { upReport } from './up-report.js';

/**
 * Whether this verb runs through holders: no privilege here. Inside a holder an
 * nslab has its user namespace's capabilities; if it has not, something took
 * them (a holder is never started from inside one).
 */
export function rootlessHere(): boolean {
  if (isPrivileged()) return false;
  if (process.env[HOLDER_ENV] === '1')
    throw new EnvironmentError(
      "this nslab runs inside a lab's holder, but without its capabilities",
      `unset ${HOLDER_ENV}; nslab sets it only for the nslab it runs inside a holder`,
    );
  return true;
}

/** The programs rootless labs need (exit 3 naming the first missing), before anything is made. */
export function requireRootlessLabs(): void {
  requireTools(programsFor('lab', 'rootless'));
}

/**
 * Starts a lab's holder. Whether user namespaces are allowed here is not tried first (that trial, `unshare ...
 * true`, cost 0.1-0.3 s of every rootless up): the holder's own start is the trial, and only if it fails is the
 * cause looked for (doctor's trial), so that the message still says why and the fix (exit 3).
 */
async function holderFor(instance: string): Promise<{ holder: Holder; channel: HolderChannel }> {
  try {
    return await startHolder(instance);
  } catch (e) {
    const problem = await rootlessProblem();
    if (problem)
      throw new EnvironmentError(
        `a lab without root needs an unprivileged user namespace: ${problem.reason}`,
        `${problem.fix}; or run as root`,
      );
    throw e;
  }
}

/** The environment of an nslab inside a holder: the holder's own state directory. */
function innerEnv(): NodeJS.ProcessEnv {
  return { ...process.env, NSLAB_STATE_DIR: HOLDER_STATE_DIR, [HOLDER_ENV]: '1' };
}

/** This same nslab command, as it was given. */
const sameCommand = () => [process.execPath, ...process.execArgv, ...process.argv.slice(1)];

/** The holder of a recorded lab, refused (exit 3) if it is gone. */
export function liveHolder(state: LabState): { pid: number; start: string } {
  if (!state.holder)
    throw new EnvironmentError(
      `lab '${state.instance}' has no holder yet (${state.status} by pid ${state.owner.pid})`,
      ownerAlive(state) ? 'wait until its nslab up has ended' : "'nslab cleanup' removes what is left of it",
    );
  if (!holderAlive(state.holder))
    throw new EnvironmentError(
      `lab '${state.instance}' is gone: its holder (pid ${state.holder.pid}) has ended, and its namespaces with it`,
      `'nslab cleanup' removes its record, 'nslab up' brings it up again`,
    );
  return state.holder;
}

/**
 * `nslab up` without privilege: the record first (claimed, as for root), then
 * the holder, then the lab in it: brought up from here through the holder's
 * channel (holder-up.ts), or, if it has services or files, by the same
 * `nslab up` run inside the holder. Anything that fails or is interrupted ends
 * the holder and removes the record: nothing is left.
 */
export async function upRootless(model: LabModel, id: string | undefined, stage: string | undefined): Promise<number> {
  requireRootlessLabs();
  refuseFilesWithoutRoot(model); // before anything is made (the nslab inside would refuse it too)
  const plan = buildPlan(model, { instance: instanceName(model.name, id), stage });
  const inner = wantsInnerNslab(model);
  const state: LabState = creatingState(model, plan);
  // caught from the claim on: a signal before the nslab inside runs must still end the holder and remove the record
  const caught = catchSignals();
  claim(state);
  let code = 1;
  let channel: HolderChannel | undefined;
  try {
    const t0 = performance.now();
    const started = await holderFor(plan.instance);
    channel = started.channel;
    state.holder = started.holder;
    writeState(state);
    caught.check();
    // the channel stays open until the lab is recorded up: if this process dies before (even by SIGKILL), the holder's
    // PID 1 sees its input end without "done" and ends, and the lab with it; no live holder behind a dead `up`
    if (inner) {
      // services and files: by the nslab inside, which prints what follows
      code = await runInside(state.holder, sameCommand(), caught);
      if (code === 0) upAndReleased(state, channel, caught);
    } else {
      // what root's up checks first; here once the holder runs, since its start is the trial of user namespaces
      // (kernelFeatures' trial without privilege needs one too, and would otherwise blame a missing qdisc): a
      // failure ends the holder and removes the record, nothing is left
      await preflightInHolder(model, plan);
      const [ch, holder] = [channel, state.holder];
      const up = await withSignals((signal) => upInHolder(model, plan, holder, ch.runner(signal), signal));
      upAndReleased(state, channel, caught);
      code = 0;
      process.stdout.write(upReport(up, Math.round(performance.now() - t0)));
    }
    return code;
  } finally {
    if (code !== 0) {
      channel?.abandon();
      if (state.holder) await killHolder(state.holder);
      removeState(state.instance);
    }
    caught.release();
  }
}

/**
 * A rootless lab that came up: recorded up, then its holder released (it lives on). A signal that came meanwhile is
 * the command's end (exit 130/143, the caller ends the holder). Recorded before the release: killed in between, the
 * record names a holder that ended with its channel (`ls` says gone), never a live holder of a lab still coming up.
 * A holder that died before the release (its last answer given) is a failure, not an `up`.
 */
function upAndReleased(state: LabState, channel: HolderChannel, caught: Caught): void {
  caught.check();
  state.status = 'up';
  writeState(state);
  channel.release();
  if (!holderAlive(state.holder))
    throw new EnvironmentError(
      `rootless: the holder of lab '${state.instance}' ended as the lab came up`,
      "'nslab doctor' says what keeps rootless labs from running here",
    );
}

interface Caught {
  /** Throws the interruption if a signal came (exit 130 or 143). */
  check(): void;
  /** The nslab inside, to which SIGTERM and SIGHUP are passed on (Ctrl-C reaches it directly: same process group). */
  attach(child: ChildProcess | undefined): void;
  release(): void;
}

/**
 * SIGINT, SIGTERM and SIGHUP for the whole of a command that records a lab: remembered (so that the command unwinds
 * instead of dying with its record and holder left behind) and passed on to the nslab inside once it runs.
 */
function catchSignals(): Caught {
  let got: NodeJS.Signals | undefined;
  let child: ChildProcess | undefined;
  const on = (sig: NodeJS.Signals) => () => {
    got ??= sig;
    if (sig !== 'SIGINT') child?.kill(sig);
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, on(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  return {
    check: () => {
      if (got) throw new InterruptedError(got);
    },
    attach: (c) => {
      child = c;
    },
    release: () => {
      for (const [s, h] of handlers) process.off(s, h);
    },
  };
}

/**
 * Runs argv inside a holder, as a child whose end is awaited. A terminal's
 * Ctrl-C reaches it directly (same process group); SIGTERM and SIGHUP sent to
 * this process are passed on, and its exit status is returned.
 */
function runInside(holder: { pid: number; start: string }, argv: string[], caught?: Caught): Promise<number> {
  const full = enterArgv(holder, argv);
  const signals = caught ?? catchSignals();
  const child = spawn(full[0]!, full.slice(1), { stdio: 'inherit', env: innerEnv() });
  signals.attach(child);
  return new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c, sig) => resolve(c ?? 128 + (sig ? constants.signals[sig] : 0)));
  }).finally(() => {
    signals.attach(undefined);
    if (!caught) signals.release();
  });
}

/** `exec` and `shell`: straight into the node, `ip netns exec` inside the holder (no nslab in between). */
export function enterNode(state: LabState, ns: string, argv: string[], env?: NodeJS.ProcessEnv): number {
  const holder = liveHolder(state);
  const full = enterArgv(holder, enterNodeArgv(ns, argv, HOLDER_STATE_DIR));
  return exitStatus(spawnSync(full[0]!, full.slice(1), { stdio: 'inherit', env: env ?? process.env }));
}

/** `check`, `explain`, `reset`, `snapshot --node`: the same command, run by the nslab inside the lab's holder. */
export async function sameInside(state: LabState): Promise<number> {
  return runInside(liveHolder(state), sameCommand());
}

/** `down` of a rootless lab: its holder ends, and everything of the lab with it. */
export async function downRootless(state: LabState): Promise<void> {
  if (state.status !== 'up' && ownerAlive(state))
    throw new UsageError(
      `lab '${state.instance}' is ${state.status} by pid ${state.owner.pid}, which is running`,
      'wait until it has ended, or interrupt it (Ctrl-C): it then takes its lab down itself',
    );
  if (state.holder) await killHolder(state.holder);
  removeState(state.instance);
}

/** Whether a record is of a lab that is gone: its holder ended (or never started, and its `up` is gone). */
export function rootlessGone(state: LabState): boolean {
  return state.holder ? !holderAlive(state.holder) : !ownerAlive(state);
}

/**
 * The one lab a rootless `check` or `reset` acts on: LAB, or the one lab of the user's that --instance PATTERN
 * matches (as root's nslab names a student's lab when it grades it as them, src/cli/trainer.ts). Each lab is in a
 * holder of its own: several at once are root's.
 */
export async function rootlessOne(
  labArg: string | undefined,
  pattern: string | undefined,
  verb: string,
): Promise<LabState> {
  const several = () =>
    new EnvironmentError(
      `${verb} --instance PATTERN of several labs needs root: without it, name one lab (nslab ${verb} LAB)`,
      `run nslab ${verb} once per lab ('nslab ls' lists them), or as root`,
    );
  if (pattern === undefined) {
    if (labArg === undefined) throw several();
    return findInstance(labArg);
  }
  const found = await findInstances(labArg, pattern);
  if (found.length !== 1) throw several();
  return found[0]!;
}

/**
 * `nslab test --keep` without privilege, for one lab: the run happens in a holder, recorded first under a name of
 * its own (status testing: `cleanup` ends it if this process dies). A lab the run keeps is recorded under its own
 * instance with that holder, which then lives on; otherwise the holder ends with the run.
 */
export async function testKeepRootless(lab: string): Promise<number> {
  requireRootlessLabs();
  const run = runRecord(lab);
  const caught = catchSignals();
  claim(run);
  let kept: LabState | undefined;
  let channel: HolderChannel | undefined;
  try {
    const started = await holderFor(run.instance);
    channel = started.channel; // open until a kept lab is recorded: this process dying ends the holder before
    run.holder = started.holder;
    writeState(run);
    caught.check();
    const code = await runInside(run.holder, sameCommand(), caught);
    const k = keptInside(run.holder, run.instance);
    if (k) {
      claim(k); // if this fails, the holder ends below: nothing is left without a record
      kept = k;
      channel.release();
    }
    return code;
  } finally {
    removeState(run.instance);
    if (!kept) {
      channel?.abandon();
      if (run.holder) await killHolder(run.holder);
    }
    caught.release();
  }
}

/** The record of a holder that a run uses (status testing: `cleanup` ends it if the run's process dies). */
function runRecord(lab: string): LabState {
  const instance = instanceName(lab, randomId());
  return {
    version: 1,
    instance,
    lab,
    file: '',
    status: 'testing',
    owner: me(),
    createdAt: new Date().toISOString(),
    namespaces: [],
    services: [],
    stages: [],
    logDir: logDirOf(instance),
  };
}

/**
 * `nslab run -- COMMAND` without privilege (the API without root): the command runs inside a holder of its own, with
 * that user namespace's capabilities, so that the labs it brings up (vitest with nslab's API) are made in there as
 * root's are on the machine. The holder is recorded while it runs (`ls` shows it, `cleanup` ends it if this process
 * dies) and ends with the command, taking every lab of it along.
 */
export async function runInHolder(argv: string[]): Promise<number> {
  requireRootlessLabs();
  const run = runRecord('nslab-run');
  const caught = catchSignals();
  claim(run);
  let channel: HolderChannel | undefined;
  try {
    const started = await holderFor(run.instance);
    channel = started.channel; // never released: the holder ends with the command, or with this process
    run.holder = started.holder;
    writeState(run);
    caught.check();
    return await runInside(run.holder, argv, caught);
  } finally {
    channel?.abandon();
    if (run.holder) await killHolder(run.holder);
    removeState(run.instance);
    caught.release();
  }
}

/**
 * The lab a run inside a holder left up, from the records in there (`nslab ls --json` inside), as the user's record
 * of it: checked as every record is (its namespaces are the names its instance yields), naming the holder.
 */
function keptInside(holder: { pid: number; start: string }, run: string): LabState | undefined {
  const full = enterArgv(holder, [process.execPath, ...process.execArgv, process.argv[1]!, 'ls', '--json']);
  const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', env: innerEnv() });
  if (r.status !== 0) return undefined;
  let all: Partial<LabState>[];
  try {
    all = JSON.parse(r.stdout) as Partial<LabState>[];
  } catch {
    return undefined;
  }
  const k = all.find((s) => s.status === 'up' && s.instance !== run);
  if (!k?.instance) return undefined;
  const record = {
    version: 1,
    instance: k.instance,
    lab: k.lab,
    file: k.file,
    status: 'up',
    owner: me(),
    createdAt: k.createdAt,
    namespaces: k.namespaces,
    services: [],
    stages: k.stages,
    logDir: logDirOf(k.instance),
    holder,
  };
  return validState(record, k.instance);
}

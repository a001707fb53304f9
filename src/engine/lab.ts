// A running lab: bring it up from a checked model, run commands in its nodes,
// apply stages, take it down. The same engine serves the CLI and the API.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError, LabFileError, UsageError } from '../errors.js';
import type { LabModel, ServiceModel } from '../lab/model.js';
import { startStep } from '../plan/config.js';
import { buildPlan, buildStagePlan } from '../plan/build.js';
import { instanceName, nsName } from '../plan/names.js';
import type { Step } from '../plan/step.js';
import { executeSteps, pool } from './apply.js';
import { etcDirOf, etcExists, writeTableNames } from './etc-netns.js';
import {
  fileOwnerProblems,
  hasMountNs,
  makeMount,
  planMounts,
  refuseFilesWithoutRoot,
  withoutRoot,
  writeFiles,
  type NodeMount,
  type Target,
} from './node-mounts.js';
import { kernelFeatures, requireRoot, requireTools } from './capabilities.js';
import { isRunning, netnsInode, startTime, stopAll } from './proc.js';
import { programsFor } from './requirements.js';
import { RealRunner, type Result, type Runner } from './runner.js';
import { Liveness } from './liveness.js';
import { serviceError, type Failed } from './service-logs.js';
import { readyText, waitReady } from './readiness.js';
import { asUser, checkServiceHosts, lookupUser } from './service-env.js';
import {
  claim,
  creatingState,
  mkdirPrivate,
  readState,
  removeState,
  writeState,
  type LabState,
  type ServiceState,
} from './state.js';
import { teardown } from './teardown.js';

export interface UpOptions {
  /** Instance id for a concurrent copy; namespaces become nslab-<lab>.<id>-<node>. */
  id?: string;
  stage?: string;
  runner?: Runner;
  signal?: AbortSignal;
  jobs?: number;
  /**
   * 'up' leaves the lab for the user; 'testing' marks it owned by this process (cleanup may remove it once we are
   * gone).
   */
  status?: 'up' | 'testing';
  /**
   * Called once every node is configured, before the services are started and
   * given time to settle: work that needs the nodes (a test run's captures) may
   * start there. If the bring-up then fails, its unwinding stops every process
   * in the lab's namespaces, that work's included, once `unwinding` has ended it
   * (work still starting could otherwise enter a namespace after the sweep).
   */
  configured?: (lab: Lab) => void;
  /** Called before a bring-up that failed after `configured` is unwound: ends that work. */
  unwinding?: (lab: Lab) => Promise<void>;
  /**
   * Called as soon as the lab's record exists, before anything is created: the
   * API starts the lab's reaper there, so that a process killed while its lab
   * comes up (vitest ends a worker whose main process is gone) leaves nothing.
   */
  claimed?: (state: LabState) => void;
  /**
   * Where this run keeps its artifacts (resolved only when needed): the log of
   * a service that exits as it starts is kept in DIR/INSTANCE/ (the lab's own
   * log directory goes with the lab), and the failure names the copy.
   */
  artifacts?: () => string;
}

/** How long a stage's signal waits to see whether the service dies of it. */
const SIGNAL_SETTLE_MS = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Lab {
  /** Where the logs of services that fail to start are kept: UpOptions.artifacts. */
  private artifacts: (() => string) | undefined;
  /** Which services are alive, and how those that died ended (liveness.ts). */
  readonly liveness = new Liveness();

  private constructor(
    readonly model: LabModel | undefined,
    public state: LabState,
    readonly runner: Runner,
  ) {}

  get instance(): string {
    return this.state.instance;
  }

  static async up(model: LabModel, opts: UpOptions = {}): Promise<Lab> {
    const runner = opts.runner ?? new RealRunner(opts.signal);
    const plan = buildPlan(model, { instance: instanceName(model.name, opts.id), stage: opts.stage });
    if (!opts.runner) await preflight(model, plan.steps);
    // table names for `ip netns exec` live in /etc/netns: only with the real runner (a recording one touches nothing)
    const names = opts.runner ? [] : (plan.tableNames ?? []);
    // each host node's own mount namespace (its /run, its files): only with the real runner, as the names
    const mounts = opts.runner ? [] : planMounts(model, plan.instance);
    const state: LabState = {
      ...creatingState(model, plan),
      ...(names.length ? { etc: names.map((t) => t.ns) } : {}),
      ...(mounts.length ? { mnt: mounts.map((m) => m.ns) } : {}),
    };
    opts.signal?.throwIfAborted(); // interrupted while checking: nothing recorded, nothing made
    claim(state); // recorded before anything exists, so any failure can be unwound
    opts.claimed?.(state);
    const lab = new Lab(model, state, runner);
    lab.artifacts = opts.artifacts;
    // Only what this run creates is ever unwound. A namespace of the same name
    // can only exist if another state directory recorded this instance: refuse.
    const created = new Set<string>();
    const createdEtc = new Set<string>();
    const createdMnt = new Set<string>();
    const taken = opts.runner
      ? []
      : [
          ...plan.namespaces.filter((n) => netnsInode(n.ns) !== undefined).map((n) => `namespace ${n.ns}`),
          ...names.filter((t) => etcExists(t.ns)).map((t) => `/etc/netns/${t.ns}`),
          ...mounts.filter((m) => hasMountNs(m.ns)).map((m) => `the mount namespace file of ${m.ns}`),
        ];
    if (taken.length) {
      removeState(state.instance);
      throw new UsageError(
        `${taken[0]} already exists: instance '${state.instance}' is up under another state directory, or something else uses the name`,
        `bring up another copy with --instance ID, or take that one down with the state directory that recorded it`,
      );
    }
    let configured = false;
    try {
      for (const t of names) writeTableNames(t, () => createdEtc.add(t.ns));
      await executeSteps(plan.steps, runner, opts.jobs ?? availableParallelism(), opts.signal, created);
      await lab.makeMounts(mounts, new Set(names.map((t) => t.ns)), createdMnt, opts.jobs, opts.signal);
      configured = true;
      opts.configured?.(lab);
      await lab.startServices(plan.steps, opts.signal);
      opts.signal?.throwIfAborted();
      lab.state.status = opts.status ?? 'up';
      writeState(lab.state);
      return lab;
    } catch (e) {
      if (configured) await opts.unwinding?.(lab).catch(() => {});
      await teardown(lab.state, runner, opts.runner ? undefined : created, createdEtc, createdMnt);
      throw e;
    }
  }

  /** A lab that is already up, from its state file. */
  static attach(instance: string, model?: LabModel, runner: Runner = new RealRunner()): Lab {
    const state = readState(instance);
    if (!state) throw new UsageError(`no lab instance '${instance}' is up`, "'nslab ls' lists the running labs");
    return new Lab(model, state, runner);
  }

  ns(node: string): string {
    if (!this.state.namespaces.some((n) => n.node === node))
      throw new UsageError(
        `lab '${this.instance}' has no node '${node}'`,
        `nodes: ${this.state.namespaces.map((n) => n.node).join(', ')}`,
      );
    return nsName(this.instance, node);
  }

  /** Runs a command inside a node; never throws on a non-zero exit. */
  exec(
    node: string,
    argv: string[],
    opts: { input?: string; timeoutMs?: number; etc?: boolean } = {},
  ): Promise<Result> {
    return this.runner.run({ argv, ns: this.ns(node), ...opts });
  }

  /**
   * The nodes' mount namespaces (node-mounts.ts), in parallel, each with its base files; `made` collects those this
   * run created.
   */
  private async makeMounts(
    mounts: NodeMount[],
    withEtc: Set<string>,
    made: Set<string>,
    jobs: number | undefined,
    signal?: AbortSignal,
  ): Promise<void> {
    this.targets = new Map(mounts.map((m) => [m.ns, m.targets]));
    await pool(
      mounts,
      jobs ?? availableParallelism(),
      async (m) => {
        await makeMount(m, withEtc.has(m.ns) ? etcDirOf(m.ns) : undefined, this.runner, () => made.add(m.ns));
        // its base files, then those of the stages it is brought up through (`up --stage`), in order
        const node = this.model!.nodes.find((n) => nsName(this.instance, n.name) === m.ns)!;
        const files = [
          ...node.config.files,
          ...this.state.stages.flatMap(
            (st) => this.model!.stages.find((s) => s.name === st)?.apply.get(node.name)?.files ?? [],
          ),
        ];
        await writeFiles(m.ns, files, m.targets, this.runner);
      },
      signal,
    );
    signal?.throwIfAborted();
  }

  /** Where each node's files land (node-mounts.landing), by namespace; planned again for an attached lab. */
  private targets: Map<string, Map<string, Target>> | undefined;

  /** A stage's files, written into their nodes' mount namespaces. */
  private async stageFiles(name: string): Promise<void> {
    const stage = this.model!.stages.find((s) => s.name === name);
    const todo = [...(stage?.apply ?? [])].filter(([, c]) => c.files.length);
    if (!todo.length) return;
    this.targets ??= new Map(planMounts(this.model!, this.instance).map((m) => [m.ns, m.targets]));
    for (const [node, c] of todo) {
      const ns = this.ns(node);
      if (!this.state.mnt?.includes(ns))
        throw new UsageError(
          `stage '${name}' writes files in node '${node}', which has no mount namespace of its own`,
          'the lab was brought up by an nslab without files per node: take it down and up again',
        );
      await writeFiles(ns, c.files, this.targets.get(ns) ?? new Map<string, Target>(), this.runner);
    }
  }

  /** Applies one stage's settings to the running lab. */
  async applyStage(name: string, signal?: AbortSignal): Promise<void> {
    if (!this.model) throw new Error('applyStage needs the lab model');
    const steps = buildStagePlan(this.model, name, this.instance);
    await executeSteps(steps, this.runner, availableParallelism(), signal);
    // before the stage's services (re)start: a restarted daemon reads its new configuration
    await this.stageFiles(name);
    await this.serviceActions(
      steps.filter((s) => s.tool === 'service' && s.action),
      signal,
    );
    await this.startServices(
      steps.filter((s) => !s.action),
      signal,
    );
    this.state.stages.push(name);
    writeState(this.state);
  }

  async down(): Promise<void> {
    this.state.status = 'removing';
    writeState(this.state);
    await teardown(this.state, this.runner);
  }

  /** `await using lab = await Lab.up(...)`: down at the end of the block. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }

  /** A service of the lab by node and name, as recorded. */
  service(node: string, name: string): ServiceState | undefined {
    return this.state.services.find((s) => s.node === node && s.name === name);
  }

  /** Stops a service (SIGTERM, SIGKILL after 2 s); it is then stopped on purpose, not dead. */
  async stopService(node: string, name: string): Promise<void> {
    const s = this.service(node, name);
    if (!s) throw this.noService(node, name);
    s.stopped = true;
    writeState(this.state);
    await stopAll([{ pid: s.pid, start: s.start }], 2000);
  }

  /** Sends a signal to a running service. */
  signalService(node: string, name: string, sig: NodeJS.Signals): void {
    const s = this.service(node, name);
    if (!s || s.stopped || !isRunning(s.pid, s.start))
      throw new UsageError(
        `cannot send ${sig} to service '${name}' of node '${node}': it is not running`,
        s?.stopped ? 'a stage stopped it: start it first' : 'its log says why it ended',
      );
    process.kill(s.pid, sig);
  }

  /** Starts a service again as it was declared (a step of the plan), after stopping it if it runs. */
  async restartService(step: Step, signal?: AbortSignal): Promise<void> {
    const s = this.service(step.node!, step.service!);
    // one that died is recorded as dead before it is replaced: the next test still reports it
    if (s) await this.liveness.dead([s]);
    if (s && !s.stopped && isRunning(s.pid, s.start)) await this.stopService(step.node!, step.service!);
    await this.startServices([{ ...step, action: undefined }], signal);
  }

  /** Restarts a service of the lab by name, as it was declared (the API's service(name).restart()). */
  async restartNamed(node: string, name: string, signal?: AbortSignal): Promise<void> {
    const def = this.model && declaredService(this.model, node, name);
    if (!def) throw this.noService(node, name);
    await this.restartService(startStep(def, this.ns(node), node), signal);
  }

  /** The error for a service name this lab does not have (the names it has as the hint). */
  noService(node: string, name: string): UsageError {
    const names = this.state.services.filter((s) => s.node === node).map((s) => s.name);
    return new UsageError(
      `node '${node}' of lab '${this.instance}' has no service '${name}'`,
      names.length ? `its services: ${names.join(', ')}` : 'it runs no services',
    );
  }

  /** A stage's stop, start, restart and signal, in order. */
  private async serviceActions(steps: Step[], signal?: AbortSignal): Promise<void> {
    for (const st of steps) {
      const [node, name] = [st.node!, st.service!];
      const s = this.service(node, name);
      const where = st.at ? ` (${st.at.file}:${st.at.line}:${st.at.col})` : '';
      if (st.action === 'stop') {
        if (s && !s.stopped) await this.stopService(node, name);
      } else if (st.action === 'start') {
        if (s && !s.stopped && isRunning(s.pid, s.start))
          throw new UsageError(
            `cannot start service '${name}' of node '${node}'${where}: it is running`,
            'restart: restarts a running service',
          );
        await this.startServices([{ ...st, action: undefined }], signal);
      } else if (st.action === 'restart') await this.restartService(st, signal);
      else {
        this.signalService(node, name, st.signal as NodeJS.Signals);
        // a service that dies of the signal (no handler) is given the time to: the stage's tests then see it dead
        await this.liveness.settle(s!.pid, SIGNAL_SETTLE_MS);
      }
    }
  }

  private async startServices(steps: Step[], signal?: AbortSignal): Promise<void> {
    const svc = steps.filter((s) => s.tool === 'service');
    if (!svc.length) return;
    mkdirPrivate(this.state.logDir);
    const started = svc.map((s) => {
      const log = join(this.state.logDir, `${s.node}-${s.service}.log`);
      const r = s.run ?? {};
      const ids = r.user !== undefined ? lookupUser(r.user) : undefined;
      if (r.user !== undefined && !ids)
        throw new UsageError(
          `service '${s.service}' of node '${s.node}': user '${r.user}' does not exist on this machine`,
        );
      const p = this.runner.start({
        argv: asUser(ids, s.args),
        ns: s.ns!,
        log,
        etc: true, // the node's /etc view: its table names
        ...(r.env ? { env: r.env } : {}),
        ...(r.cwd ? { cwd: r.cwd } : {}),
      });
      // recorded at once: a crash from here on still leaves the pid for cleanup
      const state: ServiceState = { node: s.node!, name: s.service!, pid: p.pid, start: startTime(p.pid), log };
      this.state.services = [...this.state.services.filter((x) => x.node !== s.node || x.name !== s.service), state];
      writeState(this.state);
      this.liveness.watch(p.pid, p.exited);
      return { s, p, log, state };
    });
    // A service that cannot start (no such program, bad flag, a missing config file) exits at once:
    // report how it ended and how its log ends, and keep the log (the lab's log directory goes with the lab)
    const early = await Promise.all(started.map(({ p }) => Promise.race([p.exited, sleep(150).then(() => undefined)])));
    const failed: Failed[] = started.flatMap(({ s, log }, i) =>
      early[i] ? [{ node: s.node!, service: s.service!, argv: s.args, exit: early[i], log }] : [],
    );
    // then each service with `ready` is waited for (together), the wait measured
    if (!failed.length)
      await Promise.all(
        started.map(async ({ s, p, log, state }) => {
          const ready = s.run?.ready;
          if (!ready) return;
          const out = await waitReady(ready, { pid: p.pid, ns: s.ns!, log }, this.runner, p.exited, signal);
          const exit = await Promise.race([p.exited, sleep(0).then(() => undefined)]);
          if (out.ready) state.ready = { what: readyText(ready), ms: Math.round(out.ms) };
          else
            failed.push({
              node: s.node!,
              service: s.service!,
              argv: s.args,
              log,
              ...(exit ? { exit } : {}),
              notReady: `was not ready within ${ready.timeoutMs} ms (waited for ${readyText(ready)})`,
            });
        }),
      );
    writeState(this.state);
    const artifacts = this.artifacts;
    if (failed.length) throw serviceError(failed, artifacts && (() => ({ root: artifacts(), folder: this.instance })));
  }
}

/** A service as the lab declares it: on the node, or in a stage's apply. */
function declaredService(model: LabModel, node: string, name: string): ServiceModel | undefined {
  return [
    ...(model.nodes.find((n) => n.name === node)?.config.services ?? []),
    ...model.stages.flatMap((s) => s.apply.get(node)?.services ?? []),
  ].find((s) => s.name === name);
}

/** What a bring-up checks before it creates anything; without `root`, for a lab brought up in a holder (holder-up.ts). */
export async function preflight(model: LabModel, steps: Step[], root = true): Promise<void> {
  if (root) requireRoot('bringing a lab up (network namespaces)');
  checkServiceHosts(model); // users and working directories: a located error, nothing created
  if (withoutRoot()) refuseFilesWithoutRoot(model); // the reason first: no owner or mode of a file matters then
  const owners = fileOwnerProblems(model);
  if (owners.length) throw new LabFileError(owners);
  // every lab's programs (src/engine/requirements.ts), and those of this lab's steps (tc, nft)
  requireTools(new Set([...programsFor('lab'), ...steps.filter((s) => s.tool !== 'service').map((s) => s.tool)]));
  if (model.needs.length) {
    const have = await kernelFeatures();
    const missing = model.needs.filter((f) => !have[f]);
    if (missing.length)
      throw new EnvironmentError(
        `this lab's links need ${missing.map((f) => `sch_${f}`).join(', ')}, which this kernel lacks`,
        "'nslab doctor' shows what the kernel has",
      );
  }
}

// The API's lab: brought up owned by this process (status `testing`; if the
// process dies, even while the lab comes up, its reaper runs `nslab cleanup` for it), a unique instance id
// by default, taken down on SIGINT/SIGTERM/SIGHUP (also while it is coming up)
// and by `await using`; probes as typed calls.
import { readFileSync } from 'node:fs';
import { stripVTControlCharacters } from 'node:util';
import { fileURLToPath } from 'node:url';
import { formatPath } from '../capture/paths.js';
import { Lab as EngineLab } from '../engine/lab.js';
import { UsageError } from '../errors.js';
import type { LabModel, TestModel } from '../lab/model.js';
import { loadLab } from '../lab/resolve.js';
import { Expect, JUDGES, Probes, unjudged, type ExpectT, type ProbeKind } from '../lab/schema.js';
import { randomId } from '../plan/names.js';
import { PROBES, closeProbes } from '../probes/index.js';
import { privateArtifacts } from '../run/artifacts.js';
import { deadService } from '../run/deaths.js';
import { explainProbe, type ExplainRequest, type Explanation } from '../run/explain.js';
import { explainText } from '../report/explain.js';
import { whyOf } from '../run/why.js';
import { callSite } from './call-site.js';
import { shellFor, type LabNode, type LabService } from './node.js';
import { isRunning } from '../engine/proc.js';
import type { Expectation, ProbeOptions, ProbeResult } from './probes.js';
import { reaped, startReaper } from './reapers.js';
import { untrack, track } from './signals.js';
import { labNames, type LabNames, type Named, type NamesOf } from './names.js';

export interface LabOptions {
  /** Instance id (1-12 of a-z, 0-9); default: a random one, so parallel test files never collide. */
  id?: string;
  /** Bring the lab up with the stages up to this one applied. */
  stage?: string;
  signal?: AbortSignal;
  jobs?: number;
  /**
   * Where failing matchers and pcaps() keep pcap files, and a service that fails to start its log; default: a private
   * directory under the system's tmp.
   */
  artifacts?: string;
}

/**
 * A lab as a file path, a file URL (`new URL('./x.yaml', import.meta.url)`), or a checked model (defineLab, loadLab).
 */
export type LabSource = string | URL | LabModel;

/** The lab of a source: typed names for a `defineLab` model, plain strings for a file. */
export type LabOf<S extends LabSource> = Lab<NamesOf<S>>;

function modelOf(source: LabSource): LabModel {
  if (typeof source === 'string') return loadLab(source);
  if (source instanceof URL) return loadLab(fileURLToPath(source));
  return source;
}

export class Lab<N extends LabNames = LabNames> implements AsyncDisposable, Named<N> {
  /** The lab's names, for the compiler only (never set). */
  declare readonly [labNames]?: N;

  private constructor(
    readonly engine: EngineLab,
    readonly model: LabModel,
    private artifacts: string | undefined,
  ) {}

  /** Brings a lab up for this process; it is taken down by down(), `await using`, or a signal. */
  static async up<S extends LabSource>(source: S, opts: LabOptions = {}): Promise<LabOf<S>> {
    const model = modelOf(source);
    // a signal while the lab comes up aborts the bringing up, which unwinds what it created
    const ac = new AbortController();
    const signal = opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal;
    let coming: Promise<EngineLab> | undefined;
    const pending = {
      down: async () => {
        ac.abort(new Error('interrupted'));
        await coming?.catch(() => {});
      },
    };
    track(pending);
    let engine: EngineLab;
    let instance: string | undefined;
    try {
      // status testing: owned by this process, so `nslab cleanup` may remove it once the process is gone
      // its reaper starts with its record, before anything exists: from then on, a death of this process at any moment
      // is covered
      const claimed = (s: { owner: { pid: number; start?: string }; instance: string }) => {
        instance = s.instance;
        startReaper(s.owner, s.instance);
      };
      // the log of a service that fails to start is kept where pcaps are
      const artifacts = () => opts.artifacts ?? privateArtifacts();
      engine = await (coming = EngineLab.up(model, {
        id: opts.id ?? randomId(),
        stage: opts.stage,
        signal,
        jobs: opts.jobs,
        status: 'testing',
        claimed,
        artifacts,
      }));
    } catch (e) {
      if (instance) reaped(instance); // unwound: nothing left to reap
      throw e;
    } finally {
      untrack(pending);
    }
    const lab = new Lab<NamesOf<S>>(engine, model, opts.artifacts);
    track(lab);
    return lab;
  }

  get instance(): string {
    return this.engine.instance;
  }
  get name(): string {
    return this.model.name;
  }

  /** A node of the lab: its namespace, `$` (execa template) and exec. */
  node(name: N['node']): LabNode {
    const ns = this.engine.ns(name);
    return {
      name,
      ns,
      $: shellFor(ns),
      exec: (argv, o) => this.engine.exec(name, argv, o),
      service: (svc) => this.service(name, svc),
    };
  }

  private service(node: string, name: string): LabService {
    const engine = this.engine;
    if (!engine.service(node, name)) throw engine.noService(node, name);
    // looked up at each use: a restart records a new process
    const now = () => engine.service(node, name)!;
    return {
      node,
      name,
      get alive() {
        const s = now();
        return !s.stopped && isRunning(s.pid, s.start);
      },
      get pid() {
        return now().pid;
      },
      logs: () => readFileSync(now().log, 'utf8'),
      restart: () => engine.restartNamed(node, name),
      stop: () => engine.stopService(node, name),
      signal: (sig) => engine.signalService(node, name, sig),
    };
  }

  /** Runs an argv inside a node; never throws on a non-zero exit. */
  exec(node: N['node'], argv: string[], opts?: { input?: string; timeoutMs?: number }) {
    return this.engine.exec(node, argv, opts);
  }

  /** Applies a stage of the lab's definition to the running lab. */
  applyStage(name: N['stage'], signal?: AbortSignal): Promise<void> {
    return this.engine.applyStage(name, signal);
  }

  /**
   * `nslab explain` for this lab: one probe (a ping by default) from a node to a target, its trace per direction
   * and, where the path goes wrong, the kernel's decision, the cause and a fix (or "no fix found"). `ok` is true
   * when both directions are delivered and the reply retraces the request; `text` is what `nslab explain` prints.
   */
  async explain(request: ExplainRequest & { from: N['node'] }): Promise<Explanation & { text: string }> {
    const x = await explainProbe(this.engine, this.model, request);
    return { ...x, text: stripVTControlCharacters(explainText(x)) };
  }

  ping(options: ProbeOptions<'ping'>, expect?: Expectation) {
    return this.probe('ping', options, expect);
  }
  tcp(options: ProbeOptions<'tcp'>, expect?: Expectation) {
    return this.probe('tcp', options, expect);
  }
  udp(options: ProbeOptions<'udp'>, expect?: Expectation) {
    return this.probe('udp', options, expect);
  }
  /** An HTTP request by nslab's client to a service of the lab (docs/tests.md, application probes). */
  http(options: ProbeOptions<'http'>, expect?: Expectation) {
    return this.probe('http', options, expect);
  }
  route(options: ProbeOptions<'route'>, expect?: Expectation) {
    return this.probe('route', options, expect);
  }
  flows(options: ProbeOptions<'flows'>, expect?: Expectation) {
    return this.probe('flows', options, expect);
  }
  throughput(options: ProbeOptions<'throughput'>, expect?: Expectation) {
    return this.probe('throughput', options, expect);
  }
  /** The exec probe: a command's exit status and output as checks (for execa's idioms, see node(name).$). */
  run(options: ProbeOptions<'exec'>, expect?: Expectation) {
    return this.probe('exec', options, expect);
  }

  /** Runs one probe of the lab file's kinds; options checked by the lab file's schema. */
  async probe<K extends ProbeKind>(
    kind: K,
    options: ProbeOptions<K>,
    expect: Expectation = {},
  ): Promise<ProbeResult<K, N>> {
    const at = callSite();
    const where = `${at.file}:${at.line}:${at.col}`;
    const spec = parse(Probes[kind], options, `${kind} options`, where) as Record<string, unknown>;
    const ex = parse(Expect, expect, 'expectation', where) as ExpectT;
    const unjudgedKeys = unjudged(kind, ex);
    if (unjudgedKeys.length)
      throw new UsageError(
        `${where}: the ${kind} probe cannot judge ${unjudgedKeys.map((k) => `'${k}'`).join(', ')}: nothing would check it`,
        `the ${kind} probe judges: ${JUDGES[kind].join(', ')}`,
      );
    // an unknown node: a UsageError naming the nodes (a route probe's from is an address)
    for (const k of kind === 'route' ? ['node'] : ['from', 'node'])
      if (typeof spec[k] === 'string') this.engine.ns(spec[k]);
    const test: TestModel = { name: `${kind} ${where}`, probe: kind, spec, expect: ex, requires: [], at };
    const out = await PROBES[kind]({ lab: this.engine, model: this.model, test });
    // as `nslab test` at a test's end: the services dead now, and those found dead before that no probe reported
    const services = (await this.engine.liveness.forTest(this.engine.state.services)).map((d) =>
      deadService(d, () => ({ root: this.artifactDir(), folder: this.instance })),
    );
    let saved: string[] | undefined;
    const { judge, tracesFor, ...rest } = out;
    const engine = this.engine;
    const model = this.model;
    return {
      ...rest,
      probe: kind,
      options,
      at: where,
      ok: out.checks.every((c) => c.ok) && !services.length,
      services,
      requestPath: out.request && formatPath(out.request),
      replyPath: out.reply && formatPath(out.reply),
      judge: (e: Expectation) => judge(parse(Expect, e, 'expectation', where) as ExpectT),
      // asked of the lab as it is now, with the stages applied so far: as `nslab test` asks at the test's end
      why: async (e: Expectation) => {
        const ex = parse(Expect, e, 'expectation', where) as ExpectT;
        const traces = tracesFor?.(ex);
        if (!traces && kind !== 'route') return undefined;
        return whyOf(engine, model, { probe: kind, spec, expect: ex }, traces, out.evidence?.counters);
      },
      pcaps: () =>
        (saved ??= out.evidence
          ? out.evidence.save(this.artifactDir(), this.instance, `${kind}-${at.line}-${Date.now().toString(36)}`)
          : []),
    };
  }

  private artifactDir(): string {
    return this.artifacts ?? privateArtifacts();
  }

  /** Takes the lab down (idempotent). */
  async down(): Promise<void> {
    if (!untrack(this)) return;
    await closeProbes(this.engine);
    await this.engine.down();
    reaped(this.instance);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.down();
  }
}

function parse(
  schema: {
    safeParse(v: unknown):
      | { success: true; data: unknown }
      | {
          success: false;
          error: { issues: { path: PropertyKey[]; message: string; code: string; keys?: string[] }[] };
        };
  },
  value: unknown,
  what: string,
  where: string,
): unknown {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) =>
    i.code === 'unrecognized_keys'
      ? `unknown key${i.keys!.length > 1 ? 's' : ''} ${i.keys!.map((k) => `'${k}'`).join(', ')}`
      : `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`,
  );
  throw new UsageError(
    `${where}: invalid ${what}: ${lines.join('; ')}`,
    'the options are those of the lab file format (docs/lab-format.md)',
  );
}

// A node of a running lab, with execa's idioms: lab.node('server').$`ip -j route`
// runs inside the node's namespace (`ip netns exec`, as `nslab exec` does) and
// gives execa's result (stdout, stderr, exitCode, failed ...).
import { execa, type Options, type ResultPromise, type TemplateExpression } from 'execa';
import type { Result } from '../engine/runner.js';

/** The `$` of a node: a template tag, or, given options, a template tag with those options (as execa's). */
export interface NodeShell {
  // {}: execa's own type for "no options", as its $ returns it
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  (strings: TemplateStringsArray, ...values: TemplateExpression[]): ResultPromise<{}>;
  <O extends Options>(options: O): (strings: TemplateStringsArray, ...values: TemplateExpression[]) => ResultPromise<O>;
}

export interface LabNode {
  readonly name: string;
  /** The network namespace's name (for `ip netns exec`, `nsenter --net=/run/netns/NAME`). */
  readonly ns: string;
  /** Runs a command in the node, zx/execa style: words split, `${values}` each one argument, never a shell. */
  readonly $: NodeShell;
  /** Runs an argv in the node; never throws on a non-zero exit. */
  exec(argv: string[], opts?: { input?: string; timeoutMs?: number }): Promise<Result>;
  /** A service the lab runs in this node (declared on it, or by a stage applied); unknown names throw. */
  service(name: string): LabService;
}

/** A service of a running lab. */
export interface LabService {
  readonly node: string;
  readonly name: string;
  /** Whether it runs now (false once it exited, was killed, or was stopped). */
  readonly alive: boolean;
  /** Its pid (the program's: nslab execs it). */
  readonly pid: number;
  /** Everything it has written (stdout and stderr) so far. */
  logs(): string;
  /** Stops it (SIGTERM, SIGKILL after 2 s) and starts it again as declared, waiting for its `ready`. */
  restart(): Promise<void>;
  /** Stops it on purpose: not reported as dead. */
  stop(): Promise<void>;
  /** Sends it a signal, e.g. 'SIGHUP'. */
  signal(sig: NodeJS.Signals): void;
}

function isTemplate(v: unknown): v is TemplateStringsArray {
  return Array.isArray(v) && Array.isArray((v as unknown as TemplateStringsArray).raw);
}

/**
 * A template tag that prefixes `ip netns exec NS` and leaves all parsing to
 * execa (quoting, escapes, arrays, adjacent values): the node's namespace
 * becomes the template's first value.
 */
export function shellFor(ns: string, options: Options = {}): NodeShell {
  return ((first: unknown, ...values: TemplateExpression[]) => {
    if (!isTemplate(first)) return shellFor(ns, { ...options, ...(first as Options) });
    const cooked = ['ip netns exec ', ` ${first[0]}`, ...first.slice(1)];
    const raw = ['ip netns exec ', ` ${first.raw[0]}`, ...first.raw.slice(1)];
    const tpl = Object.assign(cooked, { raw }) as unknown as TemplateStringsArray;
    return execa(options)(tpl, ns, ...values);
  }) as NodeShell;
}

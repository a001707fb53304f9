// The only place nslab runs programs. A Runner takes an argv (never a shell
// string) and returns the same shape for success and failure. The recording
// runner lets the engine's ordering and undo be tested without root.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { execa } from 'execa';

export interface Command {
  argv: string[];
  /** Run inside this network namespace (nsenter --net), not the caller's. */
  ns?: string;
  input?: string;
  timeoutMs?: number;
  /** Not stopped on interruption: for unwinding, which must run to the end. */
  uninterruptible?: boolean;
}

export interface Result {
  argv: string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}

export interface Started { pid: number; exited: Promise<number | null> }

export interface Runner {
  run(cmd: Command): Promise<Result>;
  /** Starts a long-running program detached from nslab, output to a log file. */
  start(cmd: Command & { log: string }): Started;
}

/** The argv that runs `argv` inside a namespace; nsenter is cheaper than `ip netns exec`. */
export function inNamespace(ns: string | undefined, argv: string[]): string[] {
  return ns ? ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv] : argv;
}

export class RealRunner implements Runner {
  constructor(private signal?: AbortSignal) {}

  async run(cmd: Command): Promise<Result> {
    const argv = inNamespace(cmd.ns, cmd.argv);
    const t0 = performance.now();
    const sub = execa(argv[0]!, argv.slice(1), { input: cmd.input ?? '', reject: false, timeout: cmd.timeoutMs, stripFinalNewline: false });
    // On interruption the child is stopped and *awaited*: unwinding must not
    // start while a batch is still creating things.
    const signal = cmd.uninterruptible ? undefined : this.signal;
    const stop = () => sub.kill('SIGTERM');
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    const r = await sub;
    signal?.removeEventListener('abort', stop);
    return {
      argv, exitCode: r.exitCode ?? (r.signal ? 128 : 1), stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? r.message ?? ''),
      durationMs: performance.now() - t0,
    };
  }

  start(cmd: Command & { log: string }): Started {
    const argv = inNamespace(cmd.ns, cmd.argv);
    const fd = openSync(cmd.log, 'a');
    try {
      // detached: its own session, so a Ctrl-C at nslab's terminal does not reach it; `down` stops it by pid
      const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd] });
      const exited = new Promise<number | null>((res) => {
        child.on('exit', (code) => res(code));
        child.on('error', () => res(127));
      });
      child.unref();
      return { pid: child.pid ?? -1, exited };
    } finally {
      closeSync(fd);
    }
  }
}

/** Records every command; answers from a responder (default: success, no output). */
export class RecordingRunner implements Runner {
  readonly calls: Command[] = [];
  constructor(private responder: (cmd: Command) => Partial<Result> = () => ({})) {}

  async run(cmd: Command): Promise<Result> {
    this.calls.push(cmd);
    return { argv: inNamespace(cmd.ns, cmd.argv), exitCode: 0, stdout: '', stderr: '', durationMs: 0, ...this.responder(cmd) };
  }

  start(cmd: Command & { log: string }): Started {
    this.calls.push(cmd);
    return { pid: 999999, exited: new Promise(() => {}) };
  }
}

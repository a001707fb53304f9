// The only place nslab runs programs. A Runner takes an argv (never a shell
// string) and returns the same shape for success and failure. The recording
// runner lets the engine's ordering and undo be tested without root.
import { spawn } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import type { Command, Result } from './command.js';
import { endAtExit } from './at-exit.js';
import { BatchWorker, workerJob } from './workers.js';
import { hasMountNs, mountFileOf } from './node-mounts.js';

export type { Command, Result } from './command.js';

// node:child_process directly rather than execa: execa costs ~70 ms to import,
// more than node's own start-up, and `nslab down` must stay under 100 ms.

export interface Lane {
  canQueue(cmd: Command): boolean;
  run(cmd: Command): Promise<Result>;
  /** Ends the lane after its current command (stop: skip what is still queued); resolves when nothing runs any more. */
  close(stop?: boolean): Promise<void>;
}

/** A started program: its pid, and how it ended once it has (exit status, or the signal that ended it). */
export interface Started {
  pid: number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Runner {
  run(cmd: Command): Promise<Result>;
  /**
   * A cheaper lane for many small commands (optional; run() otherwise). Commands
   * queued on a lane run in order without waiting for each other's results.
   */
  lane?(): Lane;
  /** Starts a long-running program detached from nslab, output to a log file. */
  start(cmd: Command & { log: string }): Started;
}

/**
 * The argv that runs `argv` inside a namespace: nsenter (cheaper) for nslab's
 * own commands; with `etc`, as the node: into its mount namespace too
 * (node-mounts.ts: its own /run and files, its /sys and table names), in
 * `cwd` (default: nslab's own, unless that is in /run, which is the node's
 * own: then /). A node without a mount namespace of its own (a lab brought up
 * by an older nslab) is entered with `ip netns exec`, which shows its /sys and
 * /etc/netns files. Measured: 20 runs of `true` took 47 ms with nsenter, 61 ms
 * with ip netns exec.
 */
export function inNamespace(ns: string | undefined, argv: string[], etc = false, cwd?: string): string[] {
  if (!ns) return argv;
  if (!etc) return ['nsenter', `--net=/run/netns/${ns}`, '--', ...argv];
  if (!hasMountNs(ns)) return ['ip', 'netns', 'exec', ns, ...argv];
  // the folder is entered once inside (nsenter's --wd opens it before entering: it would be the machine's, not the
  // node's view of it); a service's cwd must exist there, nslab's own is only tried
  const enter = cwd ? 'cd -- "$1" || exit 127' : 'cd -- "$1" 2>/dev/null || cd /';
  const wd = cwd ?? (/^\/(var\/)?run(\/|$)/.test(process.cwd()) ? '/' : process.cwd());
  return [
    'nsenter',
    `--net=/run/netns/${ns}`,
    `--mount=${mountFileOf(ns)}`,
    '--',
    'sh',
    '-c',
    `${enter}; shift; exec "$@"`,
    'sh',
    wd,
    ...argv,
  ];
}

export class RealRunner implements Runner {
  constructor(private signal?: AbortSignal) {}

  run(cmd: Command): Promise<Result> {
    const argv = inNamespace(cmd.ns, cmd.argv, cmd.etc);
    const signal = cmd.uninterruptible ? undefined : this.signal;
    return runArgv(argv, { input: cmd.input, timeoutMs: cmd.timeoutMs, signal, uninterruptible: cmd.uninterruptible });
  }

  lane(): Lane {
    const worker = new BatchWorker();
    return { canQueue: (cmd) => !!workerJob(cmd), run: (cmd) => worker.run(cmd), close: (stop) => worker.close(stop) };
  }

  start(cmd: Command & { log: string }): Started {
    const argv = inNamespace(cmd.ns, cmd.argv, cmd.etc, cmd.cwd);
    const fd = openSync(cmd.log, 'a');
    try {
      // detached: its own session, so a Ctrl-C at nslab's terminal does not reach it; `down` stops it by pid
      const child = spawn(argv[0]!, argv.slice(1), {
        detached: true,
        stdio: ['ignore', fd, fd],
        ...(cmd.env ? { env: { ...process.env, ...cmd.env } } : {}),
        ...(cmd.cwd ? { cwd: cmd.cwd } : {}),
      });
      const exited: Started['exited'] = new Promise((res) => {
        child.on('exit', (code, signal) => res({ code, signal }));
        child.on('error', () => res({ code: 127, signal: null }));
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
    return {
      argv: inNamespace(cmd.ns, cmd.argv, cmd.etc),
      exitCode: 0,
      stdout: '',
      stderr: '',
      durationMs: 0,
      ...this.responder(cmd),
    };
  }

  start(cmd: Command & { log: string }): Started {
    this.calls.push(cmd);
    return { pid: 999999, exited: new Promise(() => {}) };
  }
}

/**
 * Runs an argv to completion and collects its output. On abort the child gets
 * SIGTERM and is *awaited*: unwinding must not start while a batch is still
 * creating things. Never rejects; a missing program is exit status 127.
 */
export function runArgv(
  argv: string[],
  opts: { input?: string; timeoutMs?: number; signal?: AbortSignal; uninterruptible?: boolean } = {},
): Promise<Result> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    // unwinding's own commands only remove: left to finish
    const forget = opts.uninterruptible ? () => {} : endAtExit(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const stop = () => child.kill('SIGTERM');
    if (opts.signal?.aborted) stop();
    opts.signal?.addEventListener('abort', stop, { once: true });
    const timer = opts.timeoutMs ? setTimeout(stop, opts.timeoutMs) : undefined;
    let spawnError: Error | undefined;
    child.on('error', (e) => {
      spawnError = e;
    });
    child.stdin.on('error', () => {
      /* the program exited without reading its input */
    });
    child.stdin.end(opts.input ?? '');
    child.on('close', (code, sig) => {
      forget();
      opts.signal?.removeEventListener('abort', stop);
      if (timer) clearTimeout(timer);
      const stderr = Buffer.concat(err).toString('utf8') + (spawnError ? `${spawnError.message}\n` : '');
      resolve({
        argv,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr,
        durationMs: performance.now() - t0,
        exitCode: spawnError ? 127 : (code ?? 128 + (sig === 'SIGKILL' ? 9 : 15)),
      });
    });
  });
}

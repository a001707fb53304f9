// The channel to a holder's PID 1 while its lab comes up (holder.ts's HOLDER_PL): a Runner whose programs run in
// the holder's namespaces, with its capabilities, without a process of nslab's inside. A rootless `nslab up` of a
// lab without services brings it up from the outside through it, as root's `up` does with its own runner: one Node
// process, not a second nslab started in the holder (whose start, read and plan of the lab again cost about as
// much as root's whole `up`, bench/rootless.mjs). Services are started by an nslab inside (rootless.ts): they must
// be children of its PID namespace that it watches through /proc.
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { inNamespace, type Command, type Result, type Runner, type Started } from './runner.js';

type Answer = { code: number; out: Buffer; err: Buffer };

export class HolderChannel {
  private next = 1;
  private waiting = new Map<number, (a: Answer) => void>();
  private buf: Buffer;
  private ended = false;

  constructor(
    private child: ChildProcess,
    private requests: Writable,
    private answers: Readable,
    leftover: Buffer,
  ) {
    this.buf = leftover;
    answers.on('data', (b: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, b]) : b;
      this.parse();
    });
    const gone = () => this.fail("nslab: the lab's holder has ended\n");
    answers.on('end', gone);
    answers.on('close', gone);
    answers.on('error', gone);
    requests.on('error', gone);
  }

  /** A runner over this channel; `signal` stops what runs (SIGTERM), as RealRunner's does. */
  runner(signal?: AbortSignal): Runner {
    // one listener for the runner, not one per command (a bring-up runs many at once: Node warns past ten)
    const stoppable = new Set<number>();
    signal?.addEventListener('abort', () => stoppable.forEach((id) => this.stop(id)), { once: true });
    return {
      run: (cmd) => {
        const interruptible = !!signal && !cmd.uninterruptible;
        return this.run(cmd, (id) => {
          if (!interruptible) return () => {};
          if (signal.aborted) this.stop(id);
          stoppable.add(id);
          return () => stoppable.delete(id);
        });
      },
      start: (): Started => {
        throw new Error('internal: services are started by the nslab inside a holder, not through its channel');
      },
    };
  }

  /**
   * Ends the serving: the holder's PID 1 reaps its namespace's orphans from now on, and lives on after this process.
   */
  release(): void {
    if (!this.ended) this.requests.end('D\n');
    this.close();
  }

  /** Closes the channel without `D`: the holder's PID 1 exits, and the lab with it. */
  abandon(): void {
    this.requests.end();
    this.close();
  }

  private close(): void {
    this.ended = true;
    (this.answers as Readable & { destroy(): void }).destroy();
    this.child.unref();
  }

  /** Asks the holder to stop a program that still runs (SIGTERM, as runArgv's stop). */
  private stop(id: number): void {
    if (!this.ended && this.waiting.has(id)) this.requests.write(`K ${id} 15\n`);
  }

  /** Runs a command; `watch` makes it stoppable by the runner's signal and returns how to forget it. */
  private run(cmd: Command, watch: (id: number) => () => void): Promise<Result> {
    const argv = inNamespace(cmd.ns, cmd.argv, cmd.etc);
    const t0 = performance.now();
    const result = (a: Answer): Result => ({
      argv,
      exitCode: a.code,
      stdout: a.out.toString('utf8'),
      stderr: a.err.toString('utf8'),
      durationMs: performance.now() - t0,
    });
    if (this.ended) return Promise.resolve(result(lost("nslab: the lab's holder has ended\n")));
    const id = this.next++;
    const args = Buffer.from(argv.join('\0'));
    const input = Buffer.from(cmd.input ?? '');
    return new Promise<Result>((resolve) => {
      const timer = cmd.timeoutMs ? setTimeout(() => this.stop(id), cmd.timeoutMs) : undefined;
      let forget = () => {};
      this.waiting.set(id, (a) => {
        forget();
        if (timer) clearTimeout(timer);
        resolve(result(a));
      });
      this.requests.write(Buffer.concat([Buffer.from(`X ${id} ${args.length} ${input.length}\n`), args, input]));
      forget = watch(id);
    });
  }

  /** Answers: `E ID STATUS OUTLEN ERRLEN`, then the output and the errors. */
  private parse(): void {
    for (;;) {
      const nl = this.buf.indexOf(10);
      if (nl < 0) return;
      const h = /^E (\d+) (\d+) (\d+) (\d+)$/.exec(this.buf.subarray(0, nl).toString('latin1'));
      if (!h) return this.fail(`nslab: the lab's holder said something unexpected\n`);
      const [id, code, outLen, errLen] = h.slice(1).map(Number) as [number, number, number, number];
      const end = nl + 1 + outLen + errLen;
      if (this.buf.length < end) return;
      const out = this.buf.subarray(nl + 1, nl + 1 + outLen);
      const err = this.buf.subarray(nl + 1 + outLen, end);
      this.buf = this.buf.subarray(end);
      const w = this.waiting.get(id);
      this.waiting.delete(id);
      w?.({ code, out, err });
    }
  }

  /** The holder is gone (or talks nonsense): every command still waiting fails, as a program that could not run. */
  private fail(why: string): void {
    this.ended = true;
    for (const w of this.waiting.values()) w(lost(why));
    this.waiting.clear();
  }
}

const lost = (why: string): Answer => ({ code: 127, out: Buffer.alloc(0), err: Buffer.from(why) });

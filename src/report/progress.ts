// A progress line for people watching a terminal: labs done / total and the
// time elapsed, redrawn in place on stderr. Never where output is kept (a CI
// log, a pipe, a file) and never with a machine-readable reporter.

export interface Progress {
  labDone(): void;
  /** Writes a line of output above the progress line. */
  print(write: () => void): void;
  stop(): void;
}

const NONE: Progress = { labDone() {}, print: (w) => w(), stop() {} };

/** Whether the console reporter writes to a person at a terminal (not a CI job). */
export function wantsProgress(reporter: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return reporter === 'console' && !!process.stdout.isTTY && !!process.stderr.isTTY && !env.CI && env.TERM !== 'dumb';
}

const clock = (ms: number) => {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export function progress(total: number, enabled: boolean, out: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled) return NONE;
  const t0 = Date.now();
  let done = 0,
    shown = false;
  const draw = () => {
    out.write(`\r\x1b[K${done}/${total} labs done, ${clock(Date.now() - t0)} elapsed`);
    shown = true;
  };
  const clear = () => {
    if (shown) out.write('\r\x1b[K');
    shown = false;
  };
  const timer = setInterval(draw, 1000);
  timer.unref();
  draw();
  return {
    labDone() {
      done++;
      draw();
    },
    print(write) {
      clear();
      write();
      draw();
    },
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}

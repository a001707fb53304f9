// Per-namespace `ip -n NS -batch` / `tc -n NS -batch` processes started from a
// small long-lived sh loop instead of from node: node's spawn costs ~1 ms of
// main-thread time each (it forks a large process), which dominated `up` of big
// labs. The loop's script is constant; it gets an index, a kind (ip, ip6, tc,
// sysctl or nft) and a namespace name that nslab validated, and the input
// through a file.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startTime } from './proc.js';
import { endAtExit } from './at-exit.js';
import type { Command, Result } from './command.js';
import { mkdirPrivate, workRoot } from './state.js';

// $0 is the work directory; a `stop` file there ends the loop early (interruption).
// Standard error goes to one file, kept (as I.err) only for a batch that failed:
// three files per batch cost ~10 ms to create and remove for 200 namespaces.
// Standard output is not kept (these programs say nothing useful on success).
const SCRIPT = [
  'while read -r i kind ns; do',
  '  [ -e "$0/stop" ] && break',
  '  case $kind in',
  '    ip|tc) "$kind" -n "$ns" -batch "$0/$i.in" ;;',
  '    ip6) ip -6 -n "$ns" -batch "$0/$i.in" ;;',
  '    sysctl) nsenter --net="/run/netns/$ns" sysctl -q -p "$0/$i.in" ;;',
  '    nft) nsenter --net="/run/netns/$ns" nft -f "$0/$i.in" ;;',
  '  esac >/dev/null 2>"$0/err"',
  '  s=$?',
  '  [ $s -eq 0 ] || mv -f "$0/err" "$0/$i.err"',
  '  echo "$i $s"',
  'done',
].join('\n');
const SAFE_NS = /^[A-Za-z0-9._-]+$/;

/** What a worker runs for a command, or undefined if it cannot: namespaced ip/tc batches, sysctl -w, nft -f -. */
export function workerJob(cmd: Command): { kind: string; ns: string; input: string } | undefined {
  const a = cmd.argv;
  if (
    !cmd.ns &&
    a.length === 5 &&
    (a[0] === 'ip' || a[0] === 'tc') &&
    a[1] === '-n' &&
    SAFE_NS.test(a[2]!) &&
    a[3] === '-batch' &&
    a[4] === '-'
  )
    return { kind: a[0], ns: a[2]!, input: cmd.input ?? '' };
  if (
    !cmd.ns &&
    a.length === 6 &&
    a[0] === 'ip' &&
    a[1] === '-6' &&
    a[2] === '-n' &&
    SAFE_NS.test(a[3]!) &&
    a[4] === '-batch' &&
    a[5] === '-'
  )
    return { kind: 'ip6', ns: a[3]!, input: cmd.input ?? '' };
  if (cmd.ns && SAFE_NS.test(cmd.ns) && a[0] === 'sysctl' && a[1] === '-q' && a[2] === '-w')
    return { kind: 'sysctl', ns: cmd.ns, input: a.slice(3).join('\n') + '\n' };
  if (cmd.ns && SAFE_NS.test(cmd.ns) && a[0] === 'nft' && a[1] === '-f' && a[2] === '-' && a.length === 3)
    return { kind: 'nft', ns: cmd.ns, input: cmd.input ?? '' };
  return undefined;
}

/**
 * A private scratch directory in the state directory (on /run, a tmpfs:
 * creating hundreds of small files on a disk costs ~0.4 ms each), named for
 * this process, so that `cleanup` can remove it once this process is gone.
 */
function workDir(): string {
  mkdirPrivate(workRoot());
  return mkdtempSync(join(workRoot(), `${process.pid}-${startTime(process.pid) ?? 0}-`));
}

export class BatchWorker {
  private child: ChildProcessWithoutNullStreams;
  private dir = workDir();
  private seq = 0;
  private pending = new Map<string, (code: number) => void>();
  private buf = '';
  private closed: Promise<void>;
  private closing: Promise<void> | undefined;

  constructor() {
    this.child = spawn('sh', ['-c', SCRIPT, this.dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const [i, code] = this.buf.slice(0, nl).split(' ');
        this.buf = this.buf.slice(nl + 1);
        this.pending.get(i!)?.(Number(code));
        this.pending.delete(i!);
      }
    });
    // the loop; a batch it runs then is the last (a namespace's settings, removed with it)
    const forget = endAtExit(this.child);
    this.closed = new Promise((res) =>
      this.child.on('close', () => {
        forget();
        for (const done of this.pending.values()) done(255);
        res();
      }),
    );
  }

  /** Queues a command; commands run in the order they were queued. */
  run(cmd: Command): Promise<Result> {
    const job = workerJob(cmd)!;
    const i = String(++this.seq);
    const t0 = performance.now();
    writeFileSync(join(this.dir, `${i}.in`), job.input);
    return new Promise((resolve) => {
      this.pending.set(i, (exitCode) => {
        const read = (ext: string) => {
          try {
            return readFileSync(join(this.dir, `${i}.${ext}`), 'utf8');
          } catch {
            return '';
          }
        };
        resolve({
          argv: cmd.argv,
          exitCode,
          stdout: '',
          stderr: exitCode ? read('err') : '',
          durationMs: performance.now() - t0,
        });
      });
      this.child.stdin.write(`${i} ${job.kind} ${job.ns}\n`);
    });
  }

  /** No more work: the loop ends after its current batch, and is awaited (nothing is still running after this). */
  close(stop = false): Promise<void> {
    // an interruption and the end of the work may both close it: the first close decides
    return (this.closing ??= (async () => {
      if (stop) writeFileSync(join(this.dir, 'stop'), '');
      this.child.stdin.end();
      await this.closed;
      rmSync(this.dir, { recursive: true, force: true });
    })());
  }
}

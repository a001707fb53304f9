// A service that exits as the lab comes up (a missing config file, a bad flag,
// no such program) fails the bring-up; its log holds the cause. The lab's log
// directory is removed with the lab a moment later, so the failure says how the
// service ended and how its log ends, and a copy of the log is kept where the
// run keeps its artifacts (pcaps of failures): a path that exists afterwards.
import { closeSync, lstatSync, openSync, readSync, fstatSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { oneLine, ServiceError } from '../errors.js';
import { OutputDir } from './output.js';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The last lines shown, and how much of each (a log may hold anything: one huge line, escape sequences). */
export const TAIL_LINES = 10;
const LINE_CHARS = 200;
/** A copy keeps at most this much of the end of a log (a service may write fast in its first 150 ms). */
const KEEP_BYTES = 1 << 20;

export function describeExit(e: Exit): string {
  return e.signal ? `killed by ${e.signal}` : `exit status ${e.code}`;
}

/** The end of a file: at most `bytes`, and how much came before it. */
function readEnd(file: string, bytes: number): { text: string; skipped: number } {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const n = Math.min(size, bytes);
    const buf = Buffer.alloc(n);
    let got = 0;
    while (got < n) {
      const r = readSync(fd, buf, got, n - got, size - n + got);
      if (!r) break;
      got += r;
    }
    return { text: buf.subarray(0, got).toString('utf8'), skipped: size - n };
  } finally {
    closeSync(fd);
  }
}

/** The last lines of a log, each on one line (control characters escaped) and cut to a readable length. */
export function logTail(file: string, lines = TAIL_LINES): string[] {
  const { text, skipped } = readEnd(file, lines * LINE_CHARS * 4);
  const all = text.split('\n');
  if (all.at(-1) === '') all.pop();
  // the first line read is only the end of one: dropped, unless it is all there is (then its end is shown)
  const partial = skipped > 0 && all.length === 1;
  if (skipped > 0 && !partial) all.shift();
  return all.slice(-lines).map((l) => {
    const one = oneLine(l.replace(/\r$/, ''));
    if (partial) return `…${one.slice(-LINE_CHARS)}`;
    return one.length > LINE_CHARS ? `${one.slice(0, LINE_CHARS)}…` : one;
  });
}

/** Where a log is kept: FOLDER (the instance) of ROOT, the run's artifacts folder. */
export interface KeepIn {
  root: string;
  folder: string;
}

/**
 * Copies a log into ROOT/FOLDER (made 0700 if missing) as `name`, or `name` with
 * .2, .3 ... if taken (by anything, a link included): created exclusively, 0600,
 * never through a link (engine/output.ts). Returns the copy's path.
 */
export function keepLog(file: string, into: KeepIn, name: string): string {
  const { text, skipped } = readEnd(file, KEEP_BYTES);
  const data = skipped ? `[nslab: the first ${skipped} bytes of this log are left out]\n${text}` : text;
  const out = OutputDir.open(into.root, { create: true });
  const nameOf = (n: number) => `${into.folder}/${n === 1 ? `${name}.log` : `${name}.${n}.log`}`;
  let n = 1;
  while (lstatSync(join(out.real, nameOf(n)), { throwIfNoEntry: false })) n++;
  return out.write(nameOf(n), data, { exclusive: true, mode: 0o600, dirMode: 0o700 });
}

export interface Failed {
  node: string;
  service: string;
  argv: string[];
  /** How it ended; or, for one that runs but never became ready, notReady says what was waited for. */
  exit?: Exit;
  notReady?: string;
  log: string;
}

/** The error for services that exited at once; their logs are kept first in the directory `keepIn` gives (if any). */
export function serviceError(failed: Failed[], keepIn: (() => KeepIn) | undefined): ServiceError {
  const parts = failed.map((f) => {
    const lines = [
      f.exit
        ? `service '${f.service}' of node '${f.node}' exited ${f.notReady ? 'before it was ready' : 'at once'} (${describeExit(f.exit)}): ${oneLine(f.argv.join(' '))}`
        : `service '${f.service}' of node '${f.node}' ${f.notReady}: ${oneLine(f.argv.join(' '))}`,
    ];
    let tail: string[] = [];
    try {
      tail = logTail(f.log);
    } catch (e) {
      lines.push(`    its log cannot be read: ${oneLine((e as Error).message)}`);
    }
    if (tail.length) lines.push(`    its log ends with:`, ...tail.map((l) => `      ${l}`));
    else if (lines.length === 1) lines.push('    its log is empty');
    if (f.exit && f.exit.code === 0 && !f.exit.signal)
      lines.push(
        '    hint: a service must keep running in the foreground (a daemon has an option not to fork, often -f or -D)',
      );
    if (keepIn) {
      try {
        lines.push(`    its log is kept in ${oneLine(keepLog(f.log, keepIn(), `${f.node}-${f.service}`))}`);
      } catch (e) {
        lines.push(`    its log could not be kept: ${oneLine((e as Error).message)}`);
      }
    }
    return lines.join('\n');
  });
  const first = failed[0]!;
  const status = !first.exit
    ? 1
    : first.exit.signal
      ? 128 + (constants.signals[first.exit.signal] ?? 0)
      : (first.exit.code ?? -1);
  return new ServiceError(first.argv, status, first.node, first.service, parts.join('\n'));
}

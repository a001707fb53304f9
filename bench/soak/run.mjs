// This soak run: its identity (a random name, a marker in every CLI's
// environment, a sleep argument no one else uses) and the nslab CLIs it starts,
// each with a try's private state and temporary directories.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx/core';

const rand = (n, chars) => Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
export const RUN = `soak${rand(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
export const SLEEP = `86${rand(5, '0123456789')}`;
export const MARK = `NSLAB_SOAK_RUN=${RUN}`;
let workDir;
/** The run's private directory (lab files, the tries' state and temporary dirs), made at first use. */
export const work = () => (workDir ??= mkdtempSync(join(tmpdir(), 'soak-')));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
/** Set when this script is interrupted: the modes stop after the current step. */
export const status = { stopping: false };
/** The CLIs running now (zx processes), and { pid, start } of every CLI this run started: their probe namespaces are ours. */
export const children = new Set();
export const myClis = [];
// the run's own commands (ip, git) print nothing unless asked: their output is read, not shown
$.quiet = true;

const cli = new URL('../../dist/bin/main.js', import.meta.url).pathname;
// in this script a kill (a timeout's) signals the CLI alone, not its whole process tree as zx's own kill does:
// what the CLI does with its children when it is signalled is what the soak looks at
$.kill = async (pid, signal) => {
  try {
    process.kill(Number(pid), signal);
  } catch {
    /* gone */
  }
};

/** A process's start time (clock ticks after boot, /proc/PID/stat field 22): with the pid, it names one process. */
export function startTime(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/**
 * Starts `nslab ARGS` with a try's private dirs and the run's marker, killed after timeoutMs if given. Returns the
 * process (p), { pid, start } (me) and exited: { code, signal, out (stdout and stderr as they came), ms }.
 */
export function start(args, dirs, timeoutMs = 0) {
  const env = { ...process.env, NSLAB_STATE_DIR: dirs.state, TMPDIR: dirs.tmp, NSLAB_SOAK_RUN: RUN };
  const opts = { env, stdio: ['ignore', 'pipe', 'pipe'], nothrow: true };
  // exec: the CLI itself is the child, so that its pid is the one its probe namespaces are named by
  const p = $({ ...opts, timeout: timeoutMs, timeoutSignal: 'SIGKILL' })`exec ${process.execPath} ${cli} ${args}`;
  const t0 = performance.now();
  children.add(p);
  const me = { pid: p.pid, start: startTime(p.pid) };
  if (p.pid) myClis.push(me);
  const exited = p.then((o) => {
    children.delete(p);
    return { code: o.exitCode, signal: o.signal, out: o.stdall, ms: performance.now() - t0 };
  });
  return { p, exited, me };
}
/** Runs `nslab ARGS` to its end (SIGKILL after timeoutMs). */
export const nslab = (args, dirs, timeoutMs = 300_000) => start(args, dirs, timeoutMs).exited;
export const exitName = (r) => (r.signal ? r.signal : String(r.code));
export const lastLine = (r) => r.out.trim().split('\n').pop();
export const newDirs = () => ({ state: mkdtempSync(join(work(), 'state-')), tmp: mkdtempSync(join(work(), 'tmp-')) });

/** The checkout's commit, +dirty when src/ has changes. */
export async function commit() {
  const dir = new URL('../..', import.meta.url).pathname;
  const head = await $({ nothrow: true })`git -C ${dir} rev-parse --short HEAD`;
  const dirty = await $({ nothrow: true })`git -C ${dir} status --porcelain -- src`;
  return head.stdout.trim() + (dirty.stdout.trim() ? '+dirty' : '');
}

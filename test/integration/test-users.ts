// Unprivileged users for rootless tests (issue 21): real accounts made with
// useradd (unique names), driven with runuser and an environment like a login
// without a session (no XDG_RUNTIME_DIR), removed with every process of theirs.
import { spawn, spawnSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, isRoot, sleep, uid } from './helpers.js';

/** Whether an unprivileged user may make a user namespace here (tried as nobody). */
export const usernsAllowed =
  isRoot &&
  spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'unshare', '--user', '--net', 'true'])
    .status === 0;

export interface User {
  name: string;
  uid: number;
  home: string;
}

/** A new user with a home of their own; `prefix` names the suite that made them, `suffix` (unique by default) the user. */
export function makeUser(prefix: string, suffix = uid()): User {
  const name = `${prefix}${suffix}`;
  const r = spawnSync('useradd', ['-m', '-s', '/bin/sh', name], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`useradd ${name}: ${r.stderr}`);
  const id = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid: id, home: `/home/${name}` };
}

export interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command (as root) in `cwd`, with this process's environment and `env` on top of it. */
export function run(argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}): Promise<Ran> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? '/', env: { ...process.env, ...opts.env } });
  return new Promise<Ran>((resolve) => {
    let stdout = '',
      stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : null), stdout, stderr }));
  });
}

/** Runs a command as a user, with the environment a login without a session has. */
export const as = (u: User, argv: string[], opts: { env?: Record<string, string>; cwd?: string } = {}) =>
  run(
    [
      'runuser',
      '-u',
      u.name,
      '--',
      'env',
      '-i',
      `PATH=${process.env.PATH}`,
      `HOME=${u.home}`,
      'FORCE_COLOR=0',
      ...Object.entries(opts.env ?? {}).map(([k, v]) => `${k}=${v}`),
      ...argv,
    ],
    { cwd: opts.cwd },
  );

/** This checkout's nslab (dist/bin/main.js), as a user. */
export const nslabAs = (u: User, args: string[], opts?: { env?: Record<string, string>; cwd?: string }) =>
  as(u, [process.execPath, CLI, ...args], opts);

/** The pids of a user's processes (a uid without an account too). */
export function processesOf(u: Pick<User, 'uid'>): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] === String(u.uid);
      } catch {
        return false;
      }
    })
    .map(Number);
}

/** A user's processes still running after up to 10 s (none, once their holders are gone). */
export async function noneLeft(u: Pick<User, 'uid'>): Promise<number[]> {
  for (let i = 0; i < 100 && processesOf(u).length; i++) await sleep(100);
  return processesOf(u);
}

/**
 * What a uid's nslab left in /tmp (its runtime directory /tmp/nslab-UID, pcaps a failed check kept in
 * /tmp/nslab-artifacts-*, ...): entries named nslab-* that the uid owns, by lstat (a link is removed, never followed),
 * so that nothing of theirs is left for whoever gets the uid next; nobody else's entry is touched.
 */
export function removeTmpOf(u: Pick<User, 'uid'>): void {
  for (const f of readdirSync('/tmp').filter((n) => n.startsWith('nslab-'))) {
    const p = join('/tmp', f);
    const st = lstatSync(p, { throwIfNoEntry: false });
    if (st && st.uid === u.uid) rmSync(p, { recursive: true, force: true });
  }
}

/** Ends whatever a failed test left of a user (their processes, their holders and labs with them), their files in
 * /tmp, then the user. */
export async function removeUser(u: User): Promise<void> {
  for (const pid of processesOf(u))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  await noneLeft(u);
  removeTmpOf(u);
  spawnSync('userdel', ['-r', '-f', u.name]);
}

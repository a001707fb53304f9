// Unprivileged users for rootless tests (issue 21): real accounts made with
// useradd (unique names), driven with runuser and an environment like a login
// without a session (no XDG_RUNTIME_DIR), removed with every process of theirs.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
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

/** A new user with a home of their own; `prefix` names the suite that made them. */
export function makeUser(prefix: string): User {
  const name = `${prefix}${uid()}`;
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

export function run(argv: string[], cwd = '/'): Promise<Ran> {
  const child = spawn(argv[0]!, argv.slice(1), { cwd });
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
    opts.cwd,
  );

/** This checkout's nslab (dist/bin/main.js), as a user. */
export const nslabAs = (u: User, args: string[], opts?: { env?: Record<string, string>; cwd?: string }) =>
  as(u, [process.execPath, CLI, ...args], opts);

/** The pids of a user's processes. */
export function processesOf(u: User): number[] {
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
export async function noneLeft(u: User): Promise<number[]> {
  for (let i = 0; i < 100 && processesOf(u).length; i++) await sleep(100);
  return processesOf(u);
}

/** Ends whatever a failed test left of a user (their processes, their holders and labs with them), then the user. */
export async function removeUser(u: User): Promise<void> {
  for (const pid of processesOf(u))
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  await noneLeft(u);
  spawnSync('userdel', ['-r', '-f', u.name]);
}

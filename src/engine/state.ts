// What exists and who owns it. A state file is written *before* anything is
// created, so a crash at any point leaves a record that `cleanup` can act on.
// The state directory is private (0700, owned by us, no symlink), and every
// state file is checked before anything acts on it: a record can only ever
// name the namespaces that its own instance name yields.
import {
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { EnvironmentError, UsageError } from '../errors.js';
import { NODE_NAME, SERVICE_NAME } from '../lab/grammar.js';
import { INSTANCE, nsName } from '../plan/names.js';
import type { Plan } from '../plan/step.js';
import { isSame, startTime } from './proc.js';

export interface ServiceState {
  node: string;
  name: string;
  pid: number;
  start?: string;
  log: string;
  /** Stopped on purpose (a stage's stop, the API): not running, and not dead. */
  stopped?: boolean;
  /** With `ready`: what was waited for and how long it took (ms). */
  ready?: { what: string; ms: number };
}

export interface LabState {
  version: 1;
  instance: string;
  lab: string;
  file: string;
  /** creating/testing: owned by a live process; up: left running on purpose by `nslab up`. */
  status: 'creating' | 'up' | 'testing' | 'removing';
  owner: { pid: number; start?: string };
  createdAt: string;
  namespaces: { node: string; ns: string }[];
  services: ServiceState[];
  stages: string[];
  logDir: string;
  /** Namespaces whose /etc/netns/NS (table names) this lab makes; recorded before it is made. */
  etc?: string[];
  /** Namespaces whose mount namespace (node-mounts.ts, STATE/mnt/NS) this lab makes; recorded before it is made. */
  mnt?: string[];
  /**
   * A rootless lab (holder.ts): the process that holds its namespaces. Its namespaces exist only in there, never on
   * the machine; its own record, with its service logs, is inside the holder.
   */
  holder?: { pid: number; start: string };
}

let dirOverride: string | undefined;

/**
 * Runs `fn` with the state directory at `dir`: a rootless `up` writes the record of a lab inside its holder from
 * outside it (holder-up.ts).
 */
export function inStateDir<T>(dir: string, fn: () => T): T {
  const was = dirOverride;
  dirOverride = dir;
  try {
    return fn();
  } finally {
    dirOverride = was;
  }
}

/**
 * Root's records are the machine's (/run/nslab); another user's are their own: in their runtime directory, else
 * their XDG state folder (a user without a login session, e.g. under runuser, has no runtime directory), and only
 * without a home in /tmp.
 */
export function stateDir(): string {
  if (dirOverride) return dirOverride;
  const uid = process.getuid?.();
  if (process.env.NSLAB_STATE_DIR) return process.env.NSLAB_STATE_DIR;
  if (uid === 0) return '/run/nslab';
  if (process.env.XDG_RUNTIME_DIR) return join(process.env.XDG_RUNTIME_DIR, `nslab-${uid}`);
  if (process.env.XDG_STATE_HOME) return join(process.env.XDG_STATE_HOME, 'nslab');
  const home = process.env.HOME;
  // a home that is not the user's own (HOME=/ for a uid without one) is no place for their records
  const own = !!home && statSync(home, { throwIfNoEntry: false })?.uid === uid;
  return own ? join(home, '.local', 'state', 'nslab') : join('/tmp', `nslab-${uid}`);
}

const fileOf = (instance: string) => {
  if (!INSTANCE.test(instance)) throw new UsageError(`'${instance}' is not a valid instance name`);
  return join(stateDir(), `${instance}.json`);
};
export const logDirOf = (instance: string) => join(stateDir(), 'logs', instance);

/**
 * The state directory, created private if missing, and refused unless it is a
 * real directory owned by us that nobody else can write: its files decide what
 * nslab deletes and kills.
 */
export function ensureStateDir(create = true): string {
  const dir = stateDir();
  if (create) mkdirPrivate(dir);
  checkPrivate(dir);
  return dir;
}

export function mkdirPrivate(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (e) {
    throw fsError(e, dir);
  }
}

function checkPrivate(dir: string): void {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e) {
    throw fsError(e, dir);
  }
  const uid = process.getuid?.();
  if (!st.isDirectory() || (uid !== undefined && st.uid !== uid) || (st.mode & 0o022) !== 0)
    throw new EnvironmentError(
      `state directory ${dir} is not private (it must be a directory owned by this user, writable by nobody else, not a link)`,
      'remove it, or point NSLAB_STATE_DIR at a directory of your own with mode 0700',
    );
}

/**
 * Reads from the state directory: an environment problem (not private, no
 * permission) is thrown as one; anything else missing means nothing recorded.
 */
function readingState<T>(read: () => T, nothing: T): T {
  try {
    checkPrivate(stateDir());
    return read();
  } catch (e) {
    if (e instanceof EnvironmentError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') throw fsError(e, stateDir());
    return nothing;
  }
}

function fsError(e: unknown, path: string): Error {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM')
    return new EnvironmentError(
      `cannot use ${path} (${code})`,
      'nslab keeps its records there: run it as root, or set NSLAB_STATE_DIR to a directory of your own',
    );
  return e as Error;
}

/**
 * Claims an instance name atomically; fails if that instance is already up. The
 * record appears whole (written aside, then hard-linked into place, which fails
 * if the name is taken): a reader never sees an empty record of a lab coming up.
 */
export function claim(state: LabState): void {
  ensureStateDir();
  const f = fileOf(state.instance);
  const aside = `${f}.${process.pid}.claim`;
  try {
    // the state directory is private: no one else's file can be there
    writeFileSync(aside, JSON.stringify(state, null, 2), { mode: 0o600 });
    linkSync(aside, f);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw fsError(e, f);
    const other = readState(state.instance);
    const who = other ? ` (${other.status} since ${other.createdAt}, pid ${other.owner.pid})` : '';
    throw new UsageError(
      `lab instance '${state.instance}' is already up${who}`,
      `take it down with 'nslab down ${state.instance}', or bring up another copy with --instance ID`,
    );
  } finally {
    rmSync(aside, { force: true });
  }
}

export function writeState(state: LabState): void {
  const f = fileOf(state.instance);
  writeFileSync(`${f}.tmp`, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(`${f}.tmp`, f);
}

/** The record of an instance, or undefined if there is none or it is not a valid record of that instance. */
export function readState(instance: string): LabState | undefined {
  if (!INSTANCE.test(instance)) return undefined;
  const text = readingState(() => {
    const f = fileOf(instance);
    return lstatSync(f).isFile() ? readFileSync(f, 'utf8') : undefined;
  }, undefined);
  if (text === undefined) return undefined;
  try {
    return validState(JSON.parse(text), instance);
  } catch {
    return undefined;
  }
}

/**
 * A parsed state file, checked field by field: its namespaces are exactly the
 * names its instance and node names yield, its pids are numbers, its log
 * directory is its own. Anything else is not a record nslab acts on.
 */
export function validState(s: unknown, instance: string): LabState | undefined {
  const o = s as Partial<LabState> | null;
  if (!o || typeof o !== 'object' || o.version !== 1 || o.instance !== instance) return undefined;
  if (!['creating', 'up', 'testing', 'removing'].includes(o.status as string)) return undefined;
  const pidOk = (p: unknown) => Number.isInteger(p) && (p as number) > 0;
  if (!o.owner || !pidOk(o.owner.pid) || (o.owner.start !== undefined && !/^\d+$/.test(o.owner.start)))
    return undefined;
  if (
    !Array.isArray(o.namespaces) ||
    !o.namespaces.every((n) => n && NODE_NAME.test(n.node) && n.ns === nsName(instance, n.node))
  )
    return undefined;
  if (
    !Array.isArray(o.services) ||
    !o.services.every((x) => x && NODE_NAME.test(x.node) && SERVICE_NAME.test(x.name) && pidOk(x.pid))
  )
    return undefined;
  if (o.holder !== undefined && !(o.holder && pidOk(o.holder.pid) && /^\d+$/.test(String(o.holder.start))))
    return undefined;
  if (o.etc !== undefined && !(Array.isArray(o.etc) && o.etc.every((ns) => o.namespaces!.some((n) => n.ns === ns))))
    return undefined;
  if (o.mnt !== undefined && !(Array.isArray(o.mnt) && o.mnt.every((ns) => o.namespaces!.some((n) => n.ns === ns))))
    return undefined;
  if (
    o.logDir !== logDirOf(instance) ||
    !Array.isArray(o.stages) ||
    typeof o.lab !== 'string' ||
    typeof o.file !== 'string'
  )
    return undefined;
  return o as LabState;
}

/** Every valid record; invalid files are reported through `invalid` and otherwise ignored. */
export function listStates(invalid?: (file: string) => void): LabState[] {
  const names = readingState(() => readdirSync(stateDir()), [] as string[]);
  const out: LabState[] = [];
  for (const n of names.filter((x) => x.endsWith('.json'))) {
    const s = readState(n.slice(0, -5));
    if (s) out.push(s);
    else invalid?.(join(stateDir(), n));
  }
  return out;
}

/**
 * The record goes last: a process killed in the middle leaves a record, which `cleanup` (or the lab's reaper) acts on.
 */
export function removeState(instance: string): void {
  rmSync(logDirOf(instance), { recursive: true, force: true });
  rmSync(`${fileOf(instance)}.tmp`, { force: true }); // a write that a SIGKILL cut short
  rmSync(fileOf(instance), { force: true });
}

export function ownerAlive(s: LabState): boolean {
  return isSame(s.owner.pid, s.owner.start);
}

export function me(): { pid: number; start?: string } {
  return { pid: process.pid, start: startTime(process.pid) };
}

/** A lab's record as `up` claims it, before anything of it exists: creating, owned by this process. */
export function creatingState(
  model: { name: string; file: string },
  plan: Pick<Plan, 'instance' | 'namespaces' | 'stages'>,
): LabState {
  return {
    version: 1,
    instance: plan.instance,
    lab: model.name,
    // the absolute path: `check` and `exec` may run from another directory
    file: resolve(model.file),
    status: 'creating',
    owner: me(),
    createdAt: new Date().toISOString(),
    namespaces: plan.namespaces,
    services: [],
    stages: plan.stages,
    logDir: logDirOf(plan.instance),
  };
}

// ---- private scratch space of a running nslab process ----

/**
 * Scratch directories live in the state directory, named for their owner process: `cleanup` removes those of dead
 * owners.
 */
export const workRoot = () => join(stateDir(), 'work');

export function workDirOwner(name: string): { pid: number; start: string } | undefined {
  const m = /^(\d+)-(\d+)-[A-Za-z0-9]+$/.exec(name);
  return m ? { pid: Number(m[1]), start: m[2]! } : undefined;
}

export function listWorkDirs(): string[] {
  try {
    return readdirSync(workRoot());
  } catch {
    return [];
  }
}

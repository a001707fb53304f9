// What exists and who owns it. A state file is written *before* anything is
// created, so a crash at any point leaves a record that `cleanup` can act on.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { isSame, startTime } from './proc.js';

export interface ServiceState { node: string; name: string; pid: number; start?: string; log: string }

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
}

export function stateDir(): string {
  return process.env.NSLAB_STATE_DIR ?? '/run/nslab';
}

const fileOf = (instance: string) => join(stateDir(), `${instance}.json`);
export const logDirOf = (instance: string) => join(stateDir(), 'logs', instance);

/** Claims an instance name atomically; fails if that instance is already up. */
export function claim(state: LabState): void {
  mkdirSync(stateDir(), { recursive: true });
  let fd: number;
  try {
    fd = openSync(fileOf(state.instance), 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const other = readState(state.instance);
    const who = other ? ` (${other.status} since ${other.createdAt}, pid ${other.owner.pid})` : '';
    throw new UsageError(`lab instance '${state.instance}' is already up${who}`,
      `take it down with 'nslab down ${state.instance}', or bring up another copy with --instance ID`);
  }
  closeSync(fd);
  writeState(state);
}

export function writeState(state: LabState): void {
  const f = fileOf(state.instance);
  writeFileSync(`${f}.tmp`, JSON.stringify(state, null, 2));
  renameSync(`${f}.tmp`, f);
}

export function readState(instance: string): LabState | undefined {
  try {
    return JSON.parse(readFileSync(fileOf(instance), 'utf8')) as LabState;
  } catch {
    return undefined;
  }
}

export function listStates(): LabState[] {
  let names: string[];
  try { names = readdirSync(stateDir()); } catch { return []; }
  return names.filter((n) => n.endsWith('.json')).map((n) => readState(n.slice(0, -5))).filter((s): s is LabState => !!s);
}

export function removeState(instance: string): void {
  rmSync(fileOf(instance), { force: true });
  rmSync(logDirOf(instance), { recursive: true, force: true });
}

export function ownerAlive(s: LabState): boolean {
  return isSame(s.owner.pid, s.owner.start);
}

export function me(): { pid: number; start?: string } {
  return { pid: process.pid, start: startTime(process.pid) };
}

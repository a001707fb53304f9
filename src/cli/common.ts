// Helpers the verbs share: finding lab files and running lab instances.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { listStates, ownerAlive, readState, type LabState } from '../engine/state.js';
import { LAB_NAME } from '../lab/grammar.js';
import { checkInstanceName } from '../plan/names.js';

/** Lab files named on the command line; a directory means its *.yaml / *.yml files. */
export function labFiles(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (existsSync(a) && statSync(a).isDirectory())
      out.push(...readdirSync(a).filter((f) => /\.ya?ml$/.test(f)).sort().map((f) => join(a, f)));
    else out.push(a);
  }
  return out;
}

/** A child's exit status as a shell reports it: its code, or 128 + the number of the signal that ended it. */
export function exitStatus(r: { status: number | null; signal: NodeJS.Signals | null; error?: Error }): number {
  if (r.error) throw r.error;
  return r.status ?? 128 + (r.signal ? constants.signals[r.signal] : 0);
}

/**
 * The lab name a lab file declares, without checking the rest of it. yaml is
 * loaded only here (down/exec by name stay light); in the bundle its module
 * namespace has the functions under `default`, which the shipped-CLI tests cover.
 */
async function labNameOf(file: string): Promise<string> {
  const yaml = await import('yaml');
  const parse = yaml.parse ?? (yaml as unknown as { default: typeof yaml }).default.parse;
  let name: unknown;
  try { name = (parse(readFileSync(file, 'utf8'), { maxAliasCount: 100 }) as { name?: unknown } | null)?.name; } catch { /* reported below */ }
  if (typeof name !== 'string' || !LAB_NAME.test(name)) throw new UsageError(`${file} declares no valid lab name`, "'nslab validate' shows what is wrong with it");
  return name;
}

/**
 * The running instance meant by LAB: a lab file (the instance of its lab), an
 * instance name, or a lab name. A name is only ever a name: it is checked
 * against the instance grammar before it comes near a path.
 */
export async function findInstance(arg: string): Promise<LabState> {
  const isFile = existsSync(arg) && statSync(arg).isFile();
  const lab = isFile ? await labNameOf(arg) : checkInstanceName(arg);
  const direct = readState(lab);
  if (direct) return direct;
  // by lab name: the labs left up, or abandoned; a lab a live run is testing is only ever named by its instance
  const matches = listStates().filter((s) => s.lab === lab && (s.status === 'up' || !ownerAlive(s)));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(`lab '${lab}' has ${matches.length} instances up: ${matches.map((s) => s.instance).join(', ')}`, 'name the instance');
  throw new UsageError(`no running lab matches '${arg}'`, "'nslab ls' lists the running labs; 'nslab up LAB' starts one");
}

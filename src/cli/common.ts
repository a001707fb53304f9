// Helpers the verbs share: finding lab files and running lab instances.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { listStates, readState, type LabState } from '../engine/state.js';

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

/** The running instance meant by LAB: an instance name, a lab name, or a lab file. */
export async function findInstance(arg: string): Promise<LabState> {
  const direct = readState(arg);
  if (direct) return direct;
  let lab = arg;
  if (existsSync(arg) && statSync(arg).isFile()) {
    const { parse } = await import('yaml'); // only when a file is named: down/exec by name stay light
    try { lab = String((parse(readFileSync(arg, 'utf8')) as { name?: unknown })?.name ?? arg); } catch { /* fall through */ }
    const own = readState(lab);
    if (own) return own;
  }
  const matches = listStates().filter((s) => s.lab === lab);
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(`lab '${lab}' has ${matches.length} instances up: ${matches.map((s) => s.instance).join(', ')}`, 'name the instance');
  throw new UsageError(`no running lab matches '${arg}'`, "'nslab ls' lists the running labs; 'nslab up LAB' starts one");
}

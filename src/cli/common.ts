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
      out.push(
        ...readdirSync(a)
          .filter((f) => /\.ya?ml$/.test(f))
          .sort()
          .map((f) => join(a, f)),
      );
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
export async function labNameOf(file: string): Promise<string> {
  const yaml = await import('yaml');
  const parse = yaml.parse ?? (yaml as unknown as { default: typeof yaml }).default.parse;
  let name: unknown;
  try {
    name = (parse(readFileSync(file, 'utf8'), { maxAliasCount: 100 }) as { name?: unknown } | null)?.name;
  } catch {
    /* reported below */
  }
  if (typeof name !== 'string' || !LAB_NAME.test(name))
    throw new UsageError(`${file} declares no valid lab name`, "'nslab validate' shows what is wrong with it");
  return name;
}

export const isFile = (arg: string) => existsSync(arg) && statSync(arg).isFile();
/** LAB as a lab or instance name: a file's lab name, else the word itself, checked against the instance grammar. */
const labWord = async (arg: string) => (isFile(arg) ? await labNameOf(arg) : checkInstanceName(arg));

/**
 * The running instance meant by LAB: a lab file (the instance of its lab), an
 * instance name, or a lab name. A name is only ever a name: it is checked
 * against the instance grammar before it comes near a path.
 */
export async function findInstance(arg: string): Promise<LabState> {
  const lab = await labWord(arg);
  const direct = readState(lab);
  if (direct) return direct;
  // by lab name: the labs left up, or abandoned; a lab a live run is testing is only ever named by its instance
  const matches = listStates().filter((s) => s.lab === lab && (s.status === 'up' || !ownerAlive(s)));
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1)
    throw new UsageError(
      `lab '${lab}' has ${matches.length} instances up: ${matches.map((s) => s.instance).join(', ')}`,
      `name the instance instead of the lab, e.g. '${matches[0]!.instance}'`,
    );
  // an instance id alone (as given to up --instance): say which instance name it is
  const byId = isFile(arg) ? [] : listStates().filter((s) => s.instance === `${s.lab}.${arg}`);
  if (byId.length)
    throw new UsageError(
      `no running lab matches '${arg}'`,
      `an instance is named LAB.ID: did you mean ${byId.map((s) => `'${s.instance}'`).join(' or ')}?`,
    );
  throw new UsageError(
    `no running lab matches '${arg}'`,
    "'nslab ls' lists the running labs; 'nslab up LAB' starts one",
  );
}

/** Instance patterns: `*` matches any run of characters; everything else is literal. */
export function matcher(patterns: string[]): (instance: string) => boolean {
  if (!patterns.length) return () => true;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split('*')
          .map((x) => x.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
          .join('.*')}$`,
      ),
  );
  return (i) => res.some((r) => r.test(i));
}

/**
 * The labs left up (`nslab up`) whose instance id or instance name matches
 * PATTERN, of one lab if LAB (a file or lab name) is given; in instance order.
 */
export async function findInstances(labArg: string | undefined, pattern: string): Promise<LabState[]> {
  const lab = labArg === undefined ? undefined : await labWord(labArg);
  const m = matcher([pattern]);
  const found = listStates().filter(
    (s) =>
      s.status === 'up' &&
      (!lab || s.lab === lab) &&
      (m(s.instance) || (s.instance.startsWith(`${s.lab}.`) && m(s.instance.slice(s.lab.length + 1)))),
  );
  if (!found.length)
    throw new UsageError(
      `no lab left up${lab ? ` of lab '${lab}'` : ''} has an instance matching '${pattern}'`,
      "'nslab ls' lists the running labs; students' labs are brought up with nslab up LAB --instance ID",
    );
  return found.sort((a, b) => a.instance.localeCompare(b.instance, 'en', { numeric: true }));
}

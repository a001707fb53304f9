// `nslab down INSTANCE` without the CLI around it (see entry.ts): the common
// case only, a recorded instance named directly, as root. Anything else
// returns undefined and the full CLI's `down` handles it, with its messages.
import { existsSync } from 'node:fs';
import { isPrivileged } from '../engine/capabilities.js';
import { RealRunner } from '../engine/runner.js';
import { readState } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { INSTANCE } from '../plan/names.js';

export async function fastDown(arg: string): Promise<number | undefined> {
  if (!INSTANCE.test(arg) || existsSync(arg) || !isPrivileged()) return undefined;
  const state = readState(arg);
  if (!state) return undefined;
  await teardown(state, new RealRunner());
  process.stdout.write(`down lab '${state.instance}' (${state.namespaces.length} namespaces)\n`);
  return 0;
}

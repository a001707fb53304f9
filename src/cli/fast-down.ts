// `nslab down INSTANCE` without the CLI around it (see entry.ts): the common
// case only, a recorded instance named directly: as root, or, without
// privilege, a rootless lab that is up with its holder running. Anything else
// returns undefined and the full CLI's `down` handles it, with its messages.
import { existsSync } from 'node:fs';
import { isPrivileged } from '../engine/capabilities.js';
import { holderAlive, HOLDER_ENV, killHolder } from '../engine/holder.js';
import { RealRunner } from '../engine/runner.js';
import { readState, removeState } from '../engine/state.js';
import { teardown } from '../engine/teardown.js';
import { INSTANCE } from '../plan/names.js';

export async function fastDown(arg: string): Promise<number | undefined> {
  if (!INSTANCE.test(arg) || existsSync(arg)) return undefined;
  const root = isPrivileged();
  if (!root && process.env[HOLDER_ENV] === '1') return undefined;
  const state = readState(arg);
  if (!state) return undefined;
  if (root) await teardown(state, new RealRunner());
  else {
    // as rootless.ts's downRootless: ending the holder ends everything of the lab
    if (state.status !== 'up' || !holderAlive(state.holder)) return undefined;
    await killHolder(state.holder!);
    removeState(state.instance);
  }
  process.stdout.write(`down lab '${state.instance}' (${state.namespaces.length} namespaces)\n`);
  return 0;
}

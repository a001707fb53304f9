import { spawnSync } from 'node:child_process';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { exitStatus, findInstance } from './common.js';
import { enterNode, rootlessHere } from './rootless.js';

export async function run(labArg: string, node: string, command: string[]): Promise<number> {
  if (rootlessHere()) {
    const state = await findInstance(labArg);
    return enterNode(state, Lab.attach(state.instance).ns(node), command);
  }
  requireRoot('entering a node');
  const lab = Lab.attach((await findInstance(labArg)).instance);
  // `ip netns exec` (not nsenter) for users: it also shows the namespace's own /sys and /etc/netns files
  const r = spawnSync('ip', ['netns', 'exec', lab.ns(node), ...command], { stdio: 'inherit' });
  return exitStatus(r);
}

import { spawnSync } from 'node:child_process';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { inNamespace } from '../engine/runner.js';
import { exitStatus, findInstance } from './common.js';
import { enterNode, rootlessHere } from './rootless.js';

export async function run(labArg: string, node: string, command: string[]): Promise<number> {
  if (rootlessHere()) {
    const state = await findInstance(labArg);
    return enterNode(state, Lab.attach(state.instance).ns(node), command);
  }
  requireRoot('entering a node');
  const lab = Lab.attach((await findInstance(labArg)).instance);
  // as the node: its mount namespace too (its /run and files, /sys, table names: node-mounts.ts)
  const argv = inNamespace(lab.ns(node), command, true);
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit' });
  return exitStatus(r);
}

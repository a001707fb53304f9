import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { inNamespace } from '../engine/runner.js';
import { exitStatus, findInstance } from './common.js';
import { enterNode, rootlessHere } from './rootless.js';

export async function run(labArg: string, node: string): Promise<number> {
  const rootless = rootlessHere();
  if (!rootless) requireRoot('entering a node');
  const lab = Lab.attach((await findInstance(labArg)).instance);
  const prompt = `[nslab ${lab.instance}:${node}] \\w\\$ `;
  const shell = existsSync('/bin/bash') ? ['/bin/bash', '--norc', '-i'] : ['/bin/sh', '-i'];
  const env = { ...process.env, PS1: prompt, NSLAB_LAB: lab.instance, NSLAB_NODE: node };
  // rootless: inside the lab's holder, with capabilities there only (src/engine/holder.ts)
  if (rootless) return enterNode(lab.state, lab.ns(node), shell, env);
  const argv = inNamespace(lab.ns(node), shell, true);
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'inherit', env });
  return exitStatus(r);
}

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { requireRoot } from '../engine/capabilities.js';
import { Lab } from '../engine/lab.js';
import { exitStatus, findInstance } from './common.js';

export async function run(labArg: string, node: string): Promise<number> {
  requireRoot('entering a node');
  const lab = Lab.attach((await findInstance(labArg)).instance);
  const prompt = `[nslab ${lab.instance}:${node}] \\w\\$ `;
  const shell = existsSync('/bin/bash') ? ['/bin/bash', '--norc', '-i'] : ['/bin/sh', '-i'];
  const r = spawnSync('ip', ['netns', 'exec', lab.ns(node), ...shell], {
    stdio: 'inherit',
    env: { ...process.env, PS1: prompt, NSLAB_LAB: lab.instance, NSLAB_NODE: node },
  });
  return exitStatus(r);
}

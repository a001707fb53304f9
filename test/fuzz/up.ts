// The bring-up half of the fuzz property: a mutated lab that validation
// accepted comes up for real (all its stages applied) and goes down leaving no
// namespace of its instance. Root only; every sample has its own instance id.
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { Lab } from '../../src/engine/lab.js';
import { RealRunner } from '../../src/engine/runner.js';
import { readState } from '../../src/engine/state.js';
import { deleteNamespaces, stopNamespaceProcesses } from '../../src/engine/teardown.js';
import { EnvironmentError } from '../../src/errors.js';
import type { LabModel } from '../../src/lab/model.js';
import { instanceName, randomId } from '../../src/plan/names.js';
import type { Path } from './lab-mutations.js';

/**
 * What the up test never mutates: the text of an nftables ruleset and a
 * service's command. Both are handed to their program as they are (nft -f, exec),
 * which alone can judge them; `validate` only checks that they cannot escape
 * the node (no include, no NUL, no empty command). The up test also runs every
 * service as `sleep 3600`, so that no mutated lab ever makes this machine run
 * anything but sleep, and a service cannot fail for its own reasons (a daemon
 * binding an address the mutation moved).
 */
export const FROZEN_KEYS = ['nftables', 'command'];
export const frozen = (path: Path) => path.some((s) => FROZEN_KEYS.includes(String(s)));
export const SERVICE_ARGV = ['sleep', '3600'];

export function prepareForUp(lab: any): void {
  const visit = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (Array.isArray(o.services))
        for (const s of o.services) if (s && typeof s === 'object' && 'command' in s) s.command = [...SERVICE_ARGV];
      Object.values(o).forEach(visit);
    }
  };
  visit(lab);
}

/** Safety: the model runs nothing but sleep and loads only rulesets of the bundled labs. */
export function onlyKnownPrograms(model: LabModel, rulesets: Set<string>): boolean {
  const configs = [...model.nodes.map((n) => n.config), ...model.stages.flatMap((s) => [...s.apply.values()])];
  return configs.every(
    (c) =>
      c.services.every((s) => JSON.stringify(s.argv) === JSON.stringify(SERVICE_ARGV)) &&
      (c.nftables === undefined || rulesets.has(c.nftables.text)),
  );
}

export function namespacesOf(instance: string): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => n.startsWith(`nslab-${instance}.`));
}

/** The instance's table-name directories in /etc/netns (down removes them). */
export function etcOf(instance: string): string[] {
  try {
    return readdirSync('/etc/netns').filter((n) => n.startsWith(`nslab-${instance}.`));
  } catch {
    return [];
  }
}

export interface UpOutcome {
  instance: string;
  /** The error of `up`, if it failed (an environment error is not counted: see `environment`). */
  error?: unknown;
  environment?: string;
  /** What is wrong after `down` (or after a failed up unwound): namespaces or state left. */
  leftover?: string;
}

/** Brings the lab up with every stage applied, then down (always); reports what went wrong. */
export async function upAndDown(model: LabModel): Promise<UpOutcome> {
  const id = `fz${randomId()}`;
  const instance = instanceName(model.name, id);
  const out: UpOutcome = { instance };
  const stage = model.stages.at(-1)?.name;
  let lab: Lab | undefined;
  try {
    lab = await Lab.up(model, { id, stage, status: 'testing' });
  } catch (e) {
    if (e instanceof EnvironmentError && model.needs.length) out.environment = e.message.split('\n')[0];
    else out.error = e;
  } finally {
    if (lab) await lab.down();
  }
  const left = namespacesOf(instance);
  const state = readState(instance);
  const etc = etcOf(instance);
  if (left.length || state || etc.length) {
    out.leftover = `left behind: namespaces [${left.join(', ')}]${state ? `, state file of ${instance}` : ''}${etc.length ? `, /etc/netns entries [${etc.join(', ')}]` : ''}`;
    // only this sample's own instance is ever cleaned up here
    try {
      if (state) await Lab.attach(instance).down();
    } catch {
      /* reported above */
    }
    const still = namespacesOf(instance);
    if (still.length) {
      await stopNamespaceProcesses(still);
      await deleteNamespaces(still, new RealRunner());
    }
  }
  return out;
}

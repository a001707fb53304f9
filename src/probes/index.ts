import type { Lab } from '../engine/lab.js';
import { Watch, stopWatch } from '../capture/watch.js';
import { markClosed } from '../capture/closed.js';
import type { LabModel, TestModel } from '../lab/model.js';
import { agentOf, stopAgents } from './agent.js';
import { ownerOf, target } from './targets.js';
import type { ProbeKind } from '../lab/schema.js';
import { exec } from './exec.js';
import { flows } from './flows.js';
import { ping } from './ping.js';
import { route } from './route.js';
import { tcp } from './tcp.js';
import { throughput } from './throughput.js';
import type { Probe } from './types.js';
import { udp } from './udp.js';
import { http } from './http.js';

export const PROBES: Record<ProbeKind, Probe> = { ping, tcp, udp, route, exec, flows, throughput, http };
export type { Check, ProbeOutcome, ProbeContext } from './types.js';

/** What prepareProbes is still starting in a lab: closeProbes waits for it. */
const preparing = new WeakMap<Lab, Promise<unknown>>();

/**
 * Ends what probing keeps running in a lab (its captures and probe agents):
 * before down, and when a run hands the lab back. Final for this handle of the
 * lab: nothing starts in it afterwards, not even what prepareProbes had not yet
 * reached (a later stage's agents, after an earlier stage failed to apply).
 */
export async function closeProbes(lab: Lab): Promise<void> {
  markClosed(lab);
  await preparing.get(lab);
  await Promise.all([stopWatch(lab), stopAgents(lab)]);
}

/**
 * Starts, in the background, what the tests will need: the lab's captures at
 * once, and the agents of the nodes that send or answer tcp, udp, flows and
 * throughput, stage by stage (the first stage's first; a later stage's while
 * the earlier ones' tests wait on the network, which leaves the CPU idle).
 * A failure to start is left to the test that needs it to report.
 */
export function prepareProbes(lab: Lab, model: LabModel, stages: TestModel[][]): void {
  const quiet = (p: Promise<unknown>) => p.catch(() => {});
  if (stages.flat().some((t) => t.probe !== 'route' && t.probe !== 'exec' && t.probe !== 'throughput'))
    void quiet(Watch.for(lab));
  const started = new Set<string>();
  const chain = stages.reduce(async (before, tests) => {
    await before;
    const nodes = [...agentNodes(model, tests)].filter((n) => !started.has(n));
    for (const n of nodes) started.add(n);
    await Promise.all(nodes.map((n) => quiet(agentOf(lab, n)))); // refused once closeProbes has begun
  }, Promise.resolve());
  preparing.set(lab, Promise.all([preparing.get(lab), chain]));
}

/** The nodes whose agents these tests use: the sender of each, and the owner of a target nslab answers for. */
function agentNodes(model: LabModel, tests: TestModel[]): Set<string> {
  const nodes = new Set<string>();
  for (const t of tests) {
    if (!['tcp', 'udp', 'flows', 'throughput', 'http'].includes(t.probe)) continue;
    const s = t.spec as { from?: string; to?: string | string[]; listen?: boolean; ipv6?: boolean; proto?: string };
    if (s.from) nodes.add(s.from);
    // http: a service of the lab answers (nslab has no http listener of its own)
    const listens =
      t.probe === 'throughput' || (t.probe === 'flows' ? s.proto === 'tcp' : s.listen !== false && t.probe !== 'http');
    if (!listens) continue;
    for (const to of Array.isArray(s.to) ? s.to : s.to ? [s.to] : []) {
      try {
        const owner = ownerOf(model, target(model, to, s.ipv6));
        if (owner) nodes.add(owner);
      } catch {
        /* the test itself says what is wrong with its target */
      }
    }
  }
  return nodes;
}

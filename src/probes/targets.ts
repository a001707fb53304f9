// Which node owns an address, and helpers to run the probe helper in a node.
import type { LabModel } from '../lab/model.js';
import { resolveTarget } from '../lab/resolve.js';
import { traces, type TraceInput } from '../traces/build.js';
import type { Trace } from '../traces/trace.js';

export function ownerOf(model: LabModel, address: string): string | undefined {
  for (const n of model.nodes) {
    if (n.interfaces.some((i) => i.addresses.some((a) => a.address === address))) return n.name;
    if (model.stages.some((s) => s.apply.get(n.name)?.addresses.some((a) => a.cidr.address === address))) return n.name;
  }
  return undefined;
}

export function target(model: LabModel, to: string, ipv6?: boolean): string {
  const t = resolveTarget(model, to, ipv6 ? 6 : 4);
  if (!t) throw new Error(`'${to}' has no ${ipv6 ? 'IPv6' : 'IPv4'} address`);
  return t;
}

/** A probe's traces, every address on the way named by the node of the lab that holds it. */
export const labTraces = (model: LabModel, t: Omit<TraceInput, 'ownerOf'>): Trace[] =>
  traces({ ...t, ownerOf: (a) => ownerOf(model, a) });

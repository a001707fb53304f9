// Where a test sends: its target, an address or a node (node:interface) standing for its first address of the
// family, read from the resolved model at run time.
import { parseAddress, type Cidr } from '../addr.js';
import type { LabModel } from '../model.js';

/** A test's target: an address, or node / node:iface meaning its first address of the family. */
export function resolveTarget(lab: LabModel, to: string, family: 4 | 6 = 4): string | undefined {
  const a = parseAddress(to);
  if (a) return a.address;
  const [node, iface] = to.split(':');
  const n = lab.nodes.find((x) => x.name === node);
  const pick = (cs: Cidr[]) => cs.find((c) => c.family === family)?.address;
  if (!n) return undefined;
  // the base addresses first, then those stages add, in order
  const staged = (name: string) =>
    lab.stages.flatMap(
      (s) =>
        s.apply
          .get(n.name)
          ?.addresses.filter((a) => a.iface === name)
          .map((a) => a.cidr) ?? [],
    );
  const all = (i: { name: string; addresses: Cidr[] }) => [...i.addresses, ...staged(i.name)];
  if (iface) {
    const i = n.interfaces.find((x) => x.name === iface);
    return i && pick(all(i));
  }
  for (const i of n.interfaces)
    if (i.name !== 'lo') {
      const x = pick(all(i));
      if (x) return x;
    }
  return undefined;
}

// The machine as the lab's host node: its interfaces with their global addresses (down where the machine had them
// down), the table names its routes and rules use, its routes, rules and sysctls, each part made by its own file; and
// where in the snapshot each interface and address came from. Routes that take the place of the kernel's own subnet
// routes are the first stage's (the caller puts them there); the gateways the routes name, and whether any leads off
// the machine's subnets, are for the surroundings and the tests.
import type { Cidr } from '../lab/addr.js';
import { hostView, type HostView } from './host-view.js';
import type { HostIface, HostInterfaces } from './interfaces.js';
import type { Ledger, Path } from './ledger.js';
import { hostRoutes, type HostRoutes } from './routes.js';
import { hostRules } from './rules.js';
import { said, type Snapshot } from './schema.js';
import { hostSysctls } from './sysctls.js';

export interface HostNode extends Omit<HostRoutes, 'base'> {
  /** nodes.HOST of the lab. */
  node: Record<string, unknown>;
  /** The node as its routes and rules were mapped (its interfaces and tables, for the recorded decisions' tests). */
  view: HostView;
}

export function hostNode(snap: Snapshot, host: string, machine: HostInterfaces, ledger: Ledger): HostNode {
  const { ifaces, lo } = machine;
  const hv = hostView(snap, host, machine, ledger);
  const { base, stage, gateways, offLink } = hostRoutes(snap, ifaces, hv, ledger);
  const rules = hostRules(snap, hv, ledger);
  const sysctl = hostSysctls(snap, host, hv.kept, ledger);
  const loAddrs = lo.map((x) => x.cidr);
  const { tables } = hv;
  const node: Record<string, unknown> = {
    description: `${snap.name} as the snapshot shows it (${snap.source}, ${snap.taken})`,
    interfaces: Object.fromEntries([
      ...ifaces.map((i) => [
        i.name,
        plain(i) ? addrList(i.addresses) : { addresses: i.addresses.map((a) => a.text), ...extra(i) },
      ]),
      ...(loAddrs.length ? [['lo', addrList(loAddrs)]] : []),
    ]),
    ...(Object.keys(tables).length ? { tables } : {}),
    ...(base.length ? { routes: base } : {}),
    ...(rules.length ? { rules } : {}),
    ...(Object.keys(sysctl).length ? { sysctl } : {}),
  };
  // where each address of the machine is in the lab: the form addrList and the down form give it
  for (const i of ifaces) {
    const at: Path = ['nodes', host, 'interfaces', i.name, ...(plain(i) ? [] : ['addresses'])];
    ledger.origins.push({ at, from: i.at, what: `interface ${said(i.name)}` });
    const what = `this address of interface ${said(i.name)}`;
    i.from.forEach((from, j) =>
      ledger.origins.push({ at: plain(i) && i.addresses.length === 1 ? at : [...at, j], from, what }),
    );
  }
  lo.forEach((x, j) =>
    ledger.origins.push({
      at: ['nodes', host, 'interfaces', 'lo', ...(lo.length === 1 ? [] : [j])],
      from: x.from,
      what: 'this address of lo',
    }),
  );
  return { node, stage, gateways, offLink, view: hv };
}

/** A lab's veth is up with an MTU of 1500: an interface that is so is written as its addresses alone. */
const plain = (i: HostIface) => i.up && (i.mtu === undefined || i.mtu === 1500);
/** What an interface has that a lab's veth has not: down, another MTU (the lab takes 68-65535). */
const extra = (i: HostIface) => ({
  ...(i.up ? {} : { up: false }),
  ...(i.mtu !== undefined && i.mtu !== 1500 && i.mtu >= 68 && i.mtu <= 65535 ? { mtu: i.mtu } : {}),
});
/** An interface's addresses as the lab writes them: one address alone, more as a list. */
const addrList = (cs: Cidr[]) => (cs.length === 1 ? cs[0]!.text : cs.map((c) => c.text));

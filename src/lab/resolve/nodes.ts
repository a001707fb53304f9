// A node: its kind (a bridge takes no settings and joins two or more links), its view as its base settings leave
// it (lo's addresses, the interfaces its links create), and its interfaces as the model shows them.
import { parseCidr } from '../addr.js';
import type { NodeView } from '../iproute.js';
import type { Path } from '../load.js';
import type { LinkModel, NodeModel } from '../model.js';
import type { NodeSpecT } from '../schema.js';
import { resolveConfig } from './config.js';
import type { ResolveContext } from './context.js';

/** lo's own addresses, in every node (parsed once: parsing IPv6 costs ~0.1 ms). */
const LO4 = parseCidr('127.0.0.1/8')!;
const LO6 = parseCidr('::1/128')!;

/** A node with its base settings; its view is kept in the context for the stages and tests after it. */
export function resolveNode(
  cx: ResolveContext,
  name: string,
  spec: NodeSpecT,
  ifaces: Map<string, Map<string, number>>,
  linkOf: Map<string, LinkModel>,
): NodeModel {
  const base: Path = ['nodes', name];
  const kind = spec.kind ?? 'host';
  const created = ifaces.get(name) ?? new Map<string, number>();
  const view: NodeView = { interfaces: new Map([['lo', [LO4, LO6]]]), tables: new Map() };
  for (const ifname of created.keys()) view.interfaces.set(ifname, []);
  cx.views.set(name, view);
  if (kind === 'bridge') {
    for (const k of [
      'interfaces',
      'routes',
      'rules',
      'tables',
      'masquerade',
      'nftables',
      'services',
      'files',
      'forwarding',
      'sysctl',
    ] as const)
      if (spec[k] !== undefined)
        cx.problem(
          [...base, k],
          `a bridge node takes no '${k}'`,
          'a bridge only joins its links; put addresses and settings on the hosts',
          true,
        );
    if (created.size < 2)
      cx.problem(base, `bridge '${name}' has ${created.size} link(s)`, 'a bridge joins two or more links', true);
  }
  const config = resolveConfig(cx, name, spec, base, view, true);
  const interfaces = [...created.keys()].map((ifname) => {
    const s = spec.interfaces?.[ifname];
    const o = s && typeof s === 'object' && !Array.isArray(s) ? s : {};
    // a copy: stages add to the view later
    return {
      name: ifname,
      addresses: [...(view.interfaces.get(ifname) ?? [])],
      mtu: o.mtu ?? linkOf.get(`${name}:${ifname}`)?.mtu,
      mac: o.mac,
      up: o.up ?? true,
    };
  });
  const lo = config.addresses.filter((a) => a.iface === 'lo').map((a) => a.cidr);
  interfaces.unshift({ name: 'lo', addresses: lo, mtu: undefined, mac: undefined, up: true });
  return { name, kind, interfaces, tables: Object.fromEntries(view.tables), config };
}

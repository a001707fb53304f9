// A node's interfaces as its settings or a stage's apply give them: each names an interface a link created (or
// lo); its addresses parse, are ones an interface can hold, and are unique in the lab; its MTU, MAC and up or down.
// What they add goes into the node's view, which the routes, rules and tests after them are checked against.
import { notAnInterfaceAddress, parseCidr } from '../addr.js';
import { shown } from '../grammar.js';
import type { Path } from '../load.js';
import type { NodeConfig } from '../model.js';
import type { ApplySpecT, InterfaceSpecT } from '../schema.js';
import { suggest } from '../suggest.js';
import type { ConfigScope, ResolveContext, Settings } from './context.js';
import { checkIfname } from './links.js';

function interfaceAddresses(spec: InterfaceSpecT): string[] {
  if (typeof spec === 'string') return [spec];
  if (Array.isArray(spec)) return spec;
  const a = spec.addresses;
  return a === undefined ? [] : typeof a === 'string' ? [a] : a;
}

/** The interfaces the settings name: their addresses, MTU, MAC and state. */
export function resolveInterfaces(
  cx: ResolveContext,
  { node, base, view, isBase }: ConfigScope,
  spec: Settings,
  c: NodeConfig,
): void {
  for (const [ifname, ispec] of Object.entries(spec.interfaces ?? {})) {
    const p = [...base, 'interfaces', ifname];
    if (!checkIfname(cx, ifname, p, true)) continue;
    if (!view.interfaces.has(ifname)) {
      const created = [...view.interfaces.keys()].filter((n) => n !== 'lo');
      cx.problem(
        p,
        `interface '${ifname}' of node '${node}' is created by no link`,
        created.length
          ? `add a link such as '${node}:${ifname} other:eth0', or use one of: ${created.join(', ')}`
          : `add a link such as '${node}:${ifname} other:eth0'`,
        true,
      );
      continue;
    }
    if (typeof ispec === 'object' && !Array.isArray(ispec)) {
      if (ifname === 'lo' && (ispec.mtu || ispec.mac || ispec.up === false))
        cx.problem(p, 'lo takes addresses only', undefined, true);
      if (!isBase && (ispec.mtu !== undefined || ispec.mac !== undefined))
        c.interfaces.push({ name: ifname, mtu: ispec.mtu, mac: ispec.mac });
      if (ispec.up === false && !isBase) c.down.push(ifname);
      if (ispec.up === true && !isBase) c.up.push(ifname);
      if (ispec.up === false) (view.down ??= new Set()).add(ifname);
      if (ispec.up === true) view.down?.delete(ifname);
    }
    const list = interfaceAddresses(ispec);
    list.forEach((text, k) => {
      const ap: Path =
        typeof ispec === 'string'
          ? p
          : Array.isArray(ispec)
            ? [...p, k]
            : Array.isArray(ispec.addresses)
              ? [...p, 'addresses', k]
              : [...p, 'addresses'];
      const cidr = parseCidr(text);
      if (!cidr) {
        cx.problem(
          ap,
          `'${shown(text)}' is not a valid address with prefix length`,
          text.includes('/')
            ? 'write IPv4 as four decimal numbers without leading zeros (10.0.0.1/24), IPv6 without a zone (2001:db8::1/64); the length is 0-32 or 0-128'
            : `add the prefix length, e.g. ${shown(text)}/24`,
        );
        return;
      }
      const why =
        notAnInterfaceAddress(cidr) ??
        (ifname === 'lo' && ['127.0.0.1', '::1'].includes(cidr.address)
          ? 'lo has it already'
          : ifname !== 'lo' && cidr.family === 6 && cidr.address === '::1'
            ? 'the IPv6 loopback address belongs to lo only'
            : undefined);
      if (why) {
        cx.problem(
          ap,
          `'${text}' cannot be an interface address: ${why}`,
          'give the interface a unicast address such as 10.0.0.1/24 or 2001:db8::1/64',
        );
        return;
      }
      const owner = cx.addressOwner.get(cidr.address);
      if (owner) {
        cx.problem(ap, `address ${cidr.address} is already used by ${owner}`, 'every address in a lab must be unique');
        return;
      }
      cx.addressOwner.set(cidr.address, `${node}:${ifname}`);
      view.interfaces.get(ifname)!.push(cidr);
      c.addresses.push({ iface: ifname, cidr });
    });
  }
}

/** A stage's up and down lists: interfaces the node has, taken down or up before the routes are added. */
export function resolveUpDown(
  cx: ResolveContext,
  { node, base, view }: ConfigScope,
  spec: Settings,
  c: NodeConfig,
): void {
  for (const dir of ['up', 'down'] as const)
    for (const [k, ifname] of ((spec as ApplySpecT)[dir] ?? []).entries()) {
      if (!view.interfaces.has(ifname))
        cx.problem(
          [...base, dir, k],
          `interface '${ifname}' does not exist in node '${node}'`,
          suggest(ifname, [...view.interfaces.keys()], 'interfaces'),
        );
      else {
        c[dir].push(ifname);
        // the plan takes interfaces down and up before it adds routes: the routes below see this state
        if (dir === 'down') (view.down ??= new Set()).add(ifname);
        else view.down?.delete(ifname);
      }
    }
}

// The machine's interfaces that become the host node's: those with a global address (an interface without one has no
// part in which way replies go), under a name a lab interface can have; the global addresses of each, and those of lo.
// Import stops here, before anything is made, for a snapshot no lab can be made of: no such interface, more than the
// addressing plan has room for, or an address where the plan puts the routers and clients import invents.
import { JsonFileError, type JsonProblem } from '../errors.js';
import { inSubnet, parseCidr, type Cidr } from '../lab/addr.js';
import { IFNAME, RESERVED_IFNAMES } from '../lab/grammar.js';
import { MAX_INTERFACES, RESERVED4, RESERVED6 } from './addressing.js';
import { leaveOut, type Ledger, type Path } from './ledger.js';
import { said, type Snapshot } from './schema.js';

const RESERVED = { 4: parseCidr(RESERVED4)!, 6: parseCidr(RESERVED6)! };

export interface HostIface {
  name: string;
  addresses: Cidr[];
  /** The JSON path of each address in the snapshot (addresses[i].addr_info[j]). */
  from: Path[];
  /** addresses[i]: the interface in the snapshot. */
  at: Path;
  up: boolean;
  /** The interface's MTU, where the snapshot gives it. */
  mtu?: number;
  /** The peers of its point-to-point addresses (`ip addr add A peer P`), and the address of each: a lab's has none. */
  peers: { net: Cidr; local: string }[];
}

/** An address of the machine, and where it is in the snapshot (its JSON path). */
export interface AddressFrom {
  cidr: Cidr;
  from: Path;
}

export interface HostInterfaces {
  ifaces: HostIface[];
  lo: AddressFrom[];
}

/**
 * The interfaces and addresses of the machine the lab holds; JsonFileError (located in FILE) for a snapshot no lab can
 * be made of.
 */
export function hostInterfaces(snap: Snapshot, file: string, ledger: Ledger): HostInterfaces {
  const { ifaces, lo, leftOut } = withGlobalAddresses(snap, ledger);
  if (!ifaces.length)
    throw new JsonFileError(
      file,
      [
        ...leftOut,
        { path: ['addresses'], message: `no interface of ${said(snap.name)} has a global address a lab can hold` },
      ],
      'nothing to import: a lab needs the interfaces replies leave by',
    );
  // the addressing plan has room for so many routers and clients: refused before anything is made
  if (ifaces.length > MAX_INTERFACES)
    throw new JsonFileError(
      file,
      [
        {
          path: ['addresses'],
          message:
            `${ifaces.length} interfaces have a global address, and nslab import can make a lab of at most ${MAX_INTERFACES}: ` +
            `each gets a router and a client, and its addressing plan gives each a /30 of ${RESERVED4} ` +
            "for the client's link and for the core's",
        },
      ],
      'leave out of the snapshot the interfaces the question is not about (their entries under addresses, with their routes and rules)',
    );
  const reservedUse: JsonProblem[] = [];
  const everyAddress = [...ifaces.flatMap((i) => i.addresses.map((cidr, j) => ({ cidr, from: i.from[j]! }))), ...lo];
  for (const { cidr: a, from } of everyAddress)
    if (inSubnet(a.address, RESERVED[a.family])) {
      const range = a.family === 4 ? RESERVED4 : RESERVED6;
      const message = `${a.text} is in ${range}, where nslab import puts the routers and clients it makes`;
      reservedUse.push({ path: [...from, 'local'], message });
    }
  if (reservedUse.length)
    throw new JsonFileError(
      file,
      reservedUse,
      'not supported yet: edit the snapshot (or, after importing a copy without it, the lab)',
    );
  return { ifaces, lo };
}

/** The machine's interfaces that a lab can hold, lo's global addresses, and what was left out (with where). */
function withGlobalAddresses(snap: Snapshot, ledger: Ledger) {
  const ifaces: HostIface[] = [];
  const lo: AddressFrom[] = [];
  const leftOut: JsonProblem[] = [];
  snap.addresses.forEach((l, i) => {
    const global: AddressFrom[] = [];
    const peers: HostIface['peers'] = [];
    (l.addr_info ?? []).forEach((a, j) => {
      if (a.scope !== 'global' || (a.family !== 'inet' && a.family !== 'inet6')) return;
      // with a peer, the prefix length is the peer's: the address itself is alone on the link (/32, /128)
      const peer = typeof a.address === 'string' && a.address !== a.local ? a.address : undefined;
      const full = a.family === 'inet' ? 32 : 128;
      const cidr = parseCidr(`${String(a.local)}/${peer ? full : String(a.prefixlen)}`);
      if (peer) {
        const p = parseCidr(`${peer}/${String(a.prefixlen)}`);
        if (p) peers.push({ net: p, local: String(a.local) });
        ledger.notes.push(
          `${l.ifname}: ${String(a.local)} peer ${peer}/${String(a.prefixlen)} is imported as ${String(a.local)}/${full} ` +
            "and the kernel's route to the peer; routes via the peer are marked onlink (a lab address has no peer)",
        );
      }
      if (cidr) global.push({ cidr, from: ['addresses', i, 'addr_info', j] });
    });
    if (l.ifname === 'lo') {
      lo.push(...global);
      return;
    }
    if (!global.length) {
      // a bridge's leg, a link without addresses: it has no part in which way replies go, but it is said
      leaveOut(ledger, 'interface', `interface ${said(l.ifname)} left out: it has no global address`);
      return;
    }
    if (!IFNAME.test(l.ifname) || RESERVED_IFNAMES.includes(l.ifname)) {
      const why = 'not a name a lab interface can have';
      leaveOut(ledger, 'interface', `interface ${said(l.ifname)} left out: ${why}`);
      leftOut.push({ path: ['addresses', i, 'ifname'], message: `${said(l.ifname)} is left out: ${why}` });
      return;
    }
    const addresses = global.map((g) => g.cidr);
    ifaces.push({
      name: l.ifname,
      addresses,
      from: global.map((g) => g.from),
      at: ['addresses', i],
      up: (l.flags ?? []).includes('UP'),
      ...(l.mtu !== undefined ? { mtu: l.mtu } : {}),
      peers,
    });
  });
  return { ifaces, lo, leftOut };
}

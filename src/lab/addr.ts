// Address helpers on top of ipaddr.js: parsing "addr/len", subnet membership.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export interface Cidr {
  address: string;
  prefix: number;
  family: Family;
  text: string;
}

// IPv4 exactly as the kernel reads it: four decimal octets, no leading zeros.
// ipaddr.js also takes '10.50' (which it reads as 10.0.0.50, iproute2 as
// 10.50.0.0) and '010.050.0.1' (octal to some readers): both are refused.
const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);
// IPv6: hex groups, '::' and an optional dotted tail; no zone id ('%eth0'), which names an interface, not an address
const IPV6 = /^[0-9A-Fa-f:.]+$/;

function plausible(addr: string): boolean {
  return addr.includes(':')
    ? IPV6.test(addr) && (!addr.includes('.') || IPV4.test(addr.slice(addr.lastIndexOf(':') + 1)))
    : IPV4.test(addr);
}

/** Parses "10.0.0.1/24" (prefix required); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addr = text.slice(0, slash);
  if (slash < 0 || !plausible(addr) || !/^(0|[1-9][0-9]{0,2})$/.test(text.slice(slash + 1))) return undefined;
  // IPv4 that passed the strict check above is already in its canonical form: no parser needed (~40 us each, lab files
  // hold thousands)
  if (!addr.includes(':')) {
    const prefix = Number(text.slice(slash + 1));
    return prefix <= 32 ? { address: addr, prefix, family: 4, text } : undefined;
  }
  try {
    const [addr, prefix] = ipaddr.parseCIDR(text);
    return { address: addr.toString(), prefix, family: addr.kind() === 'ipv4' ? 4 : 6, text };
  } catch {
    return undefined;
  }
}

/** Parses a bare address (no prefix); undefined when invalid. */
export function parseAddress(text: string): { address: string; family: Family } | undefined {
  // IPv4 that passes the strict check is canonical already (as in parseCidr): no parser needed
  if (!text.includes(':')) return IPV4.test(text) ? { address: text, family: 4 } : undefined;
  if (!plausible(text) || !ipaddr.isValid(text)) return undefined;
  const a = ipaddr.parse(text);
  return { address: a.toString(), family: a.kind() === 'ipv4' ? 4 : 6 };
}

/** A prefix written in a route or rule: an address with or without /len. */
export function parsePrefix(text: string): Cidr | undefined {
  if (text.includes('/')) return parseCidr(text);
  const a = parseAddress(text);
  return a && { ...a, prefix: a.family === 4 ? 32 : 128, text };
}

/** An IPv4 address (already checked) as a number. */
function v4Number(a: string): number {
  let n = 0;
  for (const o of a.split('.')) n = n * 256 + Number(o);
  return n;
}

export function inSubnet(address: string, subnet: Cidr): boolean {
  // IPv4 by arithmetic (ipaddr.js parses both addresses each time: lab files and snapshots ask this thousands of times)
  const v4 = !address.includes(':');
  if (v4 !== (subnet.family === 4)) return false;
  if (v4 && IPV4.test(address) && IPV4.test(subnet.address)) {
    const size = 2 ** (32 - subnet.prefix);
    return Math.floor(v4Number(address) / size) === Math.floor(v4Number(subnet.address) / size);
  }
  const a = ipaddr.parse(address);
  const s = ipaddr.parse(subnet.address);
  return a.kind() === s.kind() && a.match(s, subnet.prefix);
}

/** The network address of a CIDR, e.g. 10.0.0.1/24 -> 10.0.0.0/24. */
export function networkOf(c: Cidr): string {
  const net =
    c.family === 4
      ? ipaddr.IPv4.networkAddressFromCIDR(`${c.address}/${c.prefix}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${c.address}/${c.prefix}`);
  return `${net.toString()}/${c.prefix}`;
}

const NOT_OWN = {
  unspecified: 'the unspecified address belongs to no interface',
  multicast: 'a multicast address is a group, not an interface address',
  broadcast: 'the broadcast address belongs to no interface',
};

/** Why an address cannot be an interface's own, or undefined if it can. */
export function notAnInterfaceAddress(c: Cidr): string | undefined {
  if (c.family === 4) {
    // ipaddr.js's IPv4 ranges, without parsing (~25 us an address): 0/8 unspecified, 224/4 multicast
    const first = Number(c.address.slice(0, c.address.indexOf('.')));
    if (first === 0) return NOT_OWN.unspecified;
    if (first >= 224 && first <= 239) return NOT_OWN.multicast;
    if (c.address === '255.255.255.255') return NOT_OWN.broadcast;
    if (c.prefix === 0) return 'a /0 prefix would make every IPv4 address on-link';
    return undefined;
  }
  const a = ipaddr.parse(c.address);
  const range = a.range();
  if (range === 'unspecified') return NOT_OWN.unspecified;
  if (c.text.includes('.') || range === 'ipv4Mapped')
    return 'an IPv4-mapped or IPv4-compatible IPv6 address belongs to no interface';
  if (range === 'multicast') return NOT_OWN.multicast;
  return undefined;
}

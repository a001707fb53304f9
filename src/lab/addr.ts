// Address helpers on top of ipaddr.js: parsing "addr/len", subnet membership.
import ipaddr from 'ipaddr.js';

export type Family = 4 | 6;
export interface Cidr { address: string; prefix: number; family: Family; text: string }

/** Parses "10.0.0.1/24" (prefix required); undefined when invalid. */
export function parseCidr(text: string): Cidr | undefined {
  if (!text.includes('/')) return undefined;
  try {
    const [addr, prefix] = ipaddr.parseCIDR(text);
    return { address: addr.toString(), prefix, family: addr.kind() === 'ipv4' ? 4 : 6, text };
  } catch {
    return undefined;
  }
}

/** Parses a bare address (no prefix); undefined when invalid. */
export function parseAddress(text: string): { address: string; family: Family } | undefined {
  if (!ipaddr.isValid(text) || (text.includes('.') && !ipaddr.IPv4.isValidFourPartDecimal(text) && !text.includes(':'))) return undefined;
  const a = ipaddr.parse(text);
  return { address: a.toString(), family: a.kind() === 'ipv4' ? 4 : 6 };
}

/** A prefix written in a route or rule: an address with or without /len. */
export function parsePrefix(text: string): Cidr | undefined {
  if (text.includes('/')) return parseCidr(text);
  const a = parseAddress(text);
  return a && { ...a, prefix: a.family === 4 ? 32 : 128, text };
}

export function inSubnet(address: string, subnet: Cidr): boolean {
  const a = ipaddr.parse(address);
  const s = ipaddr.parse(subnet.address);
  return a.kind() === s.kind() && a.match(s, subnet.prefix);
}

/** The network address of a CIDR, e.g. 10.0.0.1/24 -> 10.0.0.0/24. */
export function networkOf(c: Cidr): string {
  const net = c.family === 4
    ? ipaddr.IPv4.networkAddressFromCIDR(`${c.address}/${c.prefix}`)
    : ipaddr.IPv6.networkAddressFromCIDR(`${c.address}/${c.prefix}`);
  return `${net.toString()}/${c.prefix}`;
}

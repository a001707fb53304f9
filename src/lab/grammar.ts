// The grammar of every piece of lab content that ends up in a name, an `ip` /
// `tc` batch line, a sysctl file or a script. Each is checked against the
// grammar of its consumer here, once, so that no lab file can smuggle a second
// command, a comment or a line continuation into what nslab runs.
import { oneLine } from '../errors.js';

/** Lab names: they become part of namespace names. */
export const LAB_NAME = /^[a-z0-9][a-z0-9-]{0,31}$/;
/** Node names: they become part of namespace names, so no '.', and at most 32 characters. */
export const NODE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** Service names: they become file names. */
export const SERVICE_NAME = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * One word of an `ip -batch` / `tc -batch` line. Everything iproute2 needs
 * (addresses, prefixes, numbers, masks, ranges, rates, percentages, names) and
 * none of the batch reader's specials: whitespace, '#', '\', quotes.
 */
export const BATCH_TOKEN = /^[A-Za-z0-9_.:/%+-]+$/;

/** Interface names: Linux allows 15 bytes; iproute2 words are safe because nslab always writes `dev NAME`. */
export const IFNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}$/;
/** Names that exist in every namespace or mean something else to the kernel's per-interface sysctls. */
export const RESERVED_IFNAMES = ['lo', 'all', 'default', '.', '..'];

/**
 * sysctl keys: net.* only (the keys private to a network namespace), dotted
 * components; an interface name containing '.' is written with '/', as
 * sysctl(8) does: net.ipv4.conf.eth0/100.rp_filter.
 */
export const SYSCTL_KEY = /^net(\.[A-Za-z0-9_-]+(\/[A-Za-z0-9_-]+)*){1,6}$/;
/**
 * sysctl values: words of safe characters separated by single spaces (e.g. "4096 131072 6291456"); no newline, '=' or
 * '#'.
 */
export const SYSCTL_VALUE = /^[A-Za-z0-9_.:,/+-]{1,64}( [A-Za-z0-9_.:,/+-]{1,64}){0,7}$/;

/** Control characters (newline included) and other invisible code points: never allowed in a name. */
export const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** A value shown inside a message: one line, control characters escaped, long ones cut. */
export function shown(value: string, max = 60): string {
  const s = oneLine(value);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

const UNITS: Record<string, number> = {
  bit: 1,
  kbit: 1e3,
  mbit: 1e6,
  gbit: 1e9,
  tbit: 1e12,
  bps: 8,
  kbps: 8e3,
  mbps: 8e6,
  gbps: 8e9,
  tbps: 8e12,
};

/** Bits per second of a tc rate string such as 10mbit. */
export function rateBits(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/i.exec(rate);
  if (!m) throw new Error(`bad rate ${rate}`);
  return Number(m[1]) * (UNITS[m[2]!.toLowerCase()] ?? NaN);
}

/** Milliseconds of a duration string such as 20ms, 1.5s, 500us. */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s)$/.exec(d);
  if (!m) throw new Error(`bad duration ${d}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'ms' ? 1 : 0.001);
}

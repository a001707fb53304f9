// The addresses nslab import invents around the machine, for router K (the
// K-th imported interface, from 0): its client's link and its link to the core
// router. IPv4 from the benchmarking range (RFC 2544), IPv6 from a unique local
// prefix: both rarely on a real machine (import refuses a snapshot that uses
// them). One /30 per link in each /16 bounds the plan: MAX_INTERFACES.
//
//   client link K: 198.18.0.0/16 + 4K (/30): router .1, client .2;
//                  fd00:6e73:6c62:K::/64 (K < 0x8000): router ::1, client ::2
//   core link K:   198.19.0.0/16 + 4K (/30): core .1, router .2;
//                  fd00:6e73:6c62:(0x8000 + K)::/64: core ::1, router ::2
//
// Each router reaches every client through one aggregate route (CLIENTS4,
// CLIENTS6) via the core; the core has one route per client: linear.

export const ULA = 'fd00:6e73:6c62'; // "nslb"
/** Where the plan's addresses come from; a machine that uses them cannot be imported. */
export const RESERVED4 = '198.18.0.0/15';
export const RESERVED6 = `${ULA}::/48`;
/** Every client's subnet is in these. */
export const CLIENTS4 = '198.18.0.0/16';
export const CLIENTS6 = `${ULA}::/49`;
/** One /30 per link in a /16 (IPv6 has room for twice as many). */
export const MAX_INTERFACES = 2 ** 16 / 4;

const v4 = (base: number, k: number, host: number) => {
  const n = base + 4 * k + host;
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
};
const CLIENT_BASE = ((198 << 24) >>> 0) + (18 << 16);
const CORE_BASE = ((198 << 24) >>> 0) + (19 << 16);

export interface RouterPlan {
  /** The router's and the client's addresses on the client link, with prefix; v6 only where asked. */
  cli: string[];
  client: string[];
  /** The client's gateways (the router's addresses on the client link). */
  clientGateways: string[];
  /** The core's and the router's addresses on the core link, with prefix. */
  coreSide: string[];
  routerSide: string[];
  /** The client subnets the core routes to this router, and via which address. */
  clientNets: { net: string; via: string }[];
  /** The router's aggregate routes to every client, via the core. */
  toClients: { net: string; via: string }[];
}

/** The plan for router K; `v6`: its client has IPv6; `core6`: the core link has IPv6 (some client has). */
export function routerPlan(k: number, v6: boolean, core6: boolean): RouterPlan {
  if (!Number.isInteger(k) || k < 0 || k >= MAX_INTERFACES)
    throw new RangeError(`router ${k} is outside the addressing plan (0-${MAX_INTERFACES - 1})`);
  const c6 = `${ULA}:${k.toString(16)}`;
  const l6 = `${ULA}:${(0x8000 + k).toString(16)}`;
  return {
    cli: [`${v4(CLIENT_BASE, k, 1)}/30`, ...(v6 ? [`${c6}::1/64`] : [])],
    client: [`${v4(CLIENT_BASE, k, 2)}/30`, ...(v6 ? [`${c6}::2/64`] : [])],
    clientGateways: [v4(CLIENT_BASE, k, 1), ...(v6 ? [`${c6}::1`] : [])],
    coreSide: [`${v4(CORE_BASE, k, 1)}/30`, ...(core6 ? [`${l6}::1/64`] : [])],
    routerSide: [`${v4(CORE_BASE, k, 2)}/30`, ...(core6 ? [`${l6}::2/64`] : [])],
    clientNets: [
      { net: `${v4(CLIENT_BASE, k, 0)}/30`, via: v4(CORE_BASE, k, 2) },
      ...(v6 ? [{ net: `${c6}::/64`, via: `${l6}::2` }] : []),
    ],
    toClients: [{ net: CLIENTS4, via: v4(CORE_BASE, k, 1) }, ...(core6 ? [{ net: CLIENTS6, via: `${l6}::1` }] : [])],
  };
}

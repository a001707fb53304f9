// The corpus of issue 18: realistic hosts built with plain `ip` in a namespace (an EC2 instance with two ENIs, a
// wg-quick full tunnel, a dual-ISP router, a RHEL dual-NIC server, a Kubernetes node, a load balancer / anycast host),
// shared by the import tests: from `nslab snapshot` (import-corpus.test.ts) and from a sos report (import-sos.test.ts).
import { sh } from './helpers.js';

interface Host {
  /** ip -batch lines; `-6 ...` lines go to an `ip -6 -batch` of their own (-6 cannot be written on a batch line). */
  ip: string[];
  sysctl?: string[];
}

/** Interfaces are veths (the kernel here lacks dummy, wireguard, vrf): the peer end stays in the namespace, down. */
const veth = (...names: string[]) =>
  names.flatMap((n) => [`link add ${n} type veth peer name ${n}p`, `link set ${n} up`]);

export const CORPUS: Record<string, Host> = {
  // amazon-ec2-net-utils: a table per ENI, a rule from each secondary address, metrics per ENI in main
  ec2: {
    ip: [
      ...veth('ens5', 'ens6'),
      'addr add 172.31.10.5/20 dev ens5',
      'addr add 172.31.20.7/20 dev ens6',
      'addr add 172.31.20.8/20 dev ens6',
      'route add default via 172.31.0.1 dev ens5 metric 512',
      'route add default via 172.31.16.1 dev ens6 metric 513',
      'route add default via 172.31.16.1 dev ens6 table 10001',
      'route add 172.31.16.0/20 dev ens6 src 172.31.20.7 table 10001',
      'rule add from 172.31.20.7 lookup 10001 prio 10001',
      'rule add from 172.31.20.8 lookup 10001 prio 10002',
    ],
  },
  // wg-quick full tunnel (wg0 a veth here): not fwmark, suppress_prefixlength, both families
  wgquick: {
    ip: [
      ...veth('eth0', 'wg0'),
      'addr add 192.168.178.20/24 dev eth0',
      'addr add 10.66.66.2/32 dev wg0',
      'route add default via 192.168.178.1 dev eth0',
      'route add default dev wg0 table 51820',
      'rule add not fwmark 51820 table 51820 prio 32764',
      'rule add table main suppress_prefixlength 0 prio 32765',
    ],
    ...{},
  },
  // a dual-ISP router: weighted multipath, fwmark tables, a rule per uplink address, a LAN with port-based choice
  dualisp: {
    ip: [
      ...veth('wan1', 'wan2', 'lan'),
      'addr add 203.0.113.2/24 dev wan1',
      'addr add 198.51.100.2/24 dev wan2',
      'addr add 192.168.10.1/24 dev lan',
      'route add default nexthop via 203.0.113.1 dev wan1 weight 2 nexthop via 198.51.100.1 dev wan2 weight 1',
      'route add default via 203.0.113.1 dev wan1 table 101',
      'route add default via 198.51.100.1 dev wan2 table 102',
      'route add blackhole 10.0.0.0/8 table 102',
      'rule add fwmark 0x1/0xff table 101 prio 100',
      'rule add fwmark 0x2/0xff table 102 prio 101',
      'rule add from 203.0.113.2 table 101 prio 200',
      'rule add from 198.51.100.2 table 102 prio 201',
      'rule add iif lan ipproto tcp dport 443 table 102 prio 300',
      'rule add iif lan sport 5060-5070 ipproto udp table 101 prio 301',
    ],
    sysctl: ['net.ipv4.ip_forward=1'],
  },
  // RHEL dual-NIC, IPv4 and IPv6: a table per NIC, IPv6 source-specific routes, a link-local default from RAs
  rhel: {
    ip: [
      ...veth('eth0', 'eth1'),
      'addr add 10.0.0.220/24 dev eth0',
      'addr add 192.168.1.220/24 dev eth1',
      'route add default via 10.0.0.1 dev eth0 proto static metric 100',
      'route add default via 192.168.1.254 dev eth1 table 201',
      'route add 192.168.1.0/24 dev eth1 src 192.168.1.220 table 201',
      'rule add from 192.168.1.220 table 201 prio 100',
      'rule add uidrange 1000-1999 table 201 prio 110',
    ],
  },
  // a Kubernetes node: a CNI bridge, pod subnets of other nodes via their addresses (onlink), calico's blackhole
  k8s: {
    ip: [
      ...veth('eth0', 'cni0'),
      'addr add 10.0.0.10/24 dev eth0',
      'addr add 10.244.1.1/24 dev cni0',
      'route add default via 10.0.0.1 dev eth0',
      'route add 10.244.2.0/24 via 10.0.0.11 dev eth0 onlink',
      'route add 10.244.3.0/24 via 10.0.0.12 dev eth0',
      'route add blackhole 10.244.1.0/26 proto bird',
      'route add unreachable 10.96.0.0/12 metric 200',
      'route add prohibit 10.97.0.0/16',
    ],
    sysctl: ['net.ipv4.ip_forward=1'],
  },
  // a load balancer / anycast host: AnyIP (a local route), TPROXY (local default in table 100), a VIP on lo, goto
  anycast: {
    ip: [
      ...veth('eth0'),
      'addr add 10.1.0.5/24 dev eth0',
      'addr add 192.0.2.10/32 dev lo',
      'route add default via 10.1.0.1 dev eth0',
      'route add local 100.64.100.0/24 dev lo',
      'route add local 0.0.0.0/0 dev lo table 100',
      'rule add fwmark 1 lookup 100 prio 90',
      'rule add prio 95 to 198.18.255.0/24 goto 99',
      'rule add prio 99 from all lookup main',
    ],
  },
};
// IPv6 of the hosts (`ip -6 -batch`)
export const V6: Record<string, string[]> = {
  wgquick: [
    'addr add fd00:77::2/128 dev wg0 nodad',
    'addr add 2001:db8:178::20/64 dev eth0 nodad',
    'route add default via fe80::1 dev eth0',
    'route add default dev wg0 table 51820',
    'rule add not fwmark 51820 table 51820 prio 32764',
    'rule add table main suppress_prefixlength 0 prio 32765',
  ],
  rhel: [
    'addr add 2001:db8:0::220/64 dev eth0 nodad',
    'addr add 2001:db8:1::220/64 dev eth1 nodad',
    'route add default via fe80::1 dev eth0 proto ra metric 1024',
    'route add default from 2001:db8:1::/64 via 2001:db8:1::1 dev eth1',
    'route add blackhole 2001:db8:dead::/48',
    'rule add from 2001:db8:1::/64 dport 22 ipproto tcp table 201 prio 120',
    'route add default via 2001:db8:1::1 dev eth1 table 201',
  ],
  anycast: [
    'addr add 2001:db8:5::5/64 dev eth0 nodad',
    'route add local ::/0 dev lo table 100',
    'rule add fwmark 1 lookup 100 prio 90',
  ],
};

/** Builds the corpus host KEY in the namespace NS (which exists, empty). */
export function buildHost(ns: string, key: string): void {
  const host = CORPUS[key]!;
  sh(['ip', '-n', ns, '-batch', '-'], ['link set lo up', ...host.ip].join('\n') + '\n');
  if (V6[key]) sh(['ip', '-6', '-n', ns, '-batch', '-'], V6[key].join('\n') + '\n');
  for (const s of host.sysctl ?? []) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', s]);
}

// Applying an export inside a lab's node with the real program that reads it at
// boot, and reading back what the kernel got: the export round-trip tests share
// these. A node is cleared of what nslab configured (addresses, routes, rules,
// links up, MTUs), the files are applied, and the node's links, addresses, rules
// and routes of every table (both families) are compared, normalised, with the
// lab's own.
//   ip        the script, run in the node
//   ifupdown  ifupdown's ifup -i FILE (unpacked from Debian's package into .tools)
//   rhel      initscripts is not in Debian: emulated, each line of route-IF /
//             rule-IF (and route6-/rule6-) given to `ip [-6] route|rule add` as
//             initscripts' ifup-routes does, after the ifcfg files' addresses,
//             MTUs and links (as ifup-eth sets them). Not initscripts itself.
//   networkd  the host's systemd-networkd, run inside the node with a private
//             mount namespace: the exported files as /etc/systemd, a tmpfs as /run
//             (no D-Bus: it reaches nothing outside the node), /sys read-only (so
//             it does not wait for udev)
//   netplan   netplan's generator (from .tools) turns the export into networkd
//             files, which systemd-networkd then applies as above
//   nm        NetworkManager 1.42 (from .tools) with a D-Bus of its own, both in a
//             PID namespace of their own (killing NetworkManager ends the bus too),
//             a tmpfs over /run and /var/lib, the exported keyfiles as its only
//             connections, hostname and DNS left alone
// Every daemon runs under `unshare --pid --fork`, in a process group of its own:
// stopping it kills that group by its id (unshare itself blocks SIGTERM while it
// waits for its child, so killing it alone left the daemon running and
// configuring the next format's test), and the kernel ends everything else in
// the PID namespace once its first process is gone.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sh, sleep } from './helpers.js';
import { unpackedTool } from '../unpacked-tools.js';

export type Applier = 'ip' | 'ifupdown' | 'rhel' | 'networkd' | 'netplan' | 'nm';

const ifup = unpackedTool('sbin/ifup');
const netplan = unpackedTool('usr/libexec/netplan/generate');
const nm = unpackedTool('usr/sbin/NetworkManager');
const NETWORKD = '/lib/systemd/systemd-networkd';
const DBUS = '/usr/bin/dbus-daemon';

/** Why a format cannot be applied on this machine, or undefined when it can. */
export function cannotApply(format: Applier): string | undefined {
  const networkd = existsSync(NETWORKD) ? undefined : `${NETWORKD} is not installed (systemd)`;
  switch (format) {
    case 'ifupdown':
      return ifup.missing;
    case 'networkd':
      return networkd;
    case 'netplan':
      return netplan.missing ?? networkd;
    case 'nm':
      return nm.missing ?? (existsSync(DBUS) ? undefined : `${DBUS} is not installed (dbus)`);
    default:
      return undefined;
  }
}

const ipj = <T>(ns: string, args: string[]): T => JSON.parse(sh(['ip', '-n', ns, '-j', ...args]) || '[]') as T;

interface Link {
  ifname: string;
  flags: string[];
  mtu: number;
  address?: string;
}
interface Addr {
  ifname: string;
  addr_info: { family: string; local: string; prefixlen: number; address?: string; scope: string }[];
}

/**
 * Rules and routes of every table of one family (`ip -N`: numbers for tables, types, protocols, scopes) as lines: a
 * multipath route's next hops joined to it, and what does not say how a packet is routed taken out: the protocols
 * boot and static (3, 4: what ip and the daemons mark their own routes and rules with), linkdown, the IPv6 preference
 * medium (the default), lifetimes, the table of a rule that drops. One ip for both (a batch: `-4`/`-6` go before it, never on its lines).
 */
function rulesAndRoutes(ns: string, fam: '-4' | '-6'): string[] {
  const text = sh(['ip', '-n', ns, '-N', fam, '-batch', '-'], 'rule show\nroute show table all\n');
  const lines: string[] = [];
  for (const raw of text.split('\n')) {
    if (!raw.trim()) continue;
    if (/^\s/.test(raw) && lines.length) lines[lines.length - 1] += ` ${raw.trim()}`;
    // a rule is `PRIORITY:<tab>...`; an IPv6 route may start with digits and a colon, never a tab after them
    else lines.push(/^\d+:\t/.test(raw) ? `${fam} rule ${raw}` : `${fam} route ${raw}`);
  }
  return lines.map((l) =>
    l
      .replace(/ proto [34]\b/g, '')
      .replace(/ (linkdown|pref 0|pref medium)\b/g, '')
      .replace(/ expires \S+/g, '')
      // a rule that drops (blackhole 6, unreachable 7, prohibit 8) looks up no table: networkd gives every rule one
      // (main), which the kernel keeps and never reads
      .replace(/^(-[46] rule .*) lookup \d+ ([678])$/, '$1 $2')
      .replace(/\s+/g, ' ')
      .trim(),
  );
}

/** A node's links, addresses, rules and routes, normalised and sorted. */
export function nodeState(ns: string): string[] {
  const links = ipj<(Link & Addr)[]>(ns, ['addr', 'show']);
  return [
    ...links.map((l) =>
      `link ${l.ifname} ${l.flags.includes('UP') ? 'up' : 'down'} mtu ${l.mtu} ${l.address ?? ''}`.trim(),
    ),
    ...links.flatMap((l) =>
      l.addr_info.map(
        (a) =>
          `addr ${l.ifname} ${a.family} ${a.local}${a.address && a.address !== a.local ? ` peer ${a.address}` : ''}` +
          `/${a.prefixlen} scope ${a.scope}`,
      ),
    ),
    ...rulesAndRoutes(ns, '-4'),
    ...rulesAndRoutes(ns, '-6'),
  ].sort();
}

/**
 * What NetworkManager 1.42 adds of its own, which decides no packet, taken out of a node's state: the kernel's
 * link-local prefix route of each interface at metric 1024 instead of the kernel's 256 (no route of the lab's is
 * another fe80::/64 on the same interface, the only thing the metric orders it against), and a loopback
 * connection's prefix routes in main (127.0.0.0/8, ::1), which the rule at priority 0 never lets decide: table local
 * has its own local routes for the same addresses; and the prefix route NM appends for a second address in a subnet
 * (the same route with another src), after the first, which is the one that decides.
 */
export function withoutNmOwn(state: string[], want: string[]): string[] {
  const srcless = (l: string) => l.replace(/ src \S+$/, '');
  return state
    .map((l) => l.replace(/^(-6 route fe80::\/64 dev \S+ proto 2) metric 1024$/, '$1 metric 256'))
    .filter(
      (l) =>
        l !== '-4 route 127.0.0.0/8 dev lo proto 2 scope 253 src 127.0.0.1' &&
        l !== '-6 route ::1 dev lo proto 2 metric 256' &&
        // a second prefix route for a second address in a subnet (NM appends one per address; the kernel adds one)
        !(
          /^-4 route \S+ dev \S+ proto 2 scope 253 src /.test(l) &&
          !want.includes(l) &&
          want.some((w) => w !== l && srcless(w) === srcless(l))
        ),
    );
}

/** What a node has with nothing configured: lo up with its own addresses, the kernel's default rules. */
const CLEARED = (links: string[]) =>
  [
    ...links.map((l) => (l === 'lo' ? 'link lo up mtu 65536 00:00:00:00:00:00' : `link ${l} down`)),
    'addr lo inet 127.0.0.1/8 scope host',
    'addr lo inet6 ::1/128 scope host',
    '-4 rule 0: from all lookup 255',
    '-4 rule 32766: from all lookup 254',
    '-4 rule 32767: from all lookup 253',
    '-6 rule 0: from all lookup 255',
    '-6 rule 32766: from all lookup 254',
    '-4 route 2 127.0.0.0/8 dev lo table 255 proto 2 scope 254 src 127.0.0.1',
    '-4 route 2 127.0.0.1 dev lo table 255 proto 2 scope 254 src 127.0.0.1',
    '-4 route 3 127.255.255.255 dev lo table 255 proto 2 scope 253 src 127.0.0.1',
    '-6 route 2 ::1 dev lo table 255 proto 2 metric 0',
  ].sort();

/** Route types by number (`ip -N`'s), as `ip route del` takes them. */
const ROUTE_TYPES = [
  '',
  'unicast',
  'local',
  'broadcast',
  'anycast',
  'multicast',
  'blackhole',
  'unreachable',
  'prohibit',
  'throw',
];

/**
 * Takes away what nslab configured in the node: every rule but the kernel's, every address but lo's own, the routes
 * that outlive their links (blackholes and other typed routes, routes through lo), links down at MTU 1500. Then
 * checks that nothing else is left.
 */
export function clearNode(ns: string): void {
  const links = ipj<Link[]>(ns, ['link', 'show']);
  const batch = (fam: '-4' | '-6', lines: string[]) => {
    // -force: a line whose route went with an earlier one (a link's, lo's) fails alone, and ip then exits 1; the
    // check at the end finds anything left
    if (lines.length)
      try {
        sh(['ip', '-n', ns, '-force', fam, '-batch', '-'], `${lines.join('\n')}\n`);
      } catch {
        /* checked below */
      }
  };
  // links down first: the kernel then drops the routes through them
  batch(
    '-4',
    links
      .filter((l) => l.ifname !== 'lo')
      .flatMap((l) => [`addr flush dev ${l.ifname}`, `link set dev ${l.ifname} down mtu 1500`]),
  );
  for (const fam of ['-4', '-6'] as const) {
    type Route = { type?: string; dst: string; table?: string; protocol?: string; metric?: number };
    // what is left but the kernel's own routes for lo: typed routes, routes through lo, in any table
    const routes = ipj<Route[]>(ns, ['-N', fam, 'route', 'show', 'table', 'all']).filter(
      (r) => r.protocol !== '2' && r.protocol !== 'kernel',
    );
    const kind = (r: Route) => (r.type && r.type !== '1' ? `${ROUTE_TYPES[Number(r.type)]} ` : '');
    batch(fam, [
      ...ipj<{ priority: number }[]>(ns, [fam, 'rule', 'show'])
        .filter((r) => ![0, 32766, 32767].includes(r.priority))
        .map((r) => `rule del priority ${r.priority}`),
      `addr flush dev lo scope global`,
      // a NetworkManager loopback connection's prefix route in main (withoutNmOwn), if one is left
      ...(ipj<unknown[]>(ns, [fam, 'route', 'show', 'table', 'main', 'dev', 'lo', 'proto', 'kernel']).length
        ? [`route flush table main dev lo proto kernel`]
        : []),
      ...routes.map(
        (r) =>
          `route del ${kind(r)}${r.dst} table ${r.table ?? 'main'}${r.metric !== undefined ? ` metric ${r.metric}` : ''}`,
      ),
    ]);
  }
  const left = nodeState(ns)
    .map((l) => l.replace(/^(link \S+ down) mtu 1500 .*$/, '$1'))
    .sort();
  const want = CLEARED(links.map((l) => l.ifname));
  if (left.join('\n') !== want.join('\n'))
    throw new Error(
      `node ${ns} not cleared:\n${left.filter((l) => !want.includes(l)).join('\n')}\n` +
        `and lacking:\n${want.filter((l) => !left.includes(l)).join('\n')}`,
    );
}

/** A running daemon: the process group the test started (its id is the first process's pid). */
export interface Daemon {
  proc: ChildProcess;
  log: string;
}

const running = new Set<Daemon>();

/** Kills the daemon's process group and waits until its first process is gone. */
export async function stop(d: Daemon | undefined): Promise<void> {
  if (d) running.delete(d);
  if (!d || d.proc.exitCode !== null || d.proc.signalCode !== null) return;
  const gone = new Promise((resolve) => d.proc.once('exit', resolve));
  process.kill(-d.proc.pid!, 'SIGKILL');
  await gone;
}

/** Stops every daemon still running (a test that failed before its own stop): for afterAll. */
export async function stopAll(): Promise<void> {
  for (const d of [...running]) await stop(d);
}

/** Runs a shell script inside the node, in a mount and PID namespace of its own, as a daemon. */
function daemon(ns: string, dir: string, script: string[], env: NodeJS.ProcessEnv): Daemon {
  const log = join(dir, 'daemon.log');
  // the script's own errors (a mount, the bus) go to the log with the daemon's
  writeFileSync(join(dir, 'daemon.sh'), [`exec >>${log} 2>&1`, 'set -ex', ...script, ''].join('\n'));
  // detached: a process group of its own, which stop() kills whole; the daemon is PID 1 of the new PID namespace,
  // and the kernel kills the rest of that namespace (NetworkManager's D-Bus) when it dies
  const proc = spawn('ip', ['netns', 'exec', ns, 'unshare', '--pid', '--fork', 'sh', join(dir, 'daemon.sh')], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...env, SYSTEMD_LOG_TARGET: 'console' },
    detached: true,
  });
  const d = { proc, log };
  running.add(d);
  return d;
}

const NM_CONF = (dir: string) =>
  [
    '[main]',
    'plugins=keyfile',
    'no-auto-default=*',
    'dns=none',
    'rc-manager=unmanaged',
    'hostname-mode=none',
    'auth-polkit=false',
    '[keyfile]',
    `path=${join(dir, 'etc/NetworkManager/system-connections')}`,
    '[logging]',
    'level=INFO',
    '',
  ].join('\n');

const DBUS_CONF = (socket: string) =>
  `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_type="method_return"/>
    <allow send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="signal"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
  </policy>
</busconfig>
`;

/** ifcfg-IF's variables (KEY=value, KEY="value"). */
function ifcfg(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const l of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=("?)(.*)\2$/.exec(l.trim());
    if (m) out[m[1]!] = m[3]!;
  }
  return out;
}

/** The rhel files as initscripts applies them (see the top of this file): addresses and links, then each line. */
function applyRhel(dir: string, ns: string): void {
  const scripts = join(dir, 'etc/sysconfig/network-scripts');
  const files = readdirSync(scripts).sort();
  const ip = (args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: 'pipe' });
  for (const f of files.filter((x) => x.startsWith('ifcfg-'))) {
    const v = ifcfg(readFileSync(join(scripts, f), 'utf8'));
    const dev = v.DEVICE!;
    if (v.MACADDR) ip(['link', 'set', 'dev', dev, 'address', v.MACADDR]);
    if (v.MTU) ip(['link', 'set', 'dev', dev, 'mtu', v.MTU]);
    for (const k of ['', ...Array.from({ length: 10 }, (_, i) => String(i + 1))])
      if (v[`IPADDR${k}`] && !(dev === 'lo' && v[`IPADDR${k}`] === '127.0.0.1'))
        ip(['addr', 'add', `${v[`IPADDR${k}`]}/${v[`PREFIX${k}`]}`, 'dev', dev]);
    for (const a of [v.IPV6ADDR, ...(v.IPV6ADDR_SECONDARIES ?? '').split(' ')].filter(Boolean))
      ip(['-6', 'addr', 'add', a!, 'dev', dev]);
    if (v.ONBOOT === 'yes') ip(['link', 'set', 'dev', dev, 'up']);
  }
  // ifup-routes: every line that is not blank or a comment, to `ip [-6] route|rule add`
  for (const kind of ['route', 'rule'])
    for (const f of files.filter((x) => x.startsWith(`${kind}-`) || x.startsWith(`${kind}6-`)))
      for (const line of readFileSync(join(scripts, f), 'utf8').split('\n'))
        if (!/^\s*(#.*)?$/.test(line))
          ip([f.startsWith(`${kind}6-`) ? '-6' : '-4', kind, 'add', ...line.trim().split(/\s+/)]);
}

/** Applies an export (written under dir as under /) inside a namespace; returns the daemon to stop afterwards. */
export function applyExport(format: Applier, dir: string, ns: string): Daemon | undefined {
  const sysctl = join(dir, 'etc/sysctl.d');
  if (existsSync(sysctl))
    for (const f of readdirSync(sysctl)) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-p', join(sysctl, f)]);
  if (format === 'ip') {
    const script = readdirSync(dir).find((f) => f.endsWith('.sh'))!;
    sh(['ip', 'netns', 'exec', ns, 'sh', join(dir, script)]);
    return undefined;
  }
  if (format === 'rhel') {
    applyRhel(dir, ns);
    return undefined;
  }
  if (format === 'ifupdown') {
    const state = join(dir, 'ifstate');
    mkdirSync(state);
    execFileSync(
      'ip',
      [
        'netns',
        'exec',
        ns,
        ifup.path,
        '-i',
        join(dir, 'etc/network/interfaces'),
        '--state-dir',
        state,
        '--no-scripts',
        '-a',
      ],
      { env: ifup.env, stdio: 'pipe' },
    );
    return undefined;
  }
  if (format === 'nm') {
    // NM reads every *.conf of its configuration directories: the bus's configuration goes elsewhere
    mkdirSync(join(dir, 'nm/conf.d'), { recursive: true });
    writeFileSync(join(dir, 'nm/NetworkManager.conf'), NM_CONF(dir));
    writeFileSync(join(dir, 'dbus.conf'), DBUS_CONF('/run/dbus/system_bus_socket'));
    return daemon(
      ns,
      dir,
      [
        'mount -t tmpfs tmpfs /run',
        'mount -t tmpfs tmpfs /var/lib',
        'mkdir -p /run/dbus /run/NetworkManager /var/lib/NetworkManager',
        'mount -o remount,bind,ro /sys',
        `${DBUS} --config-file=${join(dir, 'dbus.conf')} --nofork --nopidfile &`,
        'for i in $(seq 300); do [ -S /run/dbus/system_bus_socket ] && break; sleep 0.1; done',
        `exec ${nm.path} --no-daemon --config ${join(dir, 'nm/NetworkManager.conf')} ` +
          `--config-dir ${join(dir, 'nm/conf.d')} --system-config-dir ${join(dir, 'nm/conf.d')} ` +
          `--state-file /var/lib/NetworkManager/NetworkManager.state`,
      ],
      nm.env,
    );
  }
  let etc = join(dir, 'etc/systemd');
  if (format === 'netplan') {
    execFileSync(netplan.path, ['--root-dir', dir], { env: netplan.env, stdio: 'pipe' });
    etc = join(dir, 'run/systemd'); // the generator's output: run/systemd/network/*.network
  }
  mkdirSync(join(dir, 'empty'));
  return daemon(
    ns,
    dir,
    [
      'mount -t tmpfs tmpfs /run',
      'mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp',
      'chown -R systemd-network:systemd-network /run/systemd/netif',
      'mount -o remount,bind,ro /sys', // this mount only: the node's sysfs itself stays writable for later commands
      `mount --bind ${etc} /etc/systemd`,
      `mount --bind ${join(dir, 'empty')} /lib/systemd/network`,
      `exec ${NETWORKD}`,
    ],
    process.env,
  );
}

/**
 * The node's state (normalised) once it is the one wanted and has stayed so for three looks in a row, or, when it
 * never is, the last one after `ms` (the test then shows the difference). A daemon configures in its own time.
 */
export async function settle(
  ns: string,
  want: string[],
  normalise: (state: string[], want: string[]) => string[] = (x) => x,
  ms = 30_000,
): Promise<string[]> {
  let state: string[] = [];
  let same = 0;
  for (const end = Date.now() + ms; Date.now() < end && same < 3;) {
    state = normalise(nodeState(ns), want);
    same = state.join('\n') === want.join('\n') ? same + 1 : 0;
    if (same < 3) await sleep(200);
  }
  return state;
}

/** The daemon's log, for a failure's message. */
export const daemonLog = (d: Daemon | undefined, dir: string): string =>
  d && existsSync(join(dir, 'daemon.log')) ? readFileSync(join(dir, 'daemon.log'), 'utf8').slice(-4000) : '';

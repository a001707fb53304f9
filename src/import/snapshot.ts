// A snapshot of a machine's (or a lab node's) network configuration, as
// iproute2 reports it in JSON: links, addresses, the routes of every table
// and the rules of both families, the table names, and the sysctls that
// decide which way replies go. Reading needs no root on a real machine;
// a lab node is read through its namespace (`ip -n`, `ip netns exec`).
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { promisify } from 'node:util';
import { EnvironmentError } from '../errors.js';
import { askKernel, decisionTuples } from './decisions.js';
import { SNAPSHOT_VERSION, type IpAddr, type IpLink, type IpRoute, type IpRule, type Snapshot } from './schema.js';

const run = promisify(execFile);

// the file's format and the fields of iproute2's JSON that nslab reads (it keeps the rest): schema.ts
export { SNAPSHOT_VERSION, type IpAddr, type IpLink, type IpRoute, type IpRule, type Snapshot } from './schema.js';

/** The sysctls kept: forwarding, reverse-path filtering and the ARP settings that decide where replies go. */
const GLOBAL_SYSCTLS = [
  'net.ipv4.ip_forward',
  'net.ipv6.conf.all.forwarding',
  'net.ipv4.fib_multipath_hash_policy',
  'net.ipv6.fib_multipath_hash_policy',
];
const PER_IF_SYSCTLS = ['rp_filter', 'src_valid_mark', 'accept_local', 'arp_ignore', 'arp_announce', 'arp_filter'];

/** Where to read from: this machine, or a lab node's namespace. */
export interface Target {
  ns?: string;
  name?: string;
  source?: string;
}

async function ipJson<T>(t: Target, args: string[]): Promise<T> {
  const argv = [...(t.ns ? ['-n', t.ns] : []), '-j', ...args];
  try {
    const { stdout } = await run('ip', argv, { maxBuffer: 64 << 20 });
    return JSON.parse(stdout || '[]') as T;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT') throw new EnvironmentError('ip (iproute2) is not installed', 'install iproute2');
    throw new EnvironmentError(`ip ${argv.join(' ')} failed: ${(err.stderr ?? err.message).trim()}`);
  }
}

async function readSysctls(t: Target, keys: string[]): Promise<Record<string, string>> {
  const paths = keys.map((k) => `/proc/sys/${k.split('.').join('/')}`);
  const out: Record<string, string> = {};
  if (t.ns) {
    // /proc/sys/net is per namespace: read it from inside (one process for all keys)
    const script = 'for f in "$@"; do [ -r "$f" ] && printf "%s=%s\\n" "$f" "$(cat "$f")"; done; true';
    const { stdout } = await run('ip', ['netns', 'exec', t.ns, 'sh', '-c', script, 'sh', ...paths]);
    for (const line of stdout.split('\n')) {
      const i = line.indexOf('=');
      if (i > 0) out[keys[paths.indexOf(line.slice(0, i))]!] = line.slice(i + 1).trim();
    }
    return out;
  }
  keys.forEach((k, j) => {
    try {
      out[k] = readFileSync(paths[j]!, 'utf8').trim();
    } catch {
      /* absent on this kernel */
    }
  });
  return out;
}

/** id -> name of every table the machine names (routes and rules printed by name and by number, paired). */
function tableNames(named: { table?: string }[], numeric: { table?: string }[]): Record<string, string> {
  const out: Record<string, string> = {};
  named.forEach((r, i) => {
    const n = numeric[i]?.table;
    if (r.table && n && r.table !== n && /^\d+$/.test(n) && !['local', 'main', 'default'].includes(r.table))
      out[n] = r.table;
  });
  return out;
}

export async function takeSnapshot(t: Target = {}): Promise<Snapshot> {
  const [links, addresses, r4, r6, u4, u6, r4n, r6n, u4n, u6n] = await Promise.all([
    ipJson<IpLink[]>(t, ['link', 'show']),
    ipJson<IpAddr[]>(t, ['addr', 'show']),
    ipJson<IpRoute[]>(t, ['-4', 'route', 'show', 'table', 'all']),
    ipJson<IpRoute[]>(t, ['-6', 'route', 'show', 'table', 'all']),
    ipJson<IpRule[]>(t, ['-4', 'rule', 'show']),
    ipJson<IpRule[]>(t, ['-6', 'rule', 'show']),
    // -N prints numbers instead of names (tables, but also types, protocols, scopes): only to pair table names with ids
    ipJson<IpRoute[]>(t, ['-N', '-4', 'route', 'show', 'table', 'all']),
    ipJson<IpRoute[]>(t, ['-N', '-6', 'route', 'show', 'table', 'all']),
    ipJson<IpRule[]>(t, ['-N', '-4', 'rule', 'show']),
    ipJson<IpRule[]>(t, ['-N', '-6', 'rule', 'show']),
  ]);
  const ifnames = links.map((l) => l.ifname).filter((n) => n !== 'lo');
  const keys = [
    ...GLOBAL_SYSCTLS,
    ...['all', 'default', ...ifnames].flatMap((i) =>
      PER_IF_SYSCTLS.map((k) => `net.ipv4.conf.${i.replace(/\./g, '/')}.${k}`),
    ),
  ];
  const sysctl = await readSysctls(t, keys);
  const tables = { ...tableNames([...r4, ...r6, ...u4, ...u6], [...r4n, ...r6n, ...u4n, ...u6n]) };
  let kernel: string | undefined;
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    /* not Linux */
  }
  const snap: Snapshot = {
    'nslab-snapshot': SNAPSHOT_VERSION,
    taken: new Date().toISOString(),
    name: t.name ?? hostname(),
    source: t.source ?? 'this machine',
    kernel,
    links,
    addresses,
    routes: { 4: r4, 6: r6 },
    rules: { 4: u4, 6: u6 },
    tables,
    sysctl,
  };
  // the kernel's own decisions for tuples of this configuration: the imported lab's route tests
  snap.decisions = await askKernel(decisionTuples(snap), t.ns);
  return snap;
}

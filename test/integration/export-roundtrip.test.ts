// The exports, proven on a real lab: each bundled lab is brought up at its base
// stage (a unique instance), its fix node's addresses, routes and links are
// cleared, the export of the fix is applied inside that node by the real
// program that reads it at boot, and `nslab check` runs the fix stage's tests
// against it. The twin: the base configuration exported and applied instead
// fails those tests.
//   ip        the script, run in the node
//   ifupdown  ifupdown's ifup -i FILE (unpacked from Debian's package into .tools)
//   networkd  the host's systemd-networkd, run inside the node with a private
//             mount namespace: the exported files as /etc/systemd, a tmpfs as /run
//             (no D-Bus: it reaches nothing outside the node), /sys read-only (so
//             it does not wait for udev), killed after the check
//   netplan   netplan's generator (from .tools) turns the export into networkd
//             files, which systemd-networkd then applies as above
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseSlug, FIX_CASES } from '../export-cases.js';
import { finalNode, leftOutOf } from '../../src/export/index.js';
import { loadLab } from '../../src/lab/resolve.js';
import { cli, isRoot, namespaces, NOT_ROOT, sh, sleep, tempDir, uid } from './helpers.js';
import { unpackedTool } from '../unpacked-tools.js';

// unpacked into .tools/root with the libraries they need (test/unpacked-tools.ts); without them, skipped with the
// reason
const ifup = unpackedTool('sbin/ifup');
const netplan = unpackedTool('usr/libexec/netplan/generate');
const [IFUP, NETPLAN] = [ifup.path, netplan.path];
const NETWORKD = '/lib/systemd/systemd-networkd';
const can = { ifupdown: !ifup.missing, netplan: !netplan.missing, networkd: existsSync(NETWORKD) };
const daemons = new Set<ChildProcess>();
const RUN = `ex${uid()}`;
const up: string[] = [];

afterAll(() => {
  for (const d of daemons) d.kill('SIGKILL');
  for (const inst of up) cli(['down', inst]);
  expect(namespaces().filter((n) => n.includes(`.${RUN}`))).toEqual([]);
});

/** Takes away what the node was configured with: addresses, and (with the links down) every route through them. */
function clearNode(ns: string): void {
  const links = JSON.parse(sh(['ip', '-n', ns, '-j', 'link', 'show'])) as { ifname: string }[];
  for (const l of links) {
    if (l.ifname === 'lo') continue;
    sh(['ip', '-n', ns, 'addr', 'flush', 'dev', l.ifname]);
    sh(['ip', '-n', ns, 'link', 'set', 'dev', l.ifname, 'down']);
  }
  expect(
    sh(['ip', '-n', ns, '-4', 'route', 'show', 'table', 'all'])
      .split('\n')
      .filter((l) => l && !l.startsWith('local') && !l.startsWith('broadcast')),
  ).toEqual([]);
  // the base configurations of the bundled labs have no rules of their own: nothing else to take away
  for (const fam of ['-4', '-6'])
    expect(
      sh(['ip', '-n', ns, fam, 'rule'])
        .split('\n')
        .filter((l) => l && !/^(0|32766|32767):\s+from all lookup (local|main|default)\s*$/.test(l)),
    ).toEqual([]);
}

type Format = 'ip' | 'ifupdown' | 'networkd' | 'netplan';

/** Applies an export (written under dir as under /) inside a namespace; returns what to stop afterwards. */
async function apply(
  format: Format,
  dir: string,
  ns: string,
  expected: { rules: number; routes: number },
): Promise<ChildProcess | undefined> {
  const sysctl = join(dir, 'etc/sysctl.d');
  if (existsSync(sysctl))
    for (const f of readdirSync(sysctl)) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-p', join(sysctl, f)]);
  if (format === 'ip') {
    const script = readdirSync(dir).find((f) => f.endsWith('.sh'))!;
    sh(['ip', 'netns', 'exec', ns, 'sh', join(dir, script)]);
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
        IFUP,
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
  let etc = join(dir, 'etc/systemd');
  if (format === 'netplan') {
    execFileSync(NETPLAN, ['--root-dir', dir], { env: netplan.env, stdio: 'pipe' });
    etc = join(dir, 'run/systemd'); // the generator's output: run/systemd/network/*.network
  }
  mkdirSync(join(dir, 'empty'));
  // everything below happens in the mount namespace `ip netns exec` makes for the command alone
  const setup = [
    'mount -t tmpfs tmpfs /run',
    'mkdir -p /run/systemd/netif/links /run/systemd/netif/leases /run/systemd/netif/lldp',
    'chown -R systemd-network:systemd-network /run/systemd/netif',
    'mount -o remount,bind,ro /sys', // this mount only: the node's sysfs itself stays writable for later commands
    `mount --bind ${etc} /etc/systemd`,
    `mount --bind ${join(dir, 'empty')} /lib/systemd/network`,
    `exec ${NETWORKD}`,
  ].join(' && ');
  const d = spawn('ip', ['netns', 'exec', ns, 'sh', '-c', setup], {
    stdio: 'ignore',
    env: { ...process.env, SYSTEMD_LOG_TARGET: 'console' },
  });
  daemons.add(d);
  // configured when every route and rule is there (networkd marks its own proto static), and nothing changed for a
  // moment
  let last = '';
  let same = 0;
  for (let i = 0; i < 150 && same < 3; i++) {
    await sleep(100);
    const rules = sh(['ip', '-n', ns, 'rule']) + sh(['ip', '-n', ns, '-6', 'rule']);
    const routes =
      sh(['ip', '-n', ns, 'route', 'show', 'table', 'all']) +
      sh(['ip', '-n', ns, '-6', 'route', 'show', 'table', 'all']);
    const done =
      (rules.match(/proto static/g) ?? []).length >= expected.rules &&
      (routes.match(/proto static/g) ?? []).length >= expected.routes;
    same = done && routes + rules === last ? same + 1 : 0;
    last = routes + rules;
  }
  return d;
}

async function roundTrip(
  c: (typeof FIX_CASES)[number],
  format: Format,
  exportStage: string | undefined,
): Promise<{ code: number | null; out: string; refused?: boolean }> {
  const id = `${RUN}${format[0]}${format === 'netplan' ? 'p' : ''}${FIX_CASES.indexOf(c)}${exportStage === c.stage ? '' : 'b'}`;
  const inst = `${c.lab}.${id}`;
  const file = `labs/${c.lab}.yaml`;
  const dir = tempDir();
  const ex = cli([
    'export',
    file,
    '--node',
    c.node,
    ...(exportStage ? ['--stage', exportStage] : []),
    '--format',
    format,
    '-o',
    dir,
  ]);
  // a format that cannot express the node refuses it (exit 2), nothing written
  if (ex.code === 2 && /cannot express/.test(ex.stderr)) {
    expect(readdirSync(dir)).toEqual([]);
    return { code: null, out: ex.stderr, refused: true };
  }
  expect(ex.code, ex.stderr).toBe(0);
  const u = cli(['up', file, '--instance', id]);
  expect(u.code, u.stderr).toBe(0);
  up.push(inst);
  const ns = `nslab-${inst}.${c.node}`;
  // a service bound to an address of the node must be listening before the address goes away and comes back
  const services = loadLab(file).nodes.find((n) => n.name === c.node)!.config.services.length;
  for (
    let i = 0;
    i < 100 && sh(['ip', 'netns', 'exec', ns, 'ss', '-Hltnu']).split('\n').filter(Boolean).length < services;
    i++
  )
    await sleep(100);
  clearNode(ns);
  const fin = finalNode(loadLab(file), c.node, exportStage);
  const daemon = await apply(format, dir, ns, { rules: fin.rules.length, routes: fin.routes.length });
  const r = cli(['check', inst, '--stage', c.stage]);
  if (daemon) {
    daemon.kill('SIGTERM');
    daemons.delete(daemon);
  }
  cli(['down', inst]);
  up.splice(up.indexOf(inst), 1);
  return { code: r.code, out: r.stdout + r.stderr };
}

// the load-balancing stage's tests are statistical (hundreds of flows): the other fixes cover the same code
const CASES = FIX_CASES.filter((c) => c.stage !== 'load balancing');
// one lab at a time: with several labs and daemons at once, a loaded machine made other suites' tests time out
// the daemons take seconds per lab: IPv4 and IPv6 tables and rules, routes through lo, and a VIP's src
const DAEMON_CASES = CASES.filter((c) =>
  ['dual-nic-reply-path', 'dual-nic-reply-path-v6', 'split-access-load-balance', 'vip-source-example1'].includes(c.lab),
);

describe.skipIf(!isRoot)('export round trip: ip script applied in the node passes the fix stage', () => {
  for (const c of CASES)
    it(`${caseSlug(c)}`, async () => {
      const r = await roundTrip(c, 'ip', c.stage);
      expect(r.code, r.out).toBe(0);
    });
});

describe.skipIf(!isRoot || !can.ifupdown)(
  'export round trip: ifupdown (ifup -i, the real one) passes the fix stage',
  () => {
    for (const c of CASES)
      it(`${caseSlug(c)}`, async () => {
        const r = await roundTrip(c, 'ifupdown', c.stage);
        expect(r.code, r.out).toBe(0);
      });
  },
);

describe.skipIf(!isRoot || !can.networkd)(
  'export round trip: systemd-networkd (the real daemon, in the node) passes the fix stage',
  () => {
    for (const c of DAEMON_CASES)
      it(`${caseSlug(c)}`, async () => {
        const r = await roundTrip(c, 'networkd', c.stage);
        expect(r.code, r.out).toBe(0);
      });
  },
);

const refusedByNetplan = (c: (typeof FIX_CASES)[number]) =>
  leftOutOf(finalNode(loadLab(`labs/${c.lab}.yaml`), c.node, c.stage), 'netplan').length > 0;

describe.skipIf(!isRoot || !can.networkd || !can.netplan)(
  'export round trip: netplan generate, then systemd-networkd, passes the fix stage',
  () => {
    for (const c of DAEMON_CASES)
      // netplan 0.106 cannot keep the kernel from adding its own route for an address's subnet (the VIP labs' and split
      // access's fixes replace it), nor write a source-specific IPv6 route (the v6 reply path's): those exports are
      // refused, never written without the route
      it(`${caseSlug(c)}${refusedByNetplan(c) ? ': refused' : ''}`, async () => {
        const r = await roundTrip(c, 'netplan', c.stage);
        if (refusedByNetplan(c)) {
          expect(r.refused, r.out).toBe(true);
          for (const l of leftOutOf(finalNode(loadLab(`labs/${c.lab}.yaml`), c.node, c.stage), 'netplan'))
            expect(r.out).toContain(l.line);
        } else expect(r.code, r.out).toBe(0);
      });
  },
);

describe.skipIf(!isRoot)('export round trip: the twins (the base configuration exported instead fails)', () => {
  const c = FIX_CASES[0];
  const formats: Format[] = [
    'ip',
    ...(can.ifupdown ? ['ifupdown' as const] : []),
    ...(can.networkd ? ['networkd' as const] : []),
    ...(can.networkd && can.netplan ? ['netplan' as const] : []),
  ];
  for (const format of formats)
    it(`${caseSlug(c)}: ${format} of the base stage`, async () => {
      const r = await roundTrip(c, format, undefined);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(/✗ .*replies leave through the NIC they came in on/);
    });
});

if (!isRoot) describe('export round trips', () => it.skip(`export round trips: ${NOT_ROOT}`, () => {}));
// what this machine lacks, each with its reason (the formats that need it are skipped)
else
  for (const why of [
    ifup.missing,
    netplan.missing,
    can.networkd ? undefined : `${NETWORKD} is not installed (systemd)`,
  ])
    if (why) describe('export round trips', () => it.skip(`export round trips: ${why}`, () => {}));

describe('nslab export: the command line', () => {
  it('prints the ip script; -o writes the files under DIR as under /, keyfiles 0600; bad node or format: exit 2, nothing written', () => {
    const file = 'labs/dual-nic-reply-path.yaml';
    const stage = 'with a routing table for eth1';
    const p = cli(['export', file, '--node', 'server', '--stage', stage]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(p.stdout).toContain('ip rule add priority 32765 from 192.168.1.220 table 201');
    const dir = tempDir();
    const o = cli(['export', file, '--node', 'server', '--stage', stage, '--format', 'nm', '-o', dir]);
    expect(o.code, o.stderr).toBe(0);
    const keyfile = join(dir, 'etc/NetworkManager/system-connections/eth1.nmconnection');
    expect(statSync(keyfile).mode & 0o777).toBe(0o600);
    expect(readFileSync(keyfile, 'utf8')).toContain('routing-rule1=priority 32765 from 192.168.1.220 table 201');
    const printed = cli(['export', file, '--node', 'server', '--stage', stage, '--format', 'rhel']);
    expect(printed.stdout).toMatch(
      /^### \/etc\/sysconfig\/network-scripts\/rule-eth1\n(#.*\n)*priority 32765 from 192.168.1.220 table 201$/m,
    );
    const empty = tempDir();
    for (const bad of [
      ['--node', 'nosuch'],
      ['--node', 'sw1'],
      ['--node', 'server', '--format', 'yast'],
      ['--node', 'server', '--stage', 'nosuch'],
    ]) {
      const r = cli(['export', file, ...bad, '-o', empty]);
      expect(r.code, bad.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/nslab: |error: /);
    }
    expect(readdirSync(empty)).toEqual([]);
  });
});

// The exports, proven on a real lab: each bundled lab is brought up at its base
// stage (a unique instance), its fix node's addresses, routes and links are
// cleared, the export of the fix is applied inside that node by the real
// program that reads it at boot, and `nslab check` runs the fix stage's tests
// against it. The twin: the base configuration exported and applied instead
// fails those tests. The node is cleared and the export applied (ip, ifupdown,
// networkd, netplan) as export-apply.ts does for the export-apply tests; a daemon
// is stopped after the check.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseSlug, FIX_CASES } from '../export-cases.js';
import { finalNode, leftOutOf } from '../../src/export/index.js';
import { loadLab } from '../../src/lab/resolve.js';
import { cli, isRoot, namespaces, NOT_ROOT, sh, sleep, tempDir, uid } from './helpers.js';
import { applyExport, cannotApply, clearNode, stop, stopAll, type Applier } from './export-apply.js';

// unpacked into .tools/root with the libraries they need (test/unpacked-tools.ts); without them, skipped with the
// reason
const can = {
  ifupdown: !cannotApply('ifupdown'),
  netplan: !cannotApply('netplan'),
  networkd: !cannotApply('networkd'),
};
type Format = Extract<Applier, 'ip' | 'ifupdown' | 'networkd' | 'netplan'>;
const RUN = `ex${uid()}`;
const up: string[] = [];

afterAll(async () => {
  await stopAll();
  for (const inst of up) cli(['down', inst]);
  expect(namespaces().filter((n) => n.includes(`.${RUN}`))).toEqual([]);
});

/**
 * Waits until a daemon has configured the node: every route and rule is there (networkd marks its own proto static),
 * and nothing changed for a moment.
 */
async function configured(ns: string, expected: { rules: number; routes: number }): Promise<void> {
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
  const daemon = applyExport(format, dir, ns);
  if (daemon) await configured(ns, { rules: fin.rules.length, routes: fin.routes.length });
  const r = cli(['check', inst, '--stage', c.stage]);
  await stop(daemon);
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
  for (const why of new Set([cannotApply('ifupdown'), cannotApply('netplan'), cannotApply('networkd')]))
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

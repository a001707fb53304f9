// nslab export: golden files per format for each bundled lab's fix node, and the
// final state the formats are rendered from (no root needed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  carries,
  concatFiles,
  constructLabel,
  exportNode,
  ExportRefused,
  finalNode,
  FORMATS,
  leftOutOf,
} from '../../src/export/index.js';
import { loadLab } from '../../src/lab/resolve.js';
import { caseSlug, FIX_CASES } from '../export-cases.js';

describe('export: golden files per format', () => {
  for (const c of FIX_CASES)
    for (const format of FORMATS)
      it(`${c.lab} ${c.node} at '${c.stage}': ${format}`, async () => {
        const lab = loadLab(`labs/${c.lab}.yaml`);
        // a format that cannot express the node refuses: the golden file is the refusal, then what --allow-partial writes
        let text: string;
        try {
          text = concatFiles(await exportNode(lab, c.node, c.stage, format));
        } catch (e) {
          if (!(e instanceof ExportRefused)) throw e;
          const partial = await exportNode(lab, c.node, c.stage, format, { allowPartial: true });
          text = `### refused (exit 2)\n${e.message}\n\n### --allow-partial\n${concatFiles(partial)}`;
        }
        await expect(text).toMatchFileSnapshot(`__golden__/export/${caseSlug(c)}/${format}.txt`);
      });
});

describe('export: the final state of a node', () => {
  const lab = loadLab('labs/dual-nic-reply-path.yaml');

  it('base only: the default route, no rules, every interface up', () => {
    const n = finalNode(lab, 'server');
    expect(n.routes.map((r) => r.args.join(' '))).toEqual(['default via 10.0.0.1']);
    expect(n.rules).toEqual([]);
    expect(n.interfaces.every((i) => i.up)).toBe(true);
  });

  it('a stage that takes eth0 down leaves it down; the fix brings it back; replace keeps one default route', () => {
    expect(
      finalNode(lab, 'server', 'eth0 down, without policy routing').interfaces.find((i) => i.name === 'eth0')!.up,
    ).toBe(false);
    const n = finalNode(lab, 'server', 'with a routing table for eth1');
    expect(n.interfaces.find((i) => i.name === 'eth0')!.up).toBe(true);
    expect(n.routes.filter((r) => r.dest === 'default' && r.table === undefined)).toHaveLength(1);
    expect(n.tables).toEqual([{ name: 'gateway1', id: 201 }]);
  });

  it('rules get the priority the kernel gives them: each new one before the last', () => {
    const sa = finalNode(loadLab('labs/split-access-load-balance.yaml'), 'lb', 'split access');
    expect(sa.rules.map((r) => [r.from, r.priority])).toEqual([
      ['203.0.113.10', 32765],
      ['198.51.100.10', 32764],
    ]);
  });

  it("a route that is the kernel's own subnet route is marked (ip route add refuses it)", () => {
    const n = finalNode(loadLab('labs/vip-source-example1.yaml'), 'server', 'with the source address setting');
    expect(n.routes.filter((r) => r.replacesKernel).map((r) => r.dest)).toEqual(['10.1.0.0/16']);
  });

  it('a bridge, an unknown node or stage is a usage error', async () => {
    expect(() => finalNode(lab, 'sw1')).toThrow(/is a bridge/);
    expect(() => finalNode(lab, 'nope')).toThrow(/has no node 'nope'/);
    expect(() => finalNode(lab, 'server', 'nope')).toThrow(/has no stage 'nope'/);
  });
});

describe('nslab export -o (the shipped CLI)', () => {
  const CLI = 'dist/bin/main.js';
  const args = [
    'export',
    'labs/dual-nic-reply-path.yaml',
    '--node',
    'server',
    '--stage',
    'with a routing table for eth1',
    '--format',
    'ifupdown',
  ];
  const run = (o: string) => spawnSync(process.execPath, [CLI, ...args, '-o', o], { encoding: 'utf8' });

  it('writes the files under DIR, as under /', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-export-'));
    const r = run(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(readFileSync(join(dir, 'etc/network/interfaces'), 'utf8')).toMatch(
      /up ip rule add priority 32765 from 192\.168\.1\.220 table 201/,
    );
    rmSync(dir, { recursive: true });
  });

  it("never the machine's own /, never through a link (exit 2, nothing written)", () => {
    const root = run('/');
    expect(root.status).toBe(2);
    expect(root.stderr).toMatch("-o / is the machine's own root");
    const dir = mkdtempSync(join(tmpdir(), 'nslab-export-'));
    mkdirSync(join(dir, 'etc/network'), { recursive: true });
    const target = join(dir, 'elsewhere');
    symlinkSync(target, join(dir, 'etc/network/interfaces'));
    const link = run(dir);
    expect(link.status).toBe(2);
    expect(link.stderr).toMatch(
      `cannot write ${join(dir, 'etc/network/interfaces')}: it is a symbolic link (to ${target})`,
    );
    expect(existsSync(target)).toBe(false);
    rmSync(dir, { recursive: true });
  });
});

describe('export: what each format expresses', () => {
  // the rows of docs/export.md's table, in its order
  const IDS = [
    ...['via', 'via-link-local', 'dev', 'lo', 'owner-unaddressed', 'src', 'from', 'metric', 'table', 'scope'],
    ...['scope-site', 'scope-nowhere', 'scope-number', 'onlink', 'protocol', 'tos', 'pref', 'realms', 'expires'],
    ...['multipath', 'nexthop-weight', 'nexthop-dev', 'nexthop-onlink'],
    ...['blackhole', 'unreachable', 'prohibit', 'throw', 'local', 'broadcast', 'anycast', 'multicast'].map(
      (t) => `type-${t}`,
    ),
    ...['mtu', 'lock-mtu', 'advmss', 'hoplimit', 'initcwnd', 'initrwnd', 'window', 'cwnd', 'rtt', 'rttvar'],
    ...['ssthresh', 'reordering', 'features', 'quickack', 'fastopen_no_cookie', 'replaces-kernel'],
  ]
    .map((k) => `route:${k}`)
    .concat(
      [
        ...['from', 'to', 'no-address', 'not', 'fwmark', 'fwmask', 'iif', 'oif', 'tos', 'ipproto', 'sport'],
        ...['sport-range', 'dport', 'dport-range', 'uidrange', 'suppress_prefixlength', 'suppress_ifgroup', 'goto'],
        ...['nop', 'blackhole', 'unreachable', 'prohibit', 'realms', 'protocol'],
      ].map((k) => `rule:${k}`),
      'sysctl:ipv6-forwarding',
    );

  it("docs/export.md's table is the code's", () => {
    const cell = (f: (typeof FORMATS)[number], id: string) => {
      const [a, b] = [carries(f, { id, family: 4 }), carries(f, { id, family: 6 })];
      return a && b ? 'yes' : a ? 'IPv4' : b ? 'IPv6' : 'no';
    };
    const want = [
      ['construct', ...FORMATS],
      ...IDS.map((id) => [
        constructLabel({ id, family: 4 }).replace(/, IPv4$/, ''),
        ...FORMATS.map((f) => cell(f, id)),
      ]),
    ];
    // the table's rows as cells (Prettier aligns the columns), without the |---| line
    const cells = (l: string) =>
      l
        .split('|')
        .slice(1, -1)
        .map((c) => c.trim());
    const doc = readFileSync('docs/export.md', 'utf8').split('\n');
    const start = doc.findIndex((l) => /^\| construct +\|/.test(l));
    expect(start, 'the table in docs/export.md').toBeGreaterThan(0);
    const end = doc.indexOf('', start);
    expect([doc[start]!, ...doc.slice(start + 2, end)].map(cells)).toEqual(want);
  });

  it('a format refuses what it cannot express, and names the formats that can (the check can fail)', () => {
    const lab = loadLab('labs/dual-nic-reply-path-v6.yaml');
    const stage = 'with a routing table for eth1';
    const left = leftOutOf(finalNode(lab, 'server', stage), 'netplan');
    expect(left.map((l) => l.line)).toEqual(['ip -6 route add default from 2001:db8:1::/64 via 2001:db8:1::fe']);
    expect(left[0]!.missing.map((c) => c.id)).toEqual(['route:from']);
    expect(leftOutOf(finalNode(lab, 'server', stage), 'networkd')).toEqual([]);
  });
});

// The plain-ip and ifupdown exports, proven on a real lab: each bundled lab is
// brought up at its base stage (a unique instance), its fix node's addresses,
// routes and links are cleared, the export of the fix is applied inside that
// node (the script run there; ifupdown's own ifup reading the exported
// /etc/network/interfaces), and `nslab check` runs the fix stage's tests
// against it. The twin: the same node with the base configuration exported
// and applied instead fails those tests.
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { caseSlug, FIX_CASES } from '../export-cases.js';
import { cli, isRoot, namespaces, NOT_ROOT, sh, tempDir, uid } from './helpers.js';

const IFUP = join(process.cwd(), '.tools/root/sbin/ifup');
const RUN = `ex${uid()}`;
const up: string[] = [];

afterAll(() => {
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
  expect(sh(['ip', '-n', ns, '-4', 'route', 'show', 'table', 'all']).split('\n').filter((l) => l && !l.startsWith('local') && !l.startsWith('broadcast'))).toEqual([]);
  // the base configurations of the bundled labs have no rules of their own: nothing else to take away
  for (const fam of ['-4', '-6'])
    expect(sh(['ip', '-n', ns, fam, 'rule']).split('\n').filter((l) => l && !/^(0|32766|32767):\s+from all lookup (local|main|default)\s*$/.test(l))).toEqual([]);
}

/** Applies an export (written under dir as under /) inside a namespace. */
function apply(format: 'ip' | 'ifupdown', dir: string, ns: string): void {
  const sysctl = join(dir, 'etc/sysctl.d');
  if (existsSync(sysctl)) for (const f of readdirSync(sysctl)) sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-p', join(sysctl, f)]);
  if (format === 'ip') {
    const script = readdirSync(dir).find((f) => f.endsWith('.sh'))!;
    sh(['ip', 'netns', 'exec', ns, 'sh', join(dir, script)]);
  } else {
    const state = join(dir, 'ifstate');
    mkdirSync(state);
    sh(['ip', 'netns', 'exec', ns, IFUP, '-i', join(dir, 'etc/network/interfaces'), '--state-dir', state, '--no-scripts', '-a']);
  }
}

async function roundTrip(c: (typeof FIX_CASES)[number], format: 'ip' | 'ifupdown', exportStage: string | undefined): Promise<{ code: number | null; out: string }> {
  const id = `${RUN}${format === 'ip' ? 'i' : 'u'}${FIX_CASES.indexOf(c)}${exportStage === c.stage ? '' : 'b'}`;
  const inst = `${c.lab}.${id}`;
  const file = `labs/${c.lab}.yaml`;
  const dir = tempDir();
  const ex = cli(['export', file, '--node', c.node, ...(exportStage ? ['--stage', exportStage] : []), '--format', format, '-o', dir]);
  expect(ex.code, ex.stderr).toBe(0);
  const u = cli(['up', file, '--instance', id]);
  expect(u.code, u.stderr).toBe(0);
  up.push(inst);
  const ns = `nslab-${inst}.${c.node}`;
  clearNode(ns);
  apply(format, dir, ns);
  const r = cli(['check', inst, '--stage', c.stage]);
  cli(['down', inst]);
  up.splice(up.indexOf(inst), 1);
  return { code: r.code, out: r.stdout + r.stderr };
}

// the load-balancing stage's tests are statistical (hundreds of flows): the other fixes cover the same code
const CASES = FIX_CASES.filter((c) => c.stage !== 'load balancing');

describe.skipIf(!isRoot).concurrent('export round trip: ip script applied in the node passes the fix stage', () => {
  for (const c of CASES)
    it(`${caseSlug(c)}`, async () => {
      const r = await roundTrip(c, 'ip', c.stage);
      expect(r.code, r.out).toBe(0);
    });
});

describe.skipIf(!isRoot || !existsSync(IFUP)).concurrent('export round trip: ifupdown (ifup -i, the real one) passes the fix stage', () => {
  for (const c of CASES)
    it(`${caseSlug(c)}`, async () => {
      const r = await roundTrip(c, 'ifupdown', c.stage);
      expect(r.code, r.out).toBe(0);
    });
});

describe.skipIf(!isRoot).concurrent('export round trip: the twins (the base configuration exported instead fails)', () => {
  const c = FIX_CASES[0];
  for (const format of ['ip', ...(existsSync(IFUP) ? ['ifupdown' as const] : [])] as const)
    it(`${caseSlug(c)}: ${format} of the base stage`, async () => {
      const r = await roundTrip(c, format, undefined);
      expect(r.code, r.out).toBe(1);
      expect(r.out).toMatch(/✗ .*replies leave through the NIC they came in on/);
    });
});

it.skipIf(isRoot)('export round trip', () => { expect(NOT_ROOT).toBeTruthy(); });

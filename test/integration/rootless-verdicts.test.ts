// The same lab file gives the same verdicts rootless and as root (issue 21):
// the bundled labs' suite (labs/*.yaml) is run with `nslab test --reporter
// json` once as root and once as an unprivileged user the suite creates, and
// the verdicts are compared test by test: each test's status and the outcome
// of each of its checks. Any difference fails, naming the test and both
// verdicts. One run per side for all the labs (two nslab runs in all), one
// after the other, so that a loaded 2-core machine runs one lab at a time.
//
// No lab is skipped: every bundled lab needs only veth pairs, routing,
// nftables and tcpdump, which rootless runs have. A test that the kernel
// cannot run (a missing module) is reported as skipped by both runs alike.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, isRoot } from './helpers.js';
import { makeUser, nslabAs, noneLeft, removeUser, usernsAllowed, type User } from './test-users.js';

const LABS = join(process.cwd(), 'labs');

interface JsonReport {
  labs: {
    lab: string;
    tests: {
      stage?: string;
      name: string;
      status: string;
      reason?: string;
      checks?: { name: string; ok: boolean }[];
    }[];
  }[];
}

/** Each test's verdict, by `lab › stage › test`: its status and each check's outcome. */
function verdictsOf(report: JsonReport): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of report.labs)
    for (const t of l.tests) {
      const checks = (t.checks ?? []).map((c) => `${c.name} ${c.ok ? 'ok' : 'not ok'}`).join(', ');
      out.set(`${l.lab} › ${t.stage ?? ''} › ${t.name}`, `${t.status}${checks ? ` (${checks})` : ''}`);
    }
  return out;
}

/** Every test whose verdict differs, or that only one side ran, with both verdicts. */
function differences(root: Map<string, string>, rootless: Map<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...root.keys(), ...rootless.keys()]))
    if (root.get(k) !== rootless.get(k))
      out.push(`${k}: as root ${root.get(k) ?? 'not run'}; rootless ${rootless.get(k) ?? 'not run'}`);
  return out;
}

describe('verdicts compared test by test', () => {
  const report = (status: string, ok: boolean): JsonReport => ({
    labs: [{ lab: 'l', tests: [{ stage: 's', name: 't', status, checks: [{ name: 'replies', ok }] }] }],
  });
  it('equal verdicts give no difference; a different status, a different check or a missing test each give one', () => {
    const a = verdictsOf(report('passed', true));
    expect(differences(a, verdictsOf(report('passed', true)))).toEqual([]);
    expect(differences(a, verdictsOf(report('failed', false)))).toEqual([
      'l › s › t: as root passed (replies ok); rootless failed (replies not ok)',
    ]);
    expect(differences(a, verdictsOf(report('passed', false)))).toHaveLength(1);
    expect(differences(a, new Map())).toEqual(['l › s › t: as root passed (replies ok); rootless not run']);
  });
});

let user: User | undefined;
beforeAll(() => {
  if (isRoot && usernsAllowed) user = makeUser('nslabv');
});
afterAll(async () => {
  if (user) await removeUser(user);
});

describe.skipIf(!isRoot || !usernsAllowed)('the bundled labs give the same verdicts rootless and as root', () => {
  it('nslab test labs/ as root and as an ordinary user: every test has the same verdict', async () => {
    const bundled = readdirSync(LABS)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(bundled.length).toBeGreaterThan(0);

    const asRoot = spawnSync(process.execPath, [CLI, 'test', LABS, '--reporter', 'json'], {
      encoding: 'utf8',
      cwd: '/',
      maxBuffer: 64 << 20,
    });
    expect([0, 1], asRoot.stderr).toContain(asRoot.status);
    const rootless = await nslabAs(user!, ['test', LABS, '--reporter', 'json']);
    expect([0, 1], rootless.stderr).toContain(rootless.code);

    const root = JSON.parse(asRoot.stdout) as JsonReport;
    const mine = JSON.parse(rootless.stdout) as JsonReport;
    // every bundled lab ran on both sides (a lab missing from a report would hide its tests)
    expect(root.labs.map((l) => l.lab).sort()).toEqual([...bundled].sort());
    expect(mine.labs.map((l) => l.lab).sort()).toEqual([...bundled].sort());
    const r = verdictsOf(root);
    expect(r.size).toBeGreaterThan(bundled.length);
    expect(differences(r, verdictsOf(mine))).toEqual([]);
    expect(rootless.code).toBe(asRoot.status);
    expect(await noneLeft(user!)).toEqual([]);
  }, 300_000);
});

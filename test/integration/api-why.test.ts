// The API says what the CLI says (issue 20, API parity; issue 19, "the same in the API's matcher failures"):
// a failing path, reply-via or source matcher carries the why and the hint (or "no fix found") that
// `nslab test --reporter json` gives for the same test of the same lab, IPv4 and IPv6, and a passing one says
// nothing; lab.explain() is `nslab explain`; a matcher run while a service of the lab is dead fails naming it.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Lab, type Expectation, type ProbeResult } from '../../src/api/index.js';
import { useLab } from '../../src/api/vitest.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import { whyLines } from '../../src/run/why.js';
import { cli, fails, isRoot, namespaces, sleep, tempDir, uid } from './helpers.js';

type Ping = { from: string; to: string; count: number; timeout: string };
interface Case {
  name: string;
  ping: Ping;
  expect: Expectation;
  /** the same claim as a matcher */
  matcher: (r: ProbeResult) => Promise<void>;
}
const ping = (to: string): Ping => ({ from: 'c', to, count: 1, timeout: '500ms' });
// why/stages.yaml's stage "broken": replies of a connection that came in on wan2 leave r1 by lan (its mark selects
// table isp2), packets to .8 are marked into a table that refuses them; c's lo address is not its source by default.
// Stage "fixed" holds the fixes the hints name.
const CASES: Case[] = [
  ...(['10.62.3.22', '2001:db8:62:3::22'] as const).map((to) => ({
    name: `api: reply-via ${to}`,
    ping: ping(to),
    expect: { 'reply-via': 'r1:wan2' },
    matcher: (r: ProbeResult) => expect(r).toReplyVia('r1:wan2'),
  })),
  ...(['10.62.3.8', '2001:db8:62:3::8'] as const).map((to) => ({
    name: `api: path ${to}`,
    ping: ping(to),
    expect: { path: ['c', 'r1', 'r2', 's'] },
    matcher: (r: ProbeResult) => expect(r).toFollowPath(['c', 'r1', 'r2', 's']),
  })),
  ...(
    [
      ['10.62.3.2', '10.62.9.2'],
      ['2001:db8:62:3::2', '2001:db8:62:9::2'],
    ] as const
  ).map(([to, source]) => ({
    name: `api: source ${to}`,
    ping: ping(to),
    expect: { source },
    matcher: (r: ProbeResult) => expect(r).toHaveSource(source),
  })),
];
// the twins: the same claims where they hold
const PASSING: Case[] = [
  {
    name: 'api: pass reply-via',
    ping: ping('10.62.3.2'),
    expect: { 'reply-via': 'r1:lan' },
    matcher: (r) => expect(r).toReplyVia('r1:lan'),
  },
  {
    name: 'api: pass path',
    ping: ping('2001:db8:62:3::2'),
    expect: { path: ['c', 'r1', 'r2', 's'] },
    matcher: (r) => expect(r).toFollowPath(['c', 'r1', 'r2', 's']),
  },
  {
    name: 'api: pass source',
    ping: ping('10.62.3.2'),
    expect: { source: '10.62.1.2' },
    matcher: (r) => expect(r).toHaveSource('10.62.1.2'),
  },
];

/** why/stages.yaml under a name of its own, with the cases as tests of its stage "broken". */
function labWithCases(): string {
  const name = `aw${uid()}`;
  const tests = [...CASES, ...PASSING].map(
    (c) => `      - ${JSON.stringify({ name: c.name, ping: c.ping, expect: c.expect })}\n`,
  );
  const text = readFileSync('test/fixtures/labs/why/stages.yaml', 'utf8')
    .replace(/^name: .*$/m, `name: ${name}`)
    .replace(/( {2}- name: broken\n {4}tests:\n)/, `$1${tests.join('')}`);
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(file, text);
  return file;
}

describe.skipIf(!isRoot)('matcher failures carry the why and hint of nslab test', () => {
  const file = labWithCases();
  let cliResults: TestResult[] = [];
  beforeAll(() => {
    const r = cli(['test', file, '--stage', 'broken', '--grep', 'api: ', '--reporter', 'json']);
    expect(r.code, r.stderr).toBe(1);
    cliResults = (JSON.parse(r.stdout) as { labs: LabRun[] }).labs.flatMap((l) => l.tests);
  }, 300_000);
  const lab = useLab(file, { stage: 'broken', artifacts: tempDir() });
  const cliOf = (name: string) => cliResults.find((t) => t.name === name)!;

  for (const c of CASES)
    it(`${c.name}: the message has the CLI's why and hint lines`, async () => {
      const t = cliOf(c.name);
      expect(t.status).toBe('failed');
      const lines = whyLines(t.why);
      // the CLI explains every one of these, each with a fix or with why there is none
      expect(
        lines.some((l) => /^(hint|no fix found): /.test(l)),
        lines.join('\n'),
      ).toBe(true);
      const r = await lab.ping(c.ping);
      const message = await fails(() => c.matcher(r));
      expect(message).toContain(`\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
    });

  it('the hints of stage "fixed" are named (IPv4 and IPv6), as the CLI names them', () => {
    const hints = CASES.flatMap((c) => (cliOf(c.name).why ?? []).map((w) => w.hint)).filter(Boolean);
    expect(hints).toContain(
      "on r1: ip route replace default via 10.62.5.2 dev wan2 table isp2 (as stage 'fixed' applies)",
    );
    expect(hints).toContain(
      "on r1: ip -6 route replace default via 2001:db8:62:5::2 dev wan2 table isp2 (as stage 'fixed' applies)",
    );
    expect(hints).toContain("on r1: ip route replace 10.62.3.8 via 10.62.2.2 table t100 (as stage 'fixed' applies)");
  });

  for (const c of PASSING)
    it(`${c.name}: passes, as in the CLI, and asks for no why`, async () => {
      expect(cliOf(c.name).status).toBe('passed');
      const r = await lab.ping(c.ping);
      let asked = 0;
      const why = r.why.bind(r);
      r.why = (e) => (asked++, why(e));
      await c.matcher(r);
      expect(asked).toBe(0);
    });

  it('lab.explain() is nslab explain: the structured result, the same text, pass and fail', async () => {
    const bad = await lab.explain({ from: 'c', to: '10.62.3.22' });
    expect(bad.ok).toBe(false);
    expect(bad.probe).toBe('ping');
    expect(bad.applied).toEqual(['broken']);
    expect(bad.traces.map((t) => t.direction)).toEqual(['request', 'reply']);
    expect(bad.why.map((w) => w.hint)).toContain(
      "on r1: ip route replace default via 10.62.5.2 dev wan2 table isp2 (as stage 'fixed' applies)",
    );
    // the CLI, on the same running lab
    const text = cli(['explain', lab.instance, '--from', 'c', '--to', '10.62.3.22']);
    expect(text.code).toBe(1);
    // the same head and the same why lines (the traces cite frames of two different probes)
    const said = (s: string) =>
      s.split('\n').filter((l, i) => i === 0 || /^ {2}(why|cause|hint|no fix found): /.test(l));
    expect(said(bad.text)).toEqual(said(text.stdout));
    expect(said(bad.text).length).toBeGreaterThan(2);
    expect(bad.text).toMatch(/^ {2}why: r1: reply from 10\.62\.3\.22 to 10\.62\.5\.2 in on mid with mark 0x2 /m);
    const json = JSON.parse(cli(['explain', lab.instance, '--from', 'c', '--to', '10.62.3.22', '--json']).stdout);
    expect(json.why).toEqual(bad.why);

    const good = await lab.explain({ from: 'c', to: '2001:db8:62:3::2' });
    expect(good.ok).toBe(true);
    expect(good.why).toEqual([]);
    expect(good.text).toMatch(/the reply retraces the request: nothing to explain\n$/);
    const v6 = await lab.explain({ from: 'c', to: '2001:db8:62:3::8' });
    expect(v6.ok).toBe(false);
    expect(v6.why.map((w) => w.hint)).toContain(
      "on r1: ip -6 route replace 2001:db8:62:3::8 via 2001:db8:62:2::2 table t100 (as stage 'fixed' applies)",
    );
    await expect(lab.explain({ from: 'nosuch', to: 's' })).rejects.toThrow(/has no node 'nosuch'/);
  });
});

describe.skipIf(!isRoot)('a matcher run while a service of the lab is dead', () => {
  it('fails naming the service, how and when it ended, its last log lines; passes once it runs again', async () => {
    const name = `awsvc${uid()}`;
    const file = join(tempDir(), `${name}.yaml`);
    const daemon = 'echo "web: start $$"; echo "web: serving"; while :; do sleep 0.05; done';
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a:
    interfaces: { eth0: [10.75.0.1/24, 2001:db8:75::1/64] }
    services:
      - { name: web, command: ${JSON.stringify(['sh', '-c', daemon])}, ready: { log: 'web: serving' } }
  b: { interfaces: { eth0: [10.75.0.2/24, 2001:db8:75::2/64] } }
links: [a:eth0 b:eth0]
`,
    );
    await using lab = await Lab.up(file, { artifacts: tempDir() });
    const web = lab.node('a').service('web');
    // alive: the claim holds and says nothing of services
    const before = await lab.ping({ from: 'b', to: '10.75.0.1', count: 1 });
    expect(before.services).toEqual([]);
    await expect(before).toBeReachable();

    // killed mid-run, from outside: the next probe's matchers fail naming it
    process.kill(web.pid, 'SIGKILL');
    for (let i = 0; i < 100 && web.alive; i++) await sleep(20);
    const during = await lab.ping({ from: 'b', to: '2001:db8:75::1', count: 1 });
    expect(during.ok).toBe(false);
    const m = await fails(() => expect(during).toBeReachable());
    expect(m).toMatch(
      /\n {2}service 'web' of node 'a' exited \(killed by SIGKILL\) at \d{4}-\d\d-\d\dT[\d:.]+Z: this test ran while it was not running\n {2}service 'web' of node 'a': its log ends with:\n {4}web: start \d+\n {4}web: serving\n/,
    );
    expect(m).toMatch(/service 'web' of node 'a': its log is kept in \S+a-web\.log/);
    // .not does not turn a dead service into a pass
    expect(await fails(() => expect(during).not.toBeReachable())).toMatch(/service 'web' of node 'a' exited/);

    // running again: the death was reported, the next probe passes
    await web.restart();
    await expect(await lab.ping({ from: 'b', to: '10.75.0.1', count: 1 })).toBeReachable();
    await lab.down();
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });
});

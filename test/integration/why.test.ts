// The why and its hint, on real labs (issue 19): at the node where a test's packet went astray or died, the why names
// the kernel's decision for the packet as it was there (its firewall mark, its NAT, its sysctls), one cause per
// failure, and the hint is a fix. Proven the only way a fix can be: each failing test's hint is applied to the lab
// through `nslab exec`, as a user would paste it, and the same tests are run again: every one then passes.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestModel } from '../../src/lab/model.js';
import { loadLab } from '../../src/lab/resolve.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import { CLI, isRoot, namespaces, tempDir, uid } from './helpers.js';

const nslab = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '',
      stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (code) => res({ code, stdout, stderr }));
  });

/** `nslab check --reporter json`: the tests of one stage against the lab as it is. */
async function check(name: string, stage: string, more: string[] = []): Promise<TestResult[]> {
  const r = await nslab(['check', name, '--stage', stage, '--reporter', 'json', ...more]);
  expect(r.code === 0 || r.code === 1, r.stderr).toBe(true);
  return (JSON.parse(r.stdout) as { labs: LabRun[] }).labs.flatMap((l) => l.tests);
}

/** A hint's node and commands: `on NODE: CMD; CMD (as stage 'S' applies)`. */
function commandsOf(hint: string): { node: string; commands: string[] } {
  const m = /^on ([^:]+): (.*?)(?: \(as stage '[^']+' applies\))?$/.exec(hint);
  if (!m) throw new Error(`not a hint nslab prints: ${hint}`);
  return { node: m[1]!, commands: m[2]!.split('; ') };
}

/** Brings a copy of a fixture up under a name of its own, and takes it down after. */
function labCopy(fixture: string, prefix: string) {
  const name = `${prefix}${uid()}`;
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(file, readFileSync(fixture, 'utf8').replace(/^name: .*$/m, `name: ${name}`));
  return { name, file };
}

const byName = (rs: TestResult[], n: string) => {
  const r = rs.find((x) => x.name === n);
  if (!r) throw new Error(`no test ${n}`);
  return r;
};
/** What a failure says, for an assertion's message. */
const said = (t: TestResult) =>
  [t.reason, ...t.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.observed}`), JSON.stringify(t.facts)]
    .filter(Boolean)
    .join('; ');
const whys = (r: TestResult) => (r.why ?? []).map((w) => `${w.decision}${w.hint ? ` | hint: ${w.hint}` : ''}`);

/**
 * A failed ping whose spec and claims `nslab explain` asks the same of (from, to, replies): its why is explain's too.
 * Explain asks a symmetric reply besides, so it may say more (a divergence), never less.
 */
const explainable = (t: TestResult, m: TestModel | undefined): m is TestModel =>
  t.status === 'failed' &&
  m?.probe === 'ping' &&
  Object.keys(m.spec).every((k) => ['from', 'to', 'count', 'timeout'].includes(k)) &&
  Object.keys(m.expect).every((k) => ['replies', 'reachable'].includes(k));

/** A why's lines as the console reporter and `nslab explain` print them (without their indent). */
const whyLines = (t: TestResult) =>
  (t.why ?? []).flatMap((w) => [
    `why: ${w.decision}`,
    ...(w.cause && w.cause !== w.decision ? [`cause: ${w.cause}`] : []),
    ...(w.hint ? [`hint: ${w.hint}`] : []),
    ...(w.noFix ? [`no fix found: ${w.noFix}`] : []),
  ]);

const WHY_LINE = /^\s+(why|cause|hint|no fix found): /;

/** The why lines of one test's block in a console report. */
function consoleWhy(out: string, lab: string, t: TestResult): string[] {
  const lines = out.split('\n');
  const i = lines.findIndex((l) => l.startsWith(`✗ ${lab} › ${t.stage} › ${t.name} `));
  if (i < 0) return [`(no block for ${t.name})`];
  const end = lines.findIndex((l, k) => k > i && /^[✓✗-] /.test(l));
  return lines
    .slice(i + 1, end < 0 ? undefined : end)
    .filter((l) => WHY_LINE.test(l))
    .map((l) => l.trim());
}

const esc = (x: string) => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** The why lines of one test's article in the HTML report, in the console's words. */
function htmlWhy(html: string, t: TestResult): string[] {
  const at = html.indexOf(`<span class="name">${esc(t.name)}</span>`);
  if (at < 0) return [`(no article for ${t.name})`];
  const article = html.slice(at, html.indexOf('</article>', at));
  const unesc = (x: string) =>
    x
      .replace(/&quot;/g, '"')
      .replace(/&gt;/g, '>')
      .replace(/&lt;/g, '<')
      .replace(/&amp;/g, '&');
  return [...article.matchAll(/<div><b>(why|cause|hint|no fix found)<\/b> (?:<code>)?(.*?)(?:<\/code>)?<\/div>/g)].map(
    (m) => `${m[1]}: ${unesc(m[2]!)}`,
  );
}

/**
 * The same facts wherever a failure is shown: its why, cause and hint in the JSON report, the console's block and the
 * HTML report's article (the same words, in the same order), and among what `nslab explain` prints for the same pair.
 */
function sameEverywhere(s: ReturnType<typeof fixedByTheirHints>) {
  it("a failed test's why, cause and hint: the same in the JSON, console and HTML reports, and in `nslab explain`", () => {
    const failed = s.before.filter((t) => t.status === 'failed' && t.why?.length);
    expect(failed.length).toBeGreaterThan(3);
    for (const t of failed) {
      expect(consoleWhy(s.console, s.lab, t), t.name).toEqual(whyLines(t));
      expect(htmlWhy(s.html, t), t.name).toEqual(whyLines(t));
    }
    // the twin: a passed test has no why in either
    const passed = s.before.find((t) => t.status === 'passed')!;
    expect(htmlWhy(s.html, passed)).toEqual([]);
    expect(s.explained.size).toBeGreaterThan(3);
    for (const [n, out] of s.explained) {
      const t = byName(s.before, n);
      const lines = out.filter((l) => WHY_LINE.test(l)).map((l) => l.trim());
      for (const l of whyLines(t)) expect(lines, `${t.name}: nslab explain said: ${out.join('\n')}`).toContain(l);
    }
  });
}

/**
 * Runs a lab's failing tests, applies every hint through `nslab exec`, and runs them again. Each failing test's
 * cause has its own addresses, interfaces or node, so the fixes do not stand in for each other.
 */
function fixedByTheirHints(fixture: string, prefix: string, stage: string) {
  const { name, file } = labCopy(fixture, prefix);
  const state = {
    lab: name,
    before: [] as TestResult[],
    after: [] as TestResult[],
    applied: [] as string[],
    /** before the hints: the console report, the HTML report of the JSON's run, `nslab explain` of some tests */
    console: '',
    html: '',
    explained: new Map<string, string[]>(),
  };
  beforeAll(async () => {
    const up = await nslab(['up', file]);
    expect(up.code, up.stderr).toBe(0);
    const dir = tempDir();
    state.before = await check(name, stage, ['--html', dir]);
    state.html = readFileSync(join(dir, 'report.html'), 'utf8');
    state.console = (await nslab(['check', name, '--stage', stage])).stdout;
    const model = loadLab(file).stages.find((x) => x.name === stage)!.tests;
    const pairs = state.before.flatMap((t) => {
      const m = model.find((x) => x.name === t.name);
      return explainable(t, m) ? [{ name: t.name, spec: m.spec as { from: string; to: string } }] : [];
    });
    // one at a time: side by side, each explain's captures in every node did not start in time on a loaded machine
    for (const p of pairs) {
      const r = await nslab(['explain', name, '--stage', stage, '--from', p.spec.from, '--to', p.spec.to]);
      state.explained.set(p.name, [...r.stdout.split('\n'), `(exit ${r.code}) ${r.stderr}`]);
    }
    for (const t of state.before)
      for (const w of t.why ?? []) {
        if (!w.hint) continue;
        const { node, commands } = commandsOf(w.hint);
        for (const c of commands) {
          const r = await nslab(['exec', name, node, '--', 'sh', '-c', c]);
          expect(r.code, `${t.name}: on ${node}: ${c}: ${r.stderr}`).toBe(0);
          state.applied.push(`${node}: ${c}`);
        }
      }
    state.after = await check(name, stage);
  }, 900_000);
  afterAll(async () => {
    await nslab(['down', name]);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });
  return state;
}

describe.skipIf(!isRoot)('why/fixes.yaml: every cause named, every hint a command that fixes it', () => {
  const s = fixedByTheirHints('test/fixtures/labs/why/fixes.yaml', 'wf', 'claims');
  sameEverywhere(s);

  it('each "fix:" test fails with a why and a complete hint (no placeholder); applied, every test passes', () => {
    const fixes = s.before.filter((t) => t.name.startsWith('fix: '));
    expect(fixes.length).toBe(36);
    for (const t of fixes) {
      expect(t.status, t.name).toBe('failed');
      const hints = (t.why ?? []).filter((w) => w.hint).map((w) => w.hint!);
      expect(hints.length, `${t.name}: ${whys(t).join(' / ')}`).toBe(1);
      expect(hints[0], t.name).not.toMatch(/<[^>]*>/);
      expect(hints[0], t.name).toMatch(/^on [\w-]+: \S/);
    }
    for (const t of s.before.filter((x) => x.name.startsWith('pass: '))) expect(t.status, t.name).toBe('passed');
    // the same tests, after the hints: all pass (but those no fix was found for)
    expect(s.after.length).toBe(s.before.length);
    for (const t of s.after.filter((x) => !x.name.startsWith('no fix: ')))
      expect(t.status, `${t.name}: ${said(t)}`).toBe('passed');
  });

  // the why of each: the kernel's decision for the packet as it was, in the lab's terms
  const cases: [string, RegExp, RegExp?][] = [
    // a mark set by r1's own nftables in prerouting is given to `ip route get`: rule 500 sends it to a table that
    // refuses it
    [
      'fix: marked into a table that refuses',
      /^r1: no route to 10\.61\.2\.8 for a packet from 10\.61\.1\.2 in on lan with mark 0x1 \(table inet mangle chain prerouting: iifname "lan" ip daddr 10\.61\.2\.8 icmp type echo-request meta mark set 0x00000001\) \(No route to host\): rule 500 \(marked\) → unreachable 10\.61\.2\.8$/,
      /^on r1: ip route replace 10\.61\.2\.8 dev up table marked$/,
    ],
    [
      'fix: v6 marked into a table that refuses',
      /^r1: no route to 2001:db8:61:2::8 for a packet from 2001:db8:61:1::2 in on lan with mark 0x1 \(.*icmpv6 type echo-request meta mark set 0x00000001\) \(No route to host\): rule 500 \(marked\) → unreachable 2001:db8:61:2::8$/,
      /^on r1: ip -6 route replace 2001:db8:61:2::8 dev up table marked$/,
    ],
    // NAT named as NAT: the rule that rewrote the source, and a change to that rule (never a route's src)
    [
      'fix: masquerade',
      /^r1: request from 10\.61\.1\.2 to 10\.61\.5\.2 in on lan out on nat: its source was rewritten to 10\.61\.5\.1 by table ip nat chain postrouting: oifname "nat" masquerade$/,
      /^on r1: nft 'insert rule ip nat postrouting handle \d+ ip saddr 10\.61\.1\.2 ip daddr 10\.61\.5\.2 accept'$/,
    ],
    [
      'fix: v6 masquerade',
      /^r1: request from 2001:db8:61:1::2 to 2001:db8:61:5::2 in on lan out on nat: its source was rewritten to 2001:db8:61:5::1 by table ip6 nat6 chain postrouting: oifname "nat" masquerade$/,
      /^on r1: nft 'insert rule ip6 nat6 postrouting handle \d+ ip6 saddr 2001:db8:61:1::2 ip6 daddr 2001:db8:61:5::2 accept'$/,
    ],
    [
      'fix: snat to another address',
      /^r1: request from 10\.61\.7\.2 to 10\.61\.5\.2 in on dlan out on nat: its source was rewritten to 10\.61\.5\.1 by table ip nat chain postrouting: ip saddr 10\.61\.7\.0\/24 oifname "nat" snat to 10\.61\.5\.1$/,
      /^on r1: nft 'replace rule ip nat postrouting handle \d+ ip saddr 10\.61\.7\.0\/24 oifname "nat" snat to 10\.61\.5\.9'$/,
    ],
    [
      'fix: dnat',
      /^r1: request from 10\.61\.1\.2 to 10\.61\.1\.1 in on lan out on nat: its destination was rewritten to 10\.61\.5\.2 by table ip nat chain prerouting: iifname "lan" ip daddr 10\.61\.1\.1 dnat to 10\.61\.5\.2$/,
    ],
    [
      'fix: v6 dnat',
      /^r1: request from 2001:db8:61:1::2 to 2001:db8:61:1::1 .*its destination was rewritten to 2001:db8:61:5::2 by table ip6 nat6 chain prerouting/,
    ],
    // causes found, not guessed: the sysctls that silence a node
    [
      'fix: echoes ignored',
      /^x: the request arrived; x ignores echo requests \(net\.ipv4\.icmp_echo_ignore_all=1\)$/,
      /^on x: sysctl -w net\.ipv4\.icmp_echo_ignore_all=0$/,
    ],
    [
      'fix: v6 echoes ignored',
      /^x: the request arrived; x ignores echo requests \(net\.ipv6\.icmp\.echo_ignore_all=1\)$/,
      /^on x: sysctl -w net\.ipv6\.icmp\.echo_ignore_all=0$/,
    ],
    [
      'fix: forwarding off on an interface',
      /^r3 does not forward IPv4 that comes in on a \(net\.ipv4\.conf\.a\.forwarding=0\)/,
      /^on r3: sysctl -w net\.ipv4\.conf\.a\.forwarding=1$/,
    ],
    [
      'fix: v6 forwarding off',
      /^r3 does not forward IPv6 \(net\.ipv6\.conf\.all\.forwarding=0\)/,
      /^on r3: sysctl -w net\.ipv6\.conf\.all\.forwarding=1$/,
    ],
    [
      'fix: arp_ignore',
      /^r2: 10\.61\.3\.7 does not answer ARP on b: 10\.61\.3\.7 is srv's .*arp_ignore=1/,
      /^on srv: sysctl -w net\.ipv4\.conf\.eth1\.arp_ignore=0$/,
    ],
    [
      'fix: rp_filter',
      /^r1: the reverse-path filter on lan refused source 10\.61\.10\.2 \(rp_filter lan=1, all=\d, strict\): the route back to 10\.61\.10\.2 leaves through side, not lan$/,
      /^on r1: sysctl -w net\.ipv4\.conf\.lan\.rp_filter=2$/,
    ],
    [
      'fix: a source the router owns',
      /^r1: its source 10\.61\.2\.1 is r1's own address, and a packet from it coming in on dlan is a martian/,
      /^on r1: sysctl -w net\.ipv4\.conf\.dlan\.accept_local=1$/,
    ],
    // a drop rule without a counter, the only one on the hook that matches: named as the cause
    [
      'fix: filtered, the only rule that matches',
      /^r1: the firewall's forward hook drops it: table inet fw chain forward: udp dport 9999 drop$/,
    ],
    // a packet that never left: what the test sent (its port) walked through the sender's output hook
    [
      'fix: not sent, output firewall',
      /^d: nothing left it: the firewall's output hook drops it: table inet out chain output: ip daddr 10\.61\.5\.2 tcp dport 7100 drop$/,
      /^on d: nft 'insert rule inet out output handle \d+ ip saddr \{ 10\.61\.7\.2, 10\.61\.5\.2 \}/,
    ],
    [
      'fix: dropped by a policy',
      /^srv: the firewall's input hook drops it: table inet guard chain input: policy drop$/,
    ],
  ];
  for (const [name, why, hint] of cases)
    it(`${name}: the why names the cause${hint ? ' and the hint the fix' : ''}`, () => {
      const t = byName(s.before, name);
      const w = t.why!.find((x) => x.hint) ?? t.why![0]!;
      expect(w.decision).toMatch(why);
      if (hint) expect(w.hint).toMatch(hint);
      // never a routing story beside it, never a route's src for a NAT
      expect(whys(t).join(' / ')).not.toMatch(
        /no rp_filter, neighbour or firewall drop found|route replace \S+ .*src /,
      );
    });

  // a rule with a rate limit sets the mark the routing rules select by: nslab cannot know this packet's mark, and
  // says so rather than answer for a packet without it; no hint, and the test still fails after the others' hints
  for (const n of ['no fix: a mark set at a rate', 'no fix: v6 a mark set at a rate'])
    it(`${n}: the why says the mark cannot be known, and names the rule; no hint`, () => {
      const t = byName(s.before, n);
      const v6 = n.includes('v6');
      expect(t.status).toBe('failed');
      expect(t.why!.length).toBe(1);
      expect(t.why![0]!.decision).toMatch(
        v6
          ? /^r1: not established: a rule of r1 selects by mark, and nslab cannot know this packet's: table inet mangle chain prerouting: iifname "lan" ip6 daddr 2001:db8:61:2::9 limit rate 10\/second( burst \d+ packets)? meta mark set 0x00000001 matches on a limit statement, which nslab cannot tell$/
          : /^r1: not established: a rule of r1 selects by mark, and nslab cannot know this packet's: table inet mangle chain prerouting: iifname "lan" ip daddr 10\.61\.2\.9 limit rate 10\/second( burst \d+ packets)? meta mark set 0x00000001 matches on a limit statement, which nslab cannot tell$/,
      );
      expect(t.why![0]!.hint).toBeUndefined();
      expect(t.why![0]!.noFix).toBe('the routing decision depends on a mark nslab cannot tell');
      expect(byName(s.after, n).status).toBe('failed');
    });

  for (const n of ['fix: diverged, then dropped', 'fix: v6 diverged, then dropped'])
    it(`${n}: both causes in the order they happened, the hint on the drop only`, () => {
      const t = byName(s.before, n);
      const v6 = n.includes('v6');
      expect(t.traces!.find((x) => x.direction === 'reply')).toMatchObject({
        disposition: 'dropped-filtered',
        at: 'r1',
      });
      expect(t.why!.map((w) => [w.node, !!w.hint])).toEqual([
        ['srv', false],
        ['r1', true],
      ]);
      expect(t.why![0]!.decision).toMatch(
        /^srv: reply from \S+ to \S+ matched rule 32766 \(main\) → default via \S+ dev eth0/,
      );
      expect(t.why![1]!.decision).toMatch(
        v6
          ? /^r1: the firewall's forward hook drops it: table inet fw chain forward: ip6 saddr 2001:db8:61:3::9 drop$/
          : /^r1: the firewall's forward hook drops it: table inet fw chain forward: ip saddr 10\.61\.3\.9 drop$/,
      );
    });
});

describe.skipIf(!isRoot)('why/stages.yaml: the fix a later stage holds, counted drops, marks from a connection', () => {
  const s = fixedByTheirHints('test/fixtures/labs/why/stages.yaml', 'ws', 'broken');
  sameEverywhere(s);

  it('each "fix:" test fails with one hint; applied, every test of the stage passes', () => {
    const fixes = s.before.filter((t) => t.name.startsWith('fix: '));
    expect(fixes.length).toBe(15);
    for (const t of fixes) {
      expect(t.status, t.name).toBe('failed');
      expect((t.why ?? []).filter((w) => w.hint).length, `${t.name}: ${whys(t).join(' / ')}`).toBe(1);
    }
    expect(byName(s.before, 'pass: c reaches s').status).toBe('passed');
    for (const t of s.after) expect(t.status, `${t.name}: ${said(t)}`).toBe('passed');
  });

  const staged: [string, RegExp, RegExp][] = [
    [
      'fix: no route back',
      /^r2: no route to 10\.62\.9\.2 for a packet from 10\.62\.3\.2 in on b \(Network is unreachable\)$/,
      /^on r2: ip route replace default via 10\.62\.2\.1 \(as stage 'fixed' applies\)$/,
    ],
    [
      'fix: v6 no route back',
      /^r2: no route to 2001:db8:62:9::2 for a packet from 2001:db8:62:3::2 in on b/,
      /^on r2: ip -6 route replace default via 2001:db8:62:2::1 \(as stage 'fixed' applies\)$/,
    ],
    [
      'fix: marked into a table that refuses',
      /^r1: no route to 10\.62\.3\.8 .* in on lan with mark 0x1 \(table inet mangle chain prerouting: iifname "lan" ip daddr 10\.62\.3\.8 meta mark set 0x00000001\) \(No route to host\): rule 500 \(t100\) → unreachable 10\.62\.3\.8$/,
      /^on r1: ip route replace 10\.62\.3\.8 via 10\.62\.2\.2 table t100 \(as stage 'fixed' applies\)$/,
    ],
    [
      'fix: v6 marked into a table that refuses',
      /^r1: no route to 2001:db8:62:3::8 .* with mark 0x1 .*rule 500 \(t100\) → unreachable 2001:db8:62:3::8$/,
      /^on r1: ip -6 route replace 2001:db8:62:3::8 via 2001:db8:62:2::2 table t100 \(as stage 'fixed' applies\)$/,
    ],
    // the connection's mark, set when the request came in on wan2 and restored into the replies' mark
    [
      "fix: the connection's mark sends replies out the wrong line",
      /^r1: reply from 10\.62\.3\.22 to 10\.62\.5\.2 in on mid with mark 0x2 \(table inet mangle chain prerouting: iifname "mid" meta mark set ct mark; its connection's mark 0x2 was set when the request crossed r1: table inet mangle chain prerouting: iifname "wan2" ct state new ct mark set 0x00000002\) matched rule 510 \(isp2\) → default via 10\.62\.1\.2 dev lan, not wan2 where the request came in$/,
      /^on r1: ip route replace default via 10\.62\.5\.2 dev wan2 table isp2 \(as stage 'fixed' applies\)$/,
    ],
    [
      "fix: v6 the connection's mark sends replies out the wrong line",
      /^r1: reply from 2001:db8:62:3::22 to 2001:db8:62:5::2 in on mid with mark 0x2 .*matched rule 510 \(isp2\) → default via 2001:db8:62:1::2 dev lan, not wan2 where the request came in$/,
      /^on r1: ip -6 route replace default via 2001:db8:62:5::2 dev wan2 table isp2 \(as stage 'fixed' applies\)$/,
    ],
    [
      'fix: echoes ignored',
      /^r2: the request arrived; r2 ignores echo requests \(net\.ipv4\.icmp_echo_ignore_all=1\)$/,
      /^on r2: sysctl -w .*net\.ipv4\.icmp_echo_ignore_all=0.* \(as stage 'fixed' applies\)$/,
    ],
    [
      'fix: v6 no forwarding',
      /^r3 does not forward IPv6 \(net\.ipv6\.conf\.all\.forwarding=0\)/,
      /^on r3: sysctl -w net\.ipv6\.conf\.all\.forwarding=1 \(as stage 'fixed' applies\)$/,
    ],
    // counted drops: the rule whose counter moved, and an exception before it
    [
      'fix: filtered, counted',
      /^r1: the firewall dropped it: table inet fw chain forward: ip daddr 10\.62\.3\.5 counter drop \(its counter moved by 1 packet during the probe\)$/,
      /^on r1: nft 'insert rule inet fw forward handle \d+ ip saddr \{ 10\.62\.1\.2, 10\.62\.3\.5 \} ip daddr \{ 10\.62\.1\.2, 10\.62\.3\.5 \} accept'$/,
    ],
    [
      'fix: v6 answer taken by the output firewall, counted',
      /^s: the request arrived; its answer did not leave: the firewall dropped it: table inet out chain output: tcp sport 7070 counter drop \(its counter moved by \d+ packets? during the probe\)$/,
      /^on s: nft 'insert rule inet out output handle \d+ ip6 saddr \{ 2001:db8:62:3::2, 2001:db8:62:1::2 \}/,
    ],
  ];
  for (const [name, why, hint] of staged)
    it(`${name}: the why names the cause, the hint the fix`, () => {
      const w = byName(s.before, name).why!.find((x) => x.hint)!;
      expect(w.decision).toMatch(why);
      expect(w.hint).toMatch(hint);
    });

  // the twin of the mark case: the same lab once stage 'fixed' is applied routes the marked packets
  it('after the hints, the marked packets are routed through table t100', () => {
    expect(byName(s.after, 'fix: marked into a table that refuses').status).toBe('passed');
    expect(byName(s.after, 'fix: v6 marked into a table that refuses').status).toBe('passed');
  });
});

describe.skipIf(!isRoot)('why/senders.yaml: the uid a packet was sent with, broadcasts, arp_filter', () => {
  const s = fixedByTheirHints('test/fixtures/labs/why/senders.yaml', 'wu', 'claims');
  sameEverywhere(s);

  it('each "fix:" test fails with one hint; applied, it passes; "no fix:" fails before and after; "pass:" passes', () => {
    const fixes = s.before.filter((t) => t.name.startsWith('fix: '));
    expect(fixes.length).toBe(4);
    for (const t of fixes) {
      expect(t.status, t.name).toBe('failed');
      expect((t.why ?? []).filter((w) => w.hint).length, `${t.name}: ${whys(t).join(' / ')}`).toBe(1);
    }
    for (const t of s.before.filter((x) => x.name.startsWith('pass: '))) expect(t.status, t.name).toBe('passed');
    for (const t of s.after.filter((x) => !x.name.startsWith('no fix: ')))
      expect(t.status, `${t.name}: ${said(t)}`).toBe('passed');
    for (const t of s.after.filter((x) => x.name.startsWith('no fix: '))) expect(t.status, t.name).toBe('failed');
  });

  // the answer of a service running as nobody is routed by srv's uidrange rule: nslab cannot know that socket's uid,
  // and says so rather than answer for uid 0 (for which srv routes it fine); its twin, nslab's own listener (root),
  // answers and passes
  for (const n of ["no fix: a service's answer, its uid not known", "no fix: v6 a service's answer, its uid not known"])
    it(`${n}: the why says the uid is not known, names the rule and the service's user; no hint`, () => {
      const t = byName(s.before, n);
      expect(t.status).toBe('failed');
      expect(t.why!.length).toBe(1);
      expect(t.why![0]!.decision).toBe(
        "srv: the request arrived; where its answer went is not established: the uid of its socket is not known: rule 400 selects by uid (uidrange 65534-65534); the answer is sent by a program of the lab's on srv, and a service there runs as user 'nobody': nslab does not know the uid of the socket that answered",
      );
      expect(t.why![0]!.hint).toBeUndefined();
      expect(t.why![0]!.noFix).toBe('the routing decision depends on the uid of a socket nslab does not know');
      expect(whys(t).join(' / ')).not.toMatch(/uid 0/);
    });

  const cases: [string, RegExp, RegExp][] = [
    // nslab's probe is root: uid 0 is the packet's, and the rule that selects it by that uid is named
    [
      "fix: nslab's probe is uid 0",
      /^c: no route to 10\.64\.2\.2 as uid 0 \(nslab's probe runs as root\) \(No route to host\): rule 400 \(t201\) → unreachable 10\.64\.2\.0\/24: the kernel refused to send$/,
      /^on c: ip route replace 10\.64\.2\.0\/24 dev eth1 table t201$/,
    ],
    [
      "fix: v6 nslab's probe is uid 0",
      /^c: no route to 2001:db8:64:2::2 as uid 0 \(nslab's probe runs as root\) \(No route to host\): rule 400 \(t201\) → unreachable 2001:db8:64:2::\/64: the kernel refused to send$/,
      /^on c: ip -6 route replace 2001:db8:64:2::\/64 dev eth1 table t201$/,
    ],
    // a ping to a subnet's broadcast address reaches h, which ignores it (a namespace's default); k answers its own
    [
      'fix: broadcast echoes ignored',
      /^h: the request arrived, to the broadcast address 10\.64\.3\.255; h ignores echo requests to a broadcast address \(net\.ipv4\.icmp_echo_ignore_broadcasts=1\)$/,
      /^on h: sysctl -w net\.ipv4\.icmp_echo_ignore_broadcasts=0$/,
    ],
    [
      'fix: arp_filter',
      /^c: nothing left it: 10\.64\.5\.2 does not answer ARP on eth4: 10\.64\.5\.2 is n's, and arp_filter there answers only where its route back to 10\.64\.5\.1 leaves \(e2, not e1\)$/,
      /^on n: sysctl -w net\.ipv4\.conf\.e1\.arp_filter=0$/,
    ],
  ];
  for (const [name, why, hint] of cases)
    it(`${name}: the why names the cause, the hint the fix`, () => {
      const w = byName(s.before, name).why!.find((x) => x.hint)!;
      expect(w.decision).toMatch(why);
      expect(w.hint).toMatch(hint);
    });
});

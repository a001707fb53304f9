// Traces and the why, on real traffic: each way a packet dies gets its
// disposition and hop (with a twin that gets through), and for every bundled
// lab the fix stage's tests run against the bug stage name the rule and route
// that sent the packet the wrong way, with the fix stage's own lines as the hint.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lab/resolve.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import { runLab } from '../../src/run/suite.js';
import { CLI, isRoot, namespaces, tempDir, uid } from './helpers.js';

describe.skipIf(!isRoot)('dispositions where a packet dies, each with its twin', () => {
  let run: LabRun;
  const t = (n: string): TestResult => run.tests.find((x) => x.name === n)!;
  beforeAll(async () => {
    run = await runLab(loadLab('test/fixtures/labs/drops.yaml'), { artifacts: tempDir() });
  }, 90_000);

  it('ran every test and left nothing', () => {
    expect(run.error).toBeUndefined();
    expect(namespaces(`nslab-${run.instance}.`)).toEqual([]);
  });

  const dies: [string, string, RegExp][] = [
    ['dies: no route', 'dropped-no-route', /r: no route to 10\.5\.3\.2 for a packet from 10\.5\.1\.2 in on lan/],
    ['dies: v6 no route', 'dropped-no-route', /r: no route to 2001:db8:53::2/],
    ['dies: no neighbour', 'dropped-no-neighbour', /r: 10\.5\.2\.99 does not answer ARP on n0/],
    ['dies: v6 no neighbour', 'dropped-no-neighbour', /r: 2001:db8:52::99 does not answer neighbour discovery on n0/],
    [
      'dies: filtered',
      'dropped-filtered',
      /r: the firewall dropped it: table inet fw chain forward: ip daddr 10\.5\.2\.3 counter drop \(its counter moved by 1 packet during the probe\)/,
    ],
    // without a counter on the rule: the drop rules on the hook that name the packet's addresses
    [
      'dies: v6 filtered',
      'dropped-filtered',
      /r: the firewall's forward hook drops it: table inet fw chain forward: ip6 daddr 2001:db8:52::3 drop$/,
    ],
    // a drop rule that names neither address, without a counter: the only rule on the hook the packet crossed that
    // matches it (its protocol and port, as captured), so the cause
    [
      'dies: a drop rule names no address',
      'dropped-filtered',
      /r: the firewall's forward hook drops it: table inet fw chain forward: udp dport 9999 drop$/,
    ],
    // a reject rule's answer (icmp) is not what it matches: it is named for a tcp probe
    [
      'dies: rejected, tcp',
      'dropped-filtered',
      /r: the firewall's forward hook drops it: table inet fw chain forward: ip daddr 10\.5\.2\.4 reject with icmp port-unreachable$/,
    ],
    // a regular chain, jumped to from the forward hook: its counter counts there
    [
      'dies: dropped in a regular chain, udp',
      'dropped-filtered',
      /r: the firewall dropped it: table inet fw chain block: ip daddr 10\.5\.2\.5 counter drop \(its counter moved by 1 packet/,
    ],
    [
      'dies: rp_filter',
      'dropped-rp-filter',
      /reverse-path filter on lan refused source 10\.5\.8\.2 .*leaves through n0, not lan/,
    ],
  ];
  for (const [name, disposition, cause] of dies)
    it(`${name}: the request is ${disposition} at r, and the why says so`, () => {
      const r = t(name);
      expect(r.status).toBe('failed');
      const q = r.traces!.find((x) => x.direction === 'request')!;
      expect(q).toMatchObject({ disposition, at: 'r' });
      expect(q.hops.map((h) => [h.node, h.in, h.out])).toEqual([
        ['a', undefined, 'eth0'],
        ['r', 'lan', undefined],
      ]);
      // every hop cites a frame of a kept pcap that holds it
      for (const h of q.hops)
        for (const e of h.evidence) {
          expect(e.frame).toBeGreaterThan(0);
          expect(e.pcap && existsSync(e.pcap) && basename(e.pcap)).toMatch(new RegExp(`-${h.node}\\.pcap$`));
        }
      expect(r.why?.find((w) => w.node === 'r')?.cause).toMatch(cause);
      expect(r.traces!.some((x) => x.direction === 'reply')).toBe(false);
    });

  for (const name of [
    'pass: routed',
    'pass: v6 routed',
    'pass: not filtered',
    'pass: v6 not filtered',
    'pass: rp_filter',
  ])
    it(`${name}: delivered both ways past r`, () => {
      const r = t(name);
      expect(r.status, r.checks.map((c) => `${c.name}: ${c.observed}`).join('; ')).toBe('passed');
      expect(r.traces!.map((x) => [x.direction, x.disposition])).toEqual([
        ['request', 'delivered'],
        ['reply', 'delivered'],
      ]);
      expect(r.traces![0]!.hops.map((h) => h.node)).toEqual(['a', 'r', 'b']);
      expect(r.why).toBeUndefined();
    });

  // nothing left the sender: its own kernel says why (no route, no address of the family, its output firewall)
  const unsent: [string, RegExp, string | RegExp][] = [
    [
      'dies: not sent, no route',
      /^d: no route to 10\.5\.1\.2 \(Network is unreachable\): the kernel refused to send$/,
      'on d: ip route add 10.5.1.0/24 via 10.5.4.1',
    ],
    [
      'dies: not sent, v6 no route',
      /^d: no route to 2001:db8:51::2 \(Network is unreachable\): the kernel refused to send$/,
      'on d: ip -6 route add 2001:db8:51::/64 via 2001:db8:54::1',
    ],
    // no command gives a node an address of a family and a route back to it: no fix, and why
    [
      'dies: not sent, no IPv6 address',
      /^e: no route to 2001:db8:51::2 .*; e has no IPv6 address$/,
      /^no fix found: e has no IPv6 address/,
    ],
    [
      'dies: not sent, output firewall',
      /^d: nothing left it: the firewall dropped it: table inet out chain output: ip daddr 10\.5\.4\.1 icmp type echo-request counter drop \(its counter moved by 1 packet/,
      /^on d: nft 'insert rule inet out output handle \d+ ip saddr \{ 10\.5\.4\.2, 10\.5\.4\.1 \} ip daddr \{ 10\.5\.4\.2, 10\.5\.4\.1 \} accept'$/,
    ],
    [
      'dies: not sent, v6 output firewall',
      /^d: nothing left it: the firewall's output hook drops it: table inet out chain output: ip6 daddr 2001:db8:54::1 icmpv6 type echo-request drop$/,
      /^on d: nft 'insert rule inet out output handle \d+ ip6 saddr \{ 2001:db8:54::2, 2001:db8:54::1 \}/,
    ],
  ];
  for (const [name, cause, hint] of unsent)
    it(`${name}: the request is not-sent at its sender, and the sender's kernel says why`, () => {
      const r = t(name);
      expect(r.status).toBe('failed');
      const node = name.includes('IPv6 address') ? 'e' : 'd';
      expect(r.traces).toEqual([
        expect.objectContaining({ direction: 'request', disposition: 'not-sent', at: node, hops: [] }),
      ]);
      const w = r.why?.find((x) => x.node === node);
      expect(w?.cause).toMatch(cause);
      const said = w?.hint ?? (w?.noFix !== undefined ? `no fix found: ${w.noFix}` : undefined);
      if (typeof hint === 'string') expect(said).toBe(hint);
      else expect(said).toMatch(hint);
    });
  // the twins: the same sender reaches its own link, and its firewall lets other traffic out, on both families
  for (const name of [
    'pass: d reaches its own link',
    'pass: v6 d reaches its own link',
    "pass: d's firewall lets tcp out",
    "pass: v6 d's firewall lets tcp out",
  ])
    it(`${name}: delivered both ways`, () => {
      const r = t(name);
      expect(r.status, r.checks.map((c) => `${c.name}: ${c.observed}`).join('; ')).toBe('passed');
      expect(r.traces!.map((x) => [x.direction, x.disposition, x.hops[0]?.node])).toEqual([
        ['request', 'delivered', 'd'],
        ['reply', 'delivered', 'r'],
      ]);
    });
  // the request arrives, the answer is taken by the target's own output firewall: said at the target
  const answers: [string, RegExp][] = [
    [
      "dies: d's answer is taken by its output firewall",
      /^d: the request arrived; its answer did not leave: the firewall dropped it: table inet out chain output: tcp sport 7070 counter drop \(its counter moved by \d+ packets?/,
    ],
    [
      "dies: v6 d's answer is taken by its output firewall",
      /^d: the request arrived; its answer did not leave: the firewall dropped it: table inet out chain output: ip6 daddr 2001:db8:54::1 tcp sport 7071 counter drop \(its counter moved by \d+ packets?/,
    ],
  ];
  // without a counter: the answer (its addresses and ports known from the request) walked through d's output hook
  // meets that rule first, and nothing on the hook is left that nslab cannot evaluate: the rule is the cause (issue 19)
  it("dies: d's answer meets a rule without a counter: dropped-filtered, the rule named as the cause", () => {
    const r = t("dies: d's answer meets a rule without a counter");
    expect(r.traces!.map((x) => [x.direction, x.disposition, x.at])).toEqual([
      ['request', 'delivered', 'd'],
      ['reply', 'dropped-filtered', 'd'],
    ]);
    expect(r.why?.find((w) => w.node === 'd')?.decision).toMatch(
      /^d: the request arrived; its answer did not leave: the firewall's output hook drops it: table inet out chain output: ip daddr 10\.5\.4\.1 tcp sport 7072 drop$/,
    );
  });
  for (const [name, decision] of answers)
    it(`${name}: the request is delivered, the answer dropped-filtered at d, and the why names the rule`, () => {
      const r = t(name);
      expect(r.status).toBe('failed');
      expect(r.traces!.map((x) => [x.direction, x.disposition, x.at])).toEqual([
        ['request', 'delivered', 'd'],
        ['reply', 'dropped-filtered', 'd'],
      ]);
      expect(r.why?.find((w) => w.node === 'd')?.decision).toMatch(decision);
    });
  for (const name of ['pass: d answers on another port', 'pass: v6 d answers on another port'])
    it(`${name}: delivered both ways`, () => {
      const r = t(name);
      expect(r.status).toBe('passed');
      expect(r.traces!.map((x) => [x.direction, x.disposition])).toEqual([
        ['request', 'delivered'],
        ['reply', 'delivered'],
      ]);
    });

  it('a ping that could not send says so in its facts', () => {
    expect(t('dies: not sent, no route').facts.ping).toMatch(/Network is unreachable/);
  });

  // b, the neighbour toward c, does not forward: a route to it would not get the packet there, so none is offered
  // (why/fixes.yaml has the twin whose route is the fix, applied)
  it('a missing route whose only way leads through a node that does not forward: no fix, and why', () => {
    for (const [n, f] of [
      ['dies: no route', 4],
      ['dies: v6 no route', 6],
    ] as const) {
      const w = t(n).why?.[0];
      expect(w?.hint).toBeUndefined();
      expect(w?.noFix).toMatch(
        new RegExp(`^no path in the lab leads from r to \\S+ through nodes that forward IPv${f}$`),
      );
    }
  });

  it('a passing test whose packet dies still names the cause in its disposition (the why is kept for failures)', () => {
    const r = t('pass: filtered, as this test expects');
    expect(r.status).toBe('passed');
    expect(r.traces).toEqual([
      expect.objectContaining({
        direction: 'request',
        disposition: 'dropped-filtered',
        at: 'r',
        detail: expect.stringMatching(/counter moved by 1 packet/),
      }),
    ]);
    expect(r.why).toBeUndefined();
  });

  it('without rp_filter the same foreign source gets through r (the rp_filter twin)', () => {
    const r = t('pass: another source gets through without rp_filter');
    expect(r.status).toBe('passed');
    expect(r.traces![0]).toMatchObject({ disposition: 'delivered', at: 'b' });
  });
});

// bug stage -> the stage that fixes it, and what the why must name there
const BUNDLED: {
  lab: string;
  bug?: string;
  fix: string;
  hintFrom?: string;
  node: string;
  decision: RegExp;
  route?: RegExp;
}[] = [
  {
    lab: 'dual-nic-reply-path',
    fix: 'with a routing table for eth1',
    node: 'server',
    decision:
      /server: reply from 192\.168\.1\.220 to 192\.168\.2\.17 matched rule 32766 \(main\) → default via 10\.0\.0\.1 dev eth0, not eth1 where the request came in; no rule selects from 192\.168\.1\.220/,
    // its route test fails too, and says why in the same terms
    route:
      /^ {4}why: server: from 192\.168\.1\.220 to 192\.168\.2\.17 matched rule 32766 \(main\) → default via 10\.0\.0\.1 dev eth0; no rule selects from 192\.168\.1\.220$/m,
  },
  // the second bug: eth0 down and no table for eth1, so the reply has no route at all; the fix is the table stage's
  {
    lab: 'dual-nic-reply-path',
    bug: 'eth0 down, without policy routing',
    fix: 'eth0 down, with policy routing',
    hintFrom: 'with a routing table for eth1',
    node: 'server',
    decision: /server: no route back to 192\.168\.2\.17 from 192\.168\.1\.220 \(Network is unreachable\)/,
  },
  {
    lab: 'dual-nic-reply-path-v6',
    fix: 'with a source-specific route',
    node: 'server',
    decision:
      /server: reply from 2001:db8:1::220 to 2001:db8:2::17 matched rule 32766 \(main\) → default via 2001:db8:10::1 dev eth0, not eth1/,
  },
  {
    lab: 'server-initiated-source',
    fix: "route to the client via enetA's router",
    node: 'server',
    decision:
      /server: request to 10\.1\.1\.1 matched rule 32766 \(main\) → default via 192\.168\.77\.1 dev enetZ src 192\.168\.77\.50/,
  },
  {
    lab: 'split-access-load-balance',
    fix: 'split access',
    node: 'lb',
    decision:
      /lb: reply from 198\.51\.100\.10 to 100\.64\.0\.10 matched rule 32766 \(main\) → default via 203\.0\.113\.1 dev if1, not if2/,
  },
  {
    lab: 'two-isp-nat-gateway',
    fix: 'replies per line',
    node: 'gw',
    decision:
      /gw: reply from 198\.51\.100\.2 to 100\.64\.0\.10 matched rule 32766 \(main\) → default via 203\.0\.113\.1 dev linea, not lineb/,
  },
  {
    lab: 'vip-source-example1',
    fix: 'with the source address setting',
    node: 'server',
    decision:
      /server: request to 10\.1\.0\.50 matched rule 32766 \(main\) → 10\.1\.0\.0\/16 dev eth0 .*src 10\.1\.5\.170/,
  },
  {
    lab: 'vip-source-example2',
    fix: 'with the source address setting',
    node: 'server',
    decision:
      /server: request to 192\.168\.3\.161 matched rule 32766 \(main\) → 192\.168\.3\.160\/28 dev eth1 .*src 192\.168\.3\.170/,
  },
];

const nslab = (args: string[]) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((res) => {
    const c = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    let stdout = '',
      stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    c.on('close', (code) => res({ code, stdout, stderr }));
  });

describe.skipIf(!isRoot)(
  "every bundled lab: the fix stage's tests against the bug stage name the rule and route, and hint the fix",
  () => {
    const dir = tempDir();
    const up: string[] = [];
    afterAll(async () => {
      for (const i of up) await nslab(['down', i]);
    });

    for (const b of BUNDLED)
      it(`${b.lab}: nslab check --stage '${b.fix}' on stage '${b.bug ?? 'the first'}'`, async () => {
        const model = loadLab(`labs/${b.lab}.yaml`);
        const name = `tr${uid()}-${b.lab}`.slice(0, 32);
        const file = join(dir, `${name}.yaml`);
        writeFileSync(file, readFileSync(`labs/${b.lab}.yaml`, 'utf8').replace(/^name: .*$/m, `name: ${name}`));
        const bug = b.bug ?? model.stages[0]!.name;
        const from = b.hintFrom ?? b.fix;
        expect((await nslab(['up', file, '--stage', bug])).code).toBe(0);
        up.push(name);
        const r = await nslab(['check', name, '--stage', b.fix]);
        expect(r.code, r.stderr).toBe(1);
        expect(r.stdout).toMatch(new RegExp(`^    why: ${b.decision.source}`, 'm'));
        if (b.route) expect(r.stdout).toMatch(b.route);
        // the hint is the fix stage's own lines for that node: every rule it adds, and the routes of the tables those
        // rules select
        const fix = model.stages.find((s) => s.name === from)!.apply.get(b.node)!;
        const hints = r.stdout
          .split('\n')
          .filter((l) => l.startsWith(`    hint: on ${b.node}: `) && l.endsWith(`(as stage '${from}' applies)`));
        expect(hints.length, r.stdout).toBeGreaterThan(0);
        const own = [
          ...fix.rules.map((l) => `rule add ${l.text.replace(/^-6 /, '')}`),
          ...fix.routes.map((l) => `route replace ${l.text.replace(/^-6 /, '')}`),
        ];
        for (const h of hints) {
          const items = h.slice(`    hint: on ${b.node}: `.length, -` (as stage '${from}' applies)`.length).split('; ');
          for (const item of items)
            expect(
              own.some((o) => item.endsWith(o)),
              `${item} is not in stage '${from}'`,
            ).toBe(true);
          if (fix.rules.length)
            expect(
              items.some((i) => i.includes(' rule add ')),
              h,
            ).toBe(true);
        }
        const down = await nslab(['down', name]);
        expect(down.code).toBe(0);
        up.splice(up.indexOf(name), 1);
        expect(namespaces(`nslab-${name}.`)).toEqual([]);
      }, 60_000);
  },
);

describe.skipIf(!isRoot)('nslab explain on a live lab (the shipped CLI)', () => {
  const name = `tr${uid()}-explain`;
  const file = join(tempDir(), 'dual.yaml');
  afterAll(async () => {
    await nslab(['down', name]);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('names the rule and route that send the reply astray, hints the fix stage; a path with nothing wrong has nothing to explain', async () => {
    writeFileSync(file, readFileSync('labs/dual-nic-reply-path.yaml', 'utf8').replace(/^name: .*$/m, `name: ${name}`));
    expect((await nslab(['up', file, '--stage', 'without policy routing'])).code).toBe(0);
    const bad = await nslab([
      'explain',
      name,
      '--stage',
      'without policy routing',
      '--from',
      'pc2',
      '--to',
      'server:eth1',
    ]);
    expect(bad.code, bad.stderr).toBe(1);
    expect(bad.stdout).toMatch(/^ {2}request: pc2 eth0 → router → sw1 → server eth1 ✓ delivered$/m);
    expect(bad.stdout).toMatch(/^ {2}reply: +\[server out eth0\] → router → pc2 eth0 ✗ asymmetric at server/m);
    expect(bad.stdout).toMatch(
      /^ {2}why: server: reply from 192\.168\.1\.220 to 192\.168\.2\.17 matched rule 32766 \(main\) → default via 10\.0\.0\.1 dev eth0/m,
    );
    expect(bad.stdout).toMatch(
      /^ {2}hint: on server: ip rule add from 192\.168\.1\.220 table gateway1; .*\(as stage 'with a routing table for eth1' applies\)$/m,
    );
    // the same question as JSON: the traces and the why, as the JSON reporter carries them
    const j = await nslab(['explain', file, '--from', 'pc2', '--to', '192.168.1.220', '--probe', 'tcp', '--json']);
    expect(j.code).toBe(1);
    const out = JSON.parse(j.stdout);
    expect(out.traces.map((t: any) => [t.direction, t.disposition, t.at])).toEqual([
      ['request', 'delivered', 'server'],
      ['reply', 'asymmetric', 'server'],
    ]);
    expect(out.why[0]).toMatchObject({ node: 'server', decision: expect.stringContaining('rule 32766 (main)') });
    // twins: a client on eth1's own subnet has nothing to explain; a node the lab lacks is a usage error
    const good = await nslab(['explain', name, '--from', 'pc1', '--to', 'server:eth1']);
    expect(good.code, good.stdout).toBe(0);
    expect(good.stdout).toMatch(/nothing to explain/);
    // asked for IPv6 from a node that has none: nothing is sent, and its kernel says why (its IPv4 twin is `good`)
    const v6 = await nslab(['explain', name, '--from', 'pc1', '--to', 'server:eth1', '--ipv6']);
    expect(v6.code, v6.stdout).toBe(1);
    expect(v6.stdout).toMatch(/^ {2}request: \(nothing captured\) ✗ not-sent at pc1/m);
    expect(v6.stdout).toMatch(
      /^ {2}why: pc1: no route to 2001:db8:1::220 \(Network is unreachable\): the kernel refused to send; pc1 has no IPv6 address$/m,
    );
    expect(v6.stdout).toMatch(/^ {2}no fix found: pc1 has no IPv6 address: /m);
    expect(v6.stdout).not.toMatch(/^ {2}hint:/m);
    const none = await nslab(['explain', name, '--from', 'pcX', '--to', 'server:eth1']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/has no node 'pcX'/);
  });
});

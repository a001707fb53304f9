// Every assertion kind on a purpose-built lab: each "pass: ..." test must pass
// and its "fail: ..." twin must fail, so no check passes whatever happens.
import { existsSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { kernelFeatures } from '../../src/engine/capabilities.js';
import { loadLab } from '../../src/lab/resolve.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import { runLab } from '../../src/run/suite.js';
import { isRoot, namespaces, tempDir } from './helpers.js';
import { fixtureTwins } from './twins.js';

// Twins for every assertion kind, in two purpose-built labs: "pass: ..." must
// pass, "fail: ..." must fail on its assertion, and "dies: ..." (the same claim
// where a firewall drops the packets half-way) must fail too, never pass on
// evidence from elsewhere. rule-selectors.yaml does the same for every ip rule
// selector through the route probe, in the manner of fib_rule_tests.sh.
// waits.yaml and waits-netem.yaml: a negative verdict's wait decides (a timeout shorter than the
// answer misses it), and the lab's rule covers a lab service's slow answer and a link's delay.
// side-by-side.yaml: tests that run at the same time share a named port's listener without closing
// it under each other, and a tcp test is judged on its own connection, never another's; throughput
// over a slow link lasts as long as asked and counts what the link still held.
const have = isRoot ? await kernelFeatures() : undefined;
for (const [fixture, needs] of [
  ['test/fixtures/labs/rule-selectors.yaml'],
  ['test/fixtures/labs/nat-ports.yaml'],
  ['test/fixtures/labs/waits.yaml'],
  ['test/fixtures/labs/side-by-side.yaml'],
  ['test/fixtures/labs/waits-netem.yaml', 'netem'] as const,
] as const)
  describe.skipIf(!isRoot || (needs !== undefined && !have?.[needs]))(
    `twins: ${fixture}${needs ? ` (needs sch_${needs}${have && !have[needs] ? ', which this kernel lacks' : ''})` : ''}`,
    () => {
      // a negative verdict says how long it waited, and by which rule
      fixtureTwins(fixture, (t, r) => {
        if (t.name.endsWith("after the rule's wait"))
          expect(r.facts.wait).toMatch(/^waited \d+ ms \(100 ms \+ 10 x [\d.]+ ms measured\)$/);
      });
    },
  );

describe.skipIf(!isRoot)('assertions on real traffic, each with its failing twin', () => {
  let run: LabRun;
  const byName = (n: string): TestResult => run.tests.find((t) => t.name === n)!;

  beforeAll(async () => {
    run = await runLab(loadLab('test/fixtures/labs/probes.yaml'), { artifacts: tempDir() });
  }, 120_000);

  it('brings the lab up and down without error, leaving nothing', () => {
    expect(run.error).toBeUndefined();
    expect(namespaces(`nslab-${run.instance}.`)).toEqual([]);
  });

  const lab = loadLab('test/fixtures/labs/probes.yaml');
  for (const stage of lab.stages)
    for (const t of stage.tests.filter((x) => /^(pass|fail|dies): /.test(x.name)))
      it(`${stage.name} › ${t.name}`, () => {
        const r = byName(t.name);
        const want = t.name.startsWith('pass') ? 'passed' : 'failed';
        expect(
          r.status,
          `${r.status}: ${r.reason ?? ''} ${r.checks
            .filter((c) => !c.ok)
            .map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`)
            .join('; ')}`,
        ).toBe(want);
        if (want === 'failed') expect(r.reason, 'a twin must fail on its assertion, not on an error').toBeUndefined();
      });

  it('a claim about a place that saw nothing fails as not observed, distinguishable from a mismatch', () => {
    for (const n of [
      'dies: reply-via',
      'dies: symmetric',
      'dies: asymmetric',
      'dies: reply-path',
      'dies: source',
      'dies: tcp source',
      'dies: udp source',
      'dies: v6 source',
      'dies: v6 symmetric',
    ]) {
      const c = byName(n).checks.filter((x) => !x.ok);
      expect(c.length, n).toBeGreaterThan(0);
      expect(
        c.every((x) => x.notObserved && /^not observed( at \S+)?: /.test(x.observed)),
        n,
      ).toBe(true);
    }
    expect(byName('dies: source').checks[0]!.observed).toBe(
      'not observed at s: the request never arrived there (last seen at r)',
    );
    expect(byName('dies: reply-via').checks[0]!.observed).toBe('not observed at s: no reply was captured there');
    expect(byName('fail: symmetric').checks[0]!.notObserved).toBeUndefined();
  });

  it('spread counts the flows delivered, over all the flows sent', () => {
    const c = byName('dies: flows failover').checks.find((x) => x.name === 'spread r:n0')!;
    expect(c.ok).toBe(false);
    expect(c.observed).toMatch(/of 40 flows delivered through it; \d+ of 40 flows not delivered/);
  });

  it('a symmetric: true that fails names the hop where the reply went another way', () => {
    const c = byName('fail: symmetric').checks.find((x) => x.name === 'symmetric')!;
    expect(c.observed).toBe('false (at s: the request came in on eth1, the reply left through eth0)');
    expect(byName('fail: symmetric').request).toBe('c>eth0 -> lan>r>n1 -> eth1>s');
    expect(byName('fail: symmetric').reply).toBe('s>eth0 -> n0>r>lan -> eth0>c');
  });

  it('a failure keeps one pcap per node and names the files', () => {
    const r = byName('fail: reply-via');
    expect(r.artifacts.map((f) => f.split('-').pop())).toEqual(['c.pcap', 'r.pcap', 's.pcap']);
    for (const f of r.artifacts) expect(existsSync(f)).toBe(true);
    expect(byName('pass: reply-via').artifacts).toEqual([]);
  });

  it('reports what the far end saw and the tcp outcome', () => {
    expect(byName('fail: tcp timeout').checks[0]).toMatchObject({ expected: 'timeout', observed: 'refused' });
    expect(byName('fail: source').checks[0]!.observed).toBe('10.1.0.2 (at s)');
  });

  it('skips a test whose kernel feature is missing, with the reason, and never passes it', async () => {
    const r = byName('needs netem');
    if ((await kernelFeatures()).netem) expect(r.status).toBe('passed');
    else expect(r).toMatchObject({ status: 'skipped', reason: 'test needs sch_netem, which this kernel lacks' });
  });
});

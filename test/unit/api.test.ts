// The test API without root: defineLab checks a definition exactly as a lab
// file is checked (problems placed at the call), bundled labs resolve from the
// package, probe results are judged by the engine's code in the matchers.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledLab, defineLab, type Expectation, type LabDefinition } from '../../src/api/index.js';
import { matchers } from '../../src/api/matchers.js';
import { LabFileError } from '../../src/errors.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab, loadLab } from '../../src/lab/resolve.js';
import { check } from '../../src/probes/types.js';
import type { DeadService } from '../../src/run/results.js';

const bad = {
  name: 'Bad_Name',
  nodes: {
    a: { interfaces: { eth0: '10.0.0.1/24' }, routes: ['default via 10.9.9.9'] },
    b: { interfaces: { eth0: '10.0.0.1/24' }, forwardng: true },
  },
  links: ['a:eth0 b:eth0', 'a:eth1 c:eth0'],
  stages: [
    { name: 's', tests: [{ name: 't', ping: { from: 'a', to: 'b', form: 'a' }, expect: { reply_via: 'b:eth0' } }] },
  ],
} as unknown as LabDefinition;

describe('defineLab', () => {
  it('gives the same problems as the same lab in a file, placed at the call', () => {
    const fromFile = checkLab(loadLabText(JSON.stringify(bad, null, 1), 'bad.yaml')).problems;
    expect(fromFile.length).toBeGreaterThan(4);
    let err: unknown;
    let line = '';
    try {
      line = new Error().stack!.split('\n')[1]!.match(/:(\d+):\d+\)?$/)![1]!; // this line, and defineLab on the next
      defineLab(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LabFileError);
    const problems = (err as LabFileError).problems;
    expect(problems.map((p) => [p.message, p.hint]).sort()).toEqual(fromFile.map((p) => [p.message, p.hint]).sort());
    for (const p of problems) expect(`${p.file}:${p.line}`).toBe(`${import.meta.filename}:${Number(line) + 1}`);
    expect((err as Error).message).toMatch(
      /api\.test\.ts:\d+:\d+: unknown key 'forwardng'.*\n\s+hint: did you mean 'forwarding'\?/,
    );
  });

  it('gives the model the same lab gives from a file (but for places)', () => {
    const def: LabDefinition = {
      name: 'inline',
      nodes: { a: { interfaces: { eth0: '10.0.0.1/24' } }, b: { interfaces: { eth0: '10.0.0.2/24' } } },
      links: ['a:eth0 b:eth0'],
    };
    const model = defineLab(def);
    const same = checkLab(loadLabText(JSON.stringify(def), model.file)).model!;
    const noPlaces = (m: object) => JSON.parse(JSON.stringify(m, (k, v) => (k === 'at' ? undefined : v)));
    expect(noPlaces(model)).toEqual(noPlaces(same));
    expect(model.file).toBe(import.meta.filename);
  });
});

describe('bundledLab', () => {
  it('finds the labs nslab ships, from wherever it is installed', () => {
    expect(loadLab(bundledLab('dual-nic-reply-path')).name).toBe('dual-nic-reply-path');
    expect(() => bundledLab('dual-nic')).toThrow(/no bundled lab 'dual-nic'[\s\S]*dual-nic-reply-path/);
    expect(() => bundledLab('../package')).toThrow(/no bundled lab/);
  });
});

describe("matchers, on a result whose judging is the engine's", () => {
  it('refuse what is not a probe result, saying what they expected', async () => {
    const r = await matchers.toReplyVia.call({ isNot: false }, { stdout: '' }, 'a:eth0');
    expect(r.pass).toBe(false);
    expect(r.message()).toMatch(/expected the result of a probe/);
  });

  // a result as a probe gives it: the reply left by server:eth0; its why is recorded when asked
  const result = (services: DeadService[] = []) => {
    const asked: unknown[] = [];
    const r = {
      probe: 'ping',
      at: 't.ts:1:1',
      checks: [],
      facts: {},
      services,
      judge: (e: Expectation) =>
        e['reply-via'] ? [check('reply-via', e['reply-via'], 'server:eth0')] : [check('symmetric', e.symmetric, false)],
      why: (e: Expectation) => {
        asked.push(e);
        return Promise.resolve([
          { node: 'server', decision: 'server: reply ... dev eth0', hint: 'on server: ip rule add' },
        ]);
      },
      pcaps: () => [],
    };
    return { r, asked };
  };
  const svcd: DeadService = {
    node: 'server',
    service: 'svcd',
    exit: 'exit status 1',
    at: '2026-12-07T22:00:00.000Z',
    tail: ['Error: read ECONNRESET'],
  };

  it('a failure carries the why and the hint of what was asked; a pass asks nothing', async () => {
    const { r, asked } = result();
    // as vitest calls it without .not: isNot undefined
    const f = await matchers.toReplyVia.call({}, r, 'server:eth1');
    expect(f.pass).toBe(false);
    expect(f.message()).toMatch(/\n {2}why: server: reply \.\.\. dev eth0\n {2}hint: on server: ip rule add(\n|$)/);
    expect(asked).toEqual([{ 'reply-via': 'server:eth1' }]);
    const p = await matchers.toReplyVia.call({ isNot: false }, r, 'server:eth0');
    expect(p.pass).toBe(true);
    expect(asked).toHaveLength(1);
    // .not with an opposite in the format explains the opposite; without one, there is nothing to explain
    await matchers.toBeSymmetric.call({ isNot: true }, r);
    expect(asked).toHaveLength(1); // it passed: not symmetric
    const n = await matchers.toReplyVia.call({ isNot: true }, r, 'server:eth0');
    expect(n.pass).toBe(true); // vitest inverts it: a failure
    expect(n.message()).not.toMatch(/why:/);
    expect(asked).toHaveLength(1);
  });

  it('a service dead while the probe ran fails every claim, with and without .not, naming it', async () => {
    const { r } = result([svcd]);
    const f = await matchers.toReplyVia.call({}, r, 'server:eth0');
    expect(f.pass).toBe(false);
    expect(f.message()).toContain(
      "\n  service 'svcd' of node 'server' exited (exit status 1) at 2026-12-07T22:00:00.000Z: this test ran while it was not running\n  service 'svcd' of node 'server': its log ends with:\n    Error: read ECONNRESET",
    );
    expect((await matchers.toReplyVia.call({ isNot: true }, r, 'server:eth1')).pass).toBe(true);
    // the twin: all alive, the same claim passes
    expect((await matchers.toReplyVia.call({ isNot: false }, result().r, 'server:eth0')).pass).toBe(true);
  });
});

describe('the CLI stays as fast to start as it was', () => {
  it('bundles none of the test API (execa, the reaper, the matchers)', () => {
    const bundle = readdirSync('dist/bin')
      .filter((f) => /\.m?js$/.test(f))
      .map((f) => readFileSync(`dist/bin/${f}`, 'utf8'))
      .join('\n');
    expect(bundle).toMatch(/ip netns exec/); // the bundle is there: `nslab exec`
    for (const s of ['execa', 'reaper.js', 'toReplyVia', 'bundledLab']) expect(bundle.includes(s), s).toBe(false);
  });
});

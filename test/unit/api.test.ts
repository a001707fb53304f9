// The test API without root: defineLab checks a definition exactly as a lab
// file is checked (problems placed at the call), bundled labs resolve from the
// package, probe results are judged by the engine's code in the matchers.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundledLab, defineLab, type LabDefinition } from '../../src/api/index.js';
import { matchers } from '../../src/api/matchers.js';
import { LabFileError } from '../../src/errors.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab, loadLab } from '../../src/lab/resolve.js';

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
  it('refuse what is not a probe result, saying what they expected', () => {
    const r = matchers.toReplyVia.call({ isNot: false }, { stdout: '' }, 'a:eth0');
    expect(r.pass).toBe(false);
    expect(r.message()).toMatch(/expected the result of a probe/);
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

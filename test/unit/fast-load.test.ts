// Loading a lab fast. Lab files are read by js-yaml when plain (fast) and by `yaml` otherwise
// (src/lab/load.ts): both readings must give the same data, and positions,
// looked up lazily, must still be exact.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fastRead, loadLabText, loadWithYaml } from '../../src/lab/load.js';
import { loadLab } from '../../src/lab/resolve.js';
import { buildPlan } from '../../src/plan/build.js';
import { tempDir } from '../integration/helpers.js';

/** What `yaml` alone makes of a text (the loader before the fast path): its data, or 'error'. */
const slow = (text: string) => {
  const l = loadWithYaml(text, 'x.yaml');
  return l.problems.length ? 'error' : l.data;
};
const reading = (text: string) => {
  const l = loadLabText(text, 'x.yaml');
  return l.problems.length ? 'error' : l.data;
};

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? yamlFiles(p) : /\.ya?ml$/.test(f) ? [p] : [];
  });
}

describe('fast YAML reading', () => {
  it('reads every lab file and fixture as `yaml` does', () => {
    const files = [...yamlFiles('labs'), ...yamlFiles('test/fixtures')];
    expect(files.length).toBeGreaterThan(20);
    let fast = 0;
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      if (fastRead(text) !== undefined) fast++;
      expect(reading(text), f).toEqual(slow(text));
    }
    expect(fast).toBeGreaterThan(files.length / 3); // the fast path is really taken
  });

  it('reads scalars by YAML 1.2 core rules, as `yaml` does (js-yaml alone differs on 0b101, -0x1F, 1e400)', () => {
    const scalars = [
      '1',
      '-1',
      '+1',
      '0x1F',
      '0o17',
      '017',
      '0b101',
      '-0x1F',
      '+0x1F',
      '-0o17',
      '1_000',
      '1.5',
      '.5',
      '-.5',
      '1.',
      '1e3',
      '1e400',
      '-1e400',
      '+.inf',
      '-.Inf',
      '.NaN',
      '~',
      'null',
      'NULL',
      'nULL',
      'true',
      'True',
      'yes',
      'off',
      '2024-01-01',
      '1:20:30',
      '-0',
      '09',
      '1.0',
      '""',
      "'x'",
      '10.0.0.1/24',
      'fe80::1/64',
    ];
    for (const v of scalars)
      for (const text of [`k: ${v}\n`, `${v}: x\n`, `k: [${v}]\n`]) expect(reading(text), text).toEqual(slow(text));
    expect(fastRead('k: 0b101\n')).toEqual({ k: '0b101' });
    expect(fastRead('k: 1e400\n')).toEqual({ k: Infinity });
  });

  it('leaves to `yaml` what only it reads as meant: anchors, tags, null keys, complex keys, several documents, errors', () => {
    for (const text of [
      'a: &x 1\nb: *x\n',
      'a: !!str 1\n',
      'null: 1\n',
      '~: 1\n',
      '? [a]\n: 1\n',
      '[a]: 1\n',
      'a: 1\n---\nb: 2\n',
      'a: 1\na: 2\n',
      'a: [1\n',
      '%YAML 1.1\n---\na: yes\n',
      'b: {<<: {a: 1}}\n',
    ])
      expect(fastRead(text), text).toBeUndefined();
    expect(loadLabText('a: 1\na: 2\n', 'x.yaml').problems[0]).toMatchObject({
      line: 2,
      col: 1,
      message: 'YAML syntax: Map keys must be unique',
    });
  });

  it('positions read lazily are those of the file: a link, a route', () => {
    const f = join(tempDir(), 'pos.yaml');
    writeFileSync(
      f,
      'name: pos\nnodes:\n  a:\n    interfaces: { eth0: 10.0.0.1/24 }\n    routes:\n      - default via 10.0.0.2\n  b: { interfaces: { eth0: 10.0.0.2/24 } }\nlinks:\n  - a:eth0 b:eth0\n',
    );
    expect(fastRead(readFileSync(f, 'utf8'))).toBeDefined();
    const lab = loadLab(f);
    expect({ ...lab.links[0]!.at }).toEqual({ file: f, line: 9, col: 5 });
    const route = buildPlan(lab).steps.find((s) => s.args[0] === 'route')!;
    expect({ ...route.at }).toEqual({ file: f, line: 6, col: 9 });
  });
});

describe('IPv4 interface addresses are judged without ipaddr.js, as ipaddr.js judges them', () => {
  it('agrees with ipaddr.js ranges on every first octet and the edges', async () => {
    const { notAnInterfaceAddress, parseCidr } = await import('../../src/lab/addr.js');
    const ipaddr = (await import('ipaddr.js')).default;
    const reference = (address: string, prefix: number) => {
      const r = ipaddr.parse(address).range();
      return r === 'unspecified' || r === 'multicast' || r === 'broadcast' || prefix === 0;
    };
    const addrs = [
      '255.255.255.255',
      '255.255.255.254',
      '223.255.255.255',
      '224.0.0.0',
      '239.255.255.255',
      '240.0.0.1',
      '0.0.0.0',
      '0.1.2.3',
      '1.0.0.0',
    ];
    for (let o = 0; o < 256; o++) addrs.push(`${o}.1.2.3`);
    for (const a of addrs)
      for (const prefix of [0, 8, 24, 32]) {
        const c = parseCidr(`${a}/${prefix}`)!;
        expect(notAnInterfaceAddress(c) !== undefined, `${a}/${prefix}`).toBe(reference(a, prefix));
      }
  });
});

describe('the code cache of the bundled up (dist/bin/up.js.cache)', () => {
  it('is accepted by this Node, wrapped as the entry wraps it (a refused cache only costs time, so this is what can fail)', async () => {
    const { existsSync } = await import('node:fs');
    const { Script } = await import('node:vm');
    const path = join(process.cwd(), 'dist/bin/up.js');
    expect(existsSync(`${path}.cache`), 'dist/bin/up.js.cache is missing: run bash scripts/build.sh').toBe(true);
    const script = new Script(
      `(function (exports, require, module, __filename, __dirname) {${readFileSync(path, 'utf8')}\n})`,
      { filename: path, cachedData: readFileSync(`${path}.cache`) },
    );
    expect(script.cachedDataRejected).toBe(false);
    expect(readFileSync('dist/bin/main.js', 'utf8')).toContain(
      '(function (exports, require, module, __filename, __dirname) {',
    );
  });
});

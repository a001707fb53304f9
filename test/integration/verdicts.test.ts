// No test vanishes from a report: when a stage cannot be applied, its tests and
// every later stage's are reported as failed ("not run" and why) in every
// reporter, with counts that agree with the test cases listed; --grep applies
// only the stages its tests need.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, isRoot, namespaces, tempDir, uid } from './helpers.js';

const run = (args: string[]) => {
  const r = spawnSync('node', [CLI, ...args], { encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

describe.skipIf(!isRoot)('no test vanishes', () => {
  const name = `vanish${uid()}`;
  const dir = tempDir();
  const file = join(dir, 'lab.yaml');
  // stage two's ruleset is valid YAML and passes validate, but nft refuses it at apply time
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a: { interfaces: { eth0: 10.9.0.1/24 } }
  b: { interfaces: { eth0: 10.9.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: one
    tests:
      - { name: ping, ping: { from: a, to: 10.9.0.2, count: 1 }, expect: { replies: 1 } }
  - name: two
    apply:
      b: { nftables: "table inet x { chain y { tcp dport nonsense drop } }" }
    tests:
      - { name: ping again, ping: { from: a, to: 10.9.0.2, count: 1 }, expect: { replies: 1 } }
      - { name: route, route: { node: a, to: 10.9.0.2 }, expect: { dev: eth0 } }
  - name: three
    tests:
      - { name: still there, exec: { node: a, command: "true" } }
`,
  );

  it("a stage that fails to apply reports its tests and the later stages' as not run, in every reporter", () => {
    const art = tempDir();
    const r = run(['test', file, '--reporter', 'junit', '--artifacts', art]);
    expect(r.code).toBe(1);
    const junit = readFileSync(join(art, 'junit.xml'), 'utf8');
    const cases = [...junit.matchAll(/<testcase /g)].length;
    expect(cases).toBe(4);
    expect(junit).toMatch(/<testsuites name="nslab" tests="4" failures="3" skipped="0" errors="0">/);
    expect([...junit.matchAll(/type="not-run"/g)]).toHaveLength(3);
    expect(junit).toMatch(/not run: stage &apos;two&apos; failed to apply: command failed in node &apos;b&apos;/);
    const json = JSON.parse(readFileSync(join(art, 'report.json'), 'utf8'));
    expect(json.totals).toEqual({ passed: 1, failed: 3, skipped: 0, errors: 0 });
    expect(json.labs[0].tests.map((t: { stage: string; name: string }) => `${t.stage}/${t.name}`)).toEqual([
      'one/ping',
      'two/ping again',
      'two/route',
      'three/still there',
    ]);
    const tap = run(['test', file, '--reporter', 'tap']).stdout;
    expect(tap).toMatch(/^1\.\.4$/m);
    expect([...tap.matchAll(/^not ok \d+ /gm)]).toHaveLength(3);
    const con = run(['test', file]).stdout;
    expect(con).toMatch(/1 passed, 3 failed\n$/);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('--grep applies only the stages up to the last one it selects', () => {
    const r = run(['test', file, '--grep', 'one › ping']);
    expect(r.stdout).toMatch(/1 passed, 0 failed\n$/);
    expect(r.code).toBe(0); // stage two, whose apply fails, was never applied
  });
});

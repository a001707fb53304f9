// Sharding and the progress line, through the shipped CLI (dist/bin/main.js):
// `--shard 1/2` + `--shard 2/2` run every test exactly once, their JUnit files
// merge into one valid document with unique testsuite names, and the progress
// line shows on a terminal (a pty from script(1)) and nowhere else.
import { spawn, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, isRoot, namespaces, NOT_ROOT, tempDir, uid } from './helpers.js';

const RUN = `shard${uid()}`;
const dir = tempDir();
const LABS = ['a', 'b', 'c', 'd', 'e'].map((x) => `${RUN}-${x}`);

// five small labs of two nodes, two stages each: cheap, but real namespaces, a veth and traffic
for (const name of LABS)
  writeFileSync(
    join(dir, `${name}.yaml`),
    `name: ${name}
nodes:
  p: { interfaces: { e0: 10.1.0.1/24 } }
  q: { interfaces: { e0: 10.1.0.2/24 } }
links: [p:e0 q:e0]
stages:
  - name: one
    tests:
      - { name: p answers itself, exec: { node: p, command: ip -o addr show dev e0 }, expect: { stdout: 10.1.0.1 } }
  - name: two
    tests:
      - { name: p reaches q, ping: { from: p, to: q, count: 1 }, expect: { replies: 1 } }
`,
  );

type R = { code: number | null; stdout: string; stderr: string };
const nslab = (args: string[], env: Record<string, string | undefined> = {}) =>
  new Promise<R>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FORCE_COLOR: '0', ...env } });
    let stdout = '',
      stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (name) => name === 'testsuite' || name === 'testcase',
});
const suitesOf = (doc: string) =>
  (
    xml.parse(doc) as {
      testsuites: { testsuite?: { name: string; testcase: { name: string; classname: string }[] }[] };
    }
  ).testsuites.testsuite ?? [];
/** What a CI system does with one JUnit file per job: every testsuite under one testsuites. */
const merge = (docs: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites name="nslab">\n${docs.map((d) => (/<testsuites[^>]*>([\s\S]*)<\/testsuites>/.exec(d)?.[1] ?? '').trim()).join('\n')}\n</testsuites>\n`;

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  expect(namespaces(`nslab-${RUN}`)).toEqual([]);
});

describe.skipIf(!isRoot)('nslab test --shard', () => {
  it('1/2 and 2/2 run every test exactly once; their JUnit files merge into one valid document', async () => {
    const [one, two] = await Promise.all([
      nslab(['test', dir, '--shard', '1/2', '--reporter', 'junit']),
      nslab(['test', dir, '--shard', '2/2', '--reporter', 'junit']),
    ]);
    expect(one.code, one.stderr).toBe(0);
    expect(two.code, two.stderr).toBe(0);
    expect(one.stderr).toMatch(/shard 1\/2: 3 of 5 labs/);
    expect(two.stderr).toMatch(/shard 2\/2: 2 of 5 labs/);
    const merged = merge([one.stdout, two.stdout]);
    expect(XMLValidator.validate(merged)).toBe(true);
    const suites = suitesOf(merged);
    const names = suites.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length); // unique testsuite names
    const cases = suites.flatMap((s) => s.testcase.map((t) => `${t.classname} ${t.name}`)).sort();
    const every = LABS.flatMap((l) => [`${l}.one p answers itself`, `${l}.two p reaches q`]).sort();
    expect(cases).toEqual(every); // each exactly once: no test missing, none twice
    // the twin: one shard alone misses tests
    expect(suitesOf(one.stdout).flatMap((s) => s.testcase).length).toBeLessThan(every.length);
  });

  it('balances by the durations of an earlier JSON report, the same way in every shard', async () => {
    const report = join(dir, 'report.json');
    // an earlier run where lab a was long: a shard of its own
    writeFileSync(
      report,
      JSON.stringify({ version: 1, labs: LABS.map((lab, i) => ({ lab, durationMs: i === 0 ? 60_000 : 1000 })) }),
    );
    const r = await nslab(['test', dir, '--shard', '1/2', '--durations', report, '--reporter', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { labs: { lab: string }[] }).labs.map((l) => l.lab)).toEqual([LABS[0]]);
    rmSync(report);
  });

  it('refuses a bad --shard with exit 2, before anything is created', async () => {
    const r = await nslab(['test', dir, '--shard', '3/2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--shard takes i\/n/);
  });

  it('draws a progress line on a terminal, never in a pipe or a CI log', () => {
    const args = ['test', join(dir, `${LABS[0]}.yaml`), join(dir, `${LABS[1]}.yaml`)];
    const tty = (env: Record<string, string>) =>
      spawnSync('script', ['-qec', [process.execPath, CLI, ...args].map((a) => `'${a}'`).join(' '), '/dev/null'], {
        encoding: 'utf8',
        env: { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'CI')), TERM: 'xterm', ...env },
      });
    const onTerminal = tty({});
    expect(onTerminal.status, onTerminal.stdout).toBe(0);
    expect(onTerminal.stdout).toMatch(/0\/2 labs done, 0:\d\d elapsed/);
    expect(onTerminal.stdout).toMatch(/2\/2 labs done, \d+:\d\d elapsed/);
    expect(onTerminal.stdout).toMatch(/4 passed, 0 failed/);
    // the twins: a CI job's terminal, and a pipe
    const inCi = tty({ CI: 'true' });
    expect(inCi.stdout).toMatch(/4 passed, 0 failed/);
    expect(inCi.stdout).not.toMatch(/labs done/);
    const piped = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CI: '' } });
    expect(piped.stdout + piped.stderr).toMatch(/4 passed/);
    expect(piped.stdout + piped.stderr).not.toMatch(/labs done/);
  });
});

if (!isRoot)
  describe('nslab test --shard (not root)', () => {
    it.skip(NOT_ROOT, () => {});
  });

// Doctor's verdict is what the run then does, entry by entry of the table of
// what nslab runs (src/engine/requirements.ts), through the shipped CLI: with a
// PATH holding every program of the table but one, doctor reports that one
// (an error naming its package when every lab or test needs it; a warning when
// only some labs do) and `nslab test` exits 3 naming the same package, before
// anything is created; with all of them, both pass. And /etc/protocols and
// /etc/services (netbase), hidden by empty files bound over them in a private
// mount namespace of the test's own (the machine's /etc is never written): a
// lab whose rule and route probes say `ipproto tcp` comes up and passes,
// doctor warns; an nftables ruleset that names a service fails and names netbase.
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUIREMENTS } from '../../src/engine/requirements.js';
import { CLI, isRoot, NOT_ROOT, tempDir, uid } from './helpers.js';

type R = { code: number | null; stdout: string; stderr: string };
const run = (argv: string[], env: Record<string, string>) =>
  new Promise<R>((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), {
      env: { HOME: '/', FORCE_COLOR: '0', TMPDIR: process.env.TMPDIR ?? '/tmp', ...env },
    });
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

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A directory of links to this machine's programs of the table, but `without`: a PATH of exactly those. */
function binDir(without: string[] = []): string {
  const d = tempDir();
  dirs.push(d);
  for (const r of REQUIREMENTS) {
    if (r.kind !== 'program' || without.includes(r.name)) continue;
    const runnable = (p: string) => {
      try {
        accessSync(p, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    };
    const found = (process.env.PATH ?? '')
      .split(':')
      .map((p) => join(p, r.name))
      .find(runnable);
    expect(found, `${r.name} on this machine's PATH`).toBeTruthy();
    symlinkSync(realpathSync(found!), join(d, r.name));
  }
  return d;
}

type Problem = { id: string; severity: string; problem: string; fix: string };
type Doctor = {
  ok: boolean;
  tools: Record<string, string | null>;
  files: Record<string, boolean>;
  problems: Problem[];
};
const doctor = async (env: Record<string, string>, pre: string[] = []) => {
  const r = await run([...pre, process.execPath, CLI, 'doctor', '--json'], env);
  return { code: r.code, d: JSON.parse(r.stdout) as Doctor, stderr: r.stderr };
};
const nslab = (args: string[], env: Record<string, string>, pre: string[] = []) =>
  run([...pre, process.execPath, CLI, ...args], env);

const LAB = 'labs/dual-nic-reply-path.yaml';
const needed = REQUIREMENTS.filter((r) => r.kind === 'program' && (r.need === 'lab' || r.need === 'test'));

describe.skipIf(!isRoot)('doctor and nslab test agree, entry by entry of the requirements table', () => {
  it('every program present: doctor exit 0 with no error; nslab test passes', async () => {
    const env = { PATH: binDir() };
    const { code, d } = await doctor(env);
    expect(d.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(code).toBe(0);
    for (const r of needed) expect(d.tools[r.name], r.name).toEqual(expect.any(String));
    const t = await nslab(['test', LAB], env);
    expect(t.stdout).toMatch(/^8 passed, 0 failed$/m);
    expect(t.code, t.stderr).toBe(0);
  });

  for (const r of needed)
    it(`without ${r.name}: doctor's error and nslab test's exit 3 both name ${r.package}`, async () => {
      const env = { PATH: binDir([r.name]) };
      const { code, d } = await doctor(env);
      expect(code).toBe(3);
      expect(d.tools[r.name]).toBeNull();
      const fix = expect.stringMatching(new RegExp(`^apt-get install ${r.package} `));
      expect(d.problems.find((p) => p.id === `missing-${r.name}`)).toMatchObject({ severity: 'error', fix });
      // the only error: the others are all there
      expect(d.problems.filter((p) => p.severity === 'error').map((p) => p.id)).toEqual([`missing-${r.name}`]);
      const t = await nslab(['test', LAB], env);
      expect(t.code, t.stdout + t.stderr).toBe(3);
      expect(t.stderr).toMatch(new RegExp(`'${r.name}' is not installed\\n\\s+hint: apt-get install ${r.package};`));
      expect(t.stdout).not.toMatch(/passed|failed/); // nothing ran
    });

  it('without tcpdump, which only tests need, a lab still comes up (nslab up) and goes down', async () => {
    const env = { PATH: binDir(['tcpdump']) };
    const id = `rq${uid()}`;
    const up = await nslab(['up', LAB, '--instance', id], env);
    expect(up.code, up.stderr).toBe(0);
    const down = await nslab(['down', `dual-nic-reply-path.${id}`], env);
    expect(down.code, down.stderr).toBe(0);
  });

  it('without nft, which some labs need: doctor warns (exit 0); a lab with nftables exits 3 naming nftables, one without passes', async () => {
    const env = { PATH: binDir(['nft']) };
    const { code, d } = await doctor(env);
    expect(code).toBe(0);
    const nft = d.problems.find((p) => p.id === 'missing-nft');
    expect(nft).toMatchObject({
      severity: 'warning',
      problem: expect.stringMatching(/nftables rulesets/),
      fix: 'apt-get install nftables',
    });
    const t = await nslab(['test', 'labs/server-initiated-source.yaml'], env);
    expect(t.code, t.stdout + t.stderr).toBe(3);
    expect(t.stderr).toMatch(/'nft' is not installed\n\s+hint: apt-get install nftables;/);
    expect((await nslab(['test', LAB], env)).code).toBe(0);
  });
});

/** Runs argv with /etc/protocols and /etc/services hidden by an empty file, in a mount namespace of its own. */
function hidden(): string[] {
  const d = tempDir();
  dirs.push(d);
  writeFileSync(join(d, 'empty'), '');
  const bind = ['/etc/protocols', '/etc/services'].map((f) => `mount --bind ${d}/empty ${f}`).join(' && ');
  return ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', `${bind} && exec "$@"`, 'sh'];
}

describe.skipIf(!isRoot)(
  'without /etc/protocols and /etc/services (netbase): nslab passes protocol numbers itself',
  () => {
    const env = () => ({ PATH: process.env.PATH! });

    it('hidden, ip itself refuses ipproto tcp (the twin: why nslab must not pass the name)', async () => {
      const r = await run(
        [...hidden(), 'unshare', '--net', 'ip', 'rule', 'add', 'ipproto', 'tcp', 'table', '100'],
        env(),
      );
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Invalid "ipproto" value/);
      expect(
        (await run([...hidden(), 'unshare', '--net', 'ip', 'rule', 'add', 'ipproto', '6', 'table', '100'], env())).code,
      ).toBe(0);
    });

    it('a lab whose rules and route probes say ipproto tcp comes up and passes; doctor warns, naming netbase', async () => {
      const t = await nslab(['test', 'test/fixtures/labs/ipproto-names.yaml'], env(), hidden());
      expect(t.stdout).toMatch(/^5 passed, 0 failed$/m);
      expect(t.code, t.stdout + t.stderr).toBe(0);
      const { code, d } = await doctor(env(), hidden());
      expect(code).toBe(0);
      expect(d.files).toEqual({ '/etc/protocols': false, '/etc/services': false });
      expect(d.problems.find((p) => p.id === 'missing-/etc/protocols')).toMatchObject({
        severity: 'warning',
        fix: 'apt-get install netbase',
      });
      // the twin: as the machine is, nothing is missing
      const host = await doctor(env());
      expect(host.d.files).toEqual({ '/etc/protocols': true, '/etc/services': true });
      expect(host.d.problems.map((p) => p.id)).not.toContain('missing-/etc/protocols');
    });

    it('an nftables ruleset that names a service fails to load, the error naming netbase; with /etc/services it comes up', async () => {
      const dir = tempDir();
      dirs.push(dir);
      mkdirSync(join(dir, 'labs'));
      const file = join(dir, 'labs', 'service-name.yaml');
      writeFileSync(
        file,
        [
          'name: service-name',
          'nodes:',
          '  a:',
          '    interfaces: { eth0: [10.0.0.1/24] }',
          '    nftables: |',
          '      table inet f {',
          '        chain input {',
          '          type filter hook input priority 0; policy accept;',
          '          tcp dport ssh accept',
          '        }',
          '      }',
          '  b: { interfaces: { eth0: [10.0.0.2/24] } }',
          'links: [a:eth0 b:eth0]',
          'stages:',
          '  - name: s',
          '    tests:',
          '      - { name: b reaches a, ping: { from: b, to: 10.0.0.1 }, expect: { reachable: true } }',
          '',
        ].join('\n'),
      );
      const t = await nslab(['test', file], env(), hidden());
      expect(t.code).toBe(1);
      expect(t.stdout + t.stderr).toMatch(/Could not resolve service/);
      expect(t.stdout + t.stderr).toMatch(
        /hint: nft reads names from \/etc\/services, which this machine lacks: apt-get install netbase/,
      );
      const ok = await nslab(['test', file], env());
      expect(ok.code, ok.stdout + ok.stderr).toBe(0);
      expect(ok.stdout + ok.stderr).not.toMatch(/netbase/);
    });
  },
);

if (!isRoot) describe('requirements (skipped)', () => it.skip(`requirements: ${NOT_ROOT}`, () => {}));

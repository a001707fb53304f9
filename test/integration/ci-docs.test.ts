// docs/ci.md's recipes, as far as this machine can run them: every YAML block
// parses and has its CI system's shape, every `apt-get install` installs the
// packages of the requirements table that minimal images lack, the checkout
// recipe runs the README's main job (container.test.ts runs it, with podman),
// and every `nslab` command in them runs here through the shipped CLI (matrix
// variables filled in, `npx nslab` being dist/bin/main.js), each job in a
// directory of its own whose labs/ holds two of the bundled labs. Root jobs run
// as root; the rootless job as an unprivileged uid. The CI systems themselves
// (runners, caches, uploads) are not here: docs/ci.md says so.
import { spawn, spawnSync } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { REQUIREMENTS } from '../../src/engine/requirements.js';
import { loadLab } from '../../src/lab/resolve.js';
import { aptInstalls, blocks, checkoutRecipe, DOC, projectRecipe, RECIPE_IMAGE, shellWords } from './ci-recipes.js';
import { CLI, isRoot, tempDir } from './helpers.js';

const yamls = blocks('yaml').map((b) => parse(b));
const github = yamls.filter((y) => y?.jobs);
const [ghRoot, ghRootless] = [github.find((y) => y.jobs.nslab), github.find((y) => y.jobs['nslab-rootless'])];
const gitlab = yamls.find((y) => y?.nslab?.script);
const docker = projectRecipe;

const LABS = ['dual-nic-reply-path.yaml', 'vip-source-example2.yaml'];
const UID = 60000 + Math.floor(Math.random() * 5000);
const dirs: string[] = [];

/** A fresh checkout for one job: labs/ with two bundled labs. */
function checkout(owner?: number): string {
  const d = tempDir();
  dirs.push(d);
  mkdirSync(join(d, 'labs'));
  for (const f of LABS) copyFileSync(join('labs', f), join(d, 'labs', f));
  if (owner !== undefined)
    for (const p of [d, join(d, 'labs'), ...LABS.map((f) => join(d, 'labs', f))]) chownSync(p, owner, owner);
  return d;
}

/** The nslab commands of a script, one argv each (after `nslab`), with variables filled in. */
function nslabCommands(script: string, vars: Record<string, string> = {}): string[][] {
  return script
    .split('\n')
    .filter((l) => /\bnpx nslab\b/.test(l))
    .map((l) => {
      let s = l
        .replace(/^.*?npx nslab\s+/, '')
        .replace(/\s*(&&|')\s*$/, '')
        .trim();
      for (const [k, v] of Object.entries(vars)) s = s.split(k).join(v);
      expect(s, `unfilled variable in: ${l}`).not.toMatch(/\$/);
      return s.split(/\s+/);
    });
}

type R = { code: number | null; stdout: string; stderr: string };
const nslab = (args: string[], cwd: string, asUser = false) =>
  new Promise<R>((resolve) => {
    const pre = asUser ? ['setpriv', `--reuid=${UID}`, `--regid=${UID}`, '--clear-groups'] : [];
    const argv = [...pre, process.execPath, CLI, ...args];
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: { PATH: process.env.PATH!, HOME: '/', FORCE_COLOR: '0', TMPDIR: '/tmp' },
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

/** Runs a job's nslab commands in order, stopping at the first failure, as a CI job would. */
async function job(cmds: string[][], cwd: string, asUser = false): Promise<R[]> {
  const out: R[] = [];
  for (const c of cmds) {
    const r = await nslab(c, cwd, asUser);
    out.push(r);
    expect(r.code, `nslab ${c.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  }
  return out;
}

const xml = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '',
  isArray: (n) => n === 'testsuite' || n === 'testcase',
});
const caseNames = (file: string) =>
  (xml.parse(readFileSync(file, 'utf8')).testsuites.testsuite ?? []).flatMap((s: any) =>
    s.testcase.map((t: any) => `${t.classname} ${t.name}`),
  ) as string[];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe("docs/ci.md: the recipes have their CI systems' shape", () => {
  it('GitHub Actions: a sharded job with sudo and a rootless job', () => {
    expect(ghRoot.jobs.nslab.strategy.matrix.shard).toEqual([1, 2]);
    expect(ghRootless.jobs['nslab-rootless']['runs-on']).toBeTruthy();
    for (const wf of [ghRoot, ghRootless])
      for (const j of Object.values<any>(wf.jobs)) {
        expect(j.steps.length).toBeGreaterThan(3);
        for (const s of j.steps) expect(!!s.uses !== !!s.run, JSON.stringify(s)).toBe(true);
      }
    const rootRuns = ghRoot.jobs.nslab.steps.map((s: any) => s.run ?? '').join('\n');
    expect(rootRuns).toMatch(/sudo env "PATH=\$PATH" npx nslab test/);
    expect(ghRootless.jobs['nslab-rootless'].steps.map((s: any) => s.run ?? '').join('\n')).not.toMatch(
      /sudo.*npx nslab/,
    );
  });

  it('GitLab CI: parallel jobs, JUnit report, artifacts kept when it fails', () => {
    expect(gitlab.nslab.parallel).toBe(2);
    expect(gitlab.nslab.artifacts).toMatchObject({ when: 'always', reports: { junit: 'artifacts/junit.xml' } });
    expect(docker).toMatch(/docker run --rm --privileged/);
  });
});

describe('docs/ci.md: the docker recipes and the packages every recipe installs', () => {
  // what the recipes must install: every package of src/engine/requirements.ts that minimal images lack (not the
  // suite's own: keepalived)
  const wanted = [...new Set(REQUIREMENTS.filter((r) => !r.minimal && r.need !== 'suite').map((r) => r.package))];
  const lacking = (pkgs: string[]) => wanted.filter((p) => !pkgs.includes(p));

  it("the checkout recipe runs the README's main job, privileged, in a minimal image with Node.js 20", () => {
    const argv = shellWords(checkoutRecipe.trim(), { PWD: '/checkout' });
    expect(argv.slice(0, 2)).toEqual(['docker', 'run']);
    expect(argv).toContain('--privileged');
    expect(argv.join(' ')).toContain('-v /checkout:/src -w /src');
    const at = argv.indexOf(RECIPE_IMAGE);
    expect(at).toBeGreaterThan(0);
    // the README's first command, word for word
    const readme = /```sh\n(\S.*?)\s+#/.exec(readFileSync('README.md', 'utf8'))![1]!;
    expect(readme).toBe('./scripts/nslab test labs/dual-nic-reply-path.yaml');
    expect(argv.slice(at + 1)).toEqual(shellWords(readme));
    // and the README gives the same line for a container
    expect(readFileSync('README.md', 'utf8')).toContain(`\`${checkoutRecipe.trim()}\``);
  });

  it('every apt-get install of the recipes installs every package minimal images lack (procps, netbase, ...)', () => {
    const installs = aptInstalls(DOC);
    expect(installs.length).toBeGreaterThanOrEqual(4); // GitHub twice, GitLab, docker
    expect(wanted).toEqual(
      expect.arrayContaining(['iproute2', 'procps', 'iputils-ping', 'tcpdump', 'nftables', 'netbase']),
    );
    for (const pkgs of installs) expect(lacking(pkgs), pkgs.join(' ')).toEqual([]);
    // the twin: the list of before (without procps and netbase) is found lacking
    expect(lacking(aptInstalls('apt-get install -y iproute2 iputils-ping tcpdump nftables')[0]!)).toEqual([
      'procps',
      'netbase',
    ]);
  });

  it('shell words: quotes, variables, continuation; an unknown variable is refused', () => {
    expect(shellWords(`a -v "$PWD":/src 'x y' \\\n b\${V}c`, { PWD: '/p q', V: '1' })).toEqual([
      'a',
      '-v',
      '/p q:/src',
      'x y',
      'b1c',
    ]);
    expect(() => shellWords('echo $NOPE')).toThrow(/unknown variable/);
  });
});

describe.skipIf(!isRoot)("docs/ci.md: the recipes' nslab commands run here", () => {
  const rootCmds = (shard: number) =>
    nslabCommands(ghRoot.jobs.nslab.steps.map((s: any) => s.run ?? '').join('\n'), {
      '${{ matrix.shard }}': String(shard),
    });

  it('GitHub, with sudo: two shards run every test once, each leaving its JUnit file', async () => {
    const d = checkout();
    await Promise.all([job(rootCmds(1), d), job(rootCmds(2), d)]);
    const one = caseNames(join(d, 'artifacts/shard-1/junit.xml'));
    const two = caseNames(join(d, 'artifacts/shard-2/junit.xml'));
    expect(one.length && two.length).toBeTruthy();
    // the full set, from the lab files
    const all = LABS.map((f) => loadLab(join(d, 'labs', f)))
      .flatMap((m) => m.stages.flatMap((st) => st.tests.map((t) => `${m.name}.${st.name} ${t.name}`)))
      .sort();
    expect([...one, ...two].sort()).toEqual(all);
  });

  it('GitLab: each parallel job, in its own checkout, leaves artifacts/junit.xml', async () => {
    const script = (gitlab.nslab.script as string[]).map((l) => `npx ${l.replace(/^npx /, '')}`).join('\n');
    const jobs = [1, 2].map((i) => ({
      d: checkout(),
      cmds: nslabCommands(script, { '${CI_NODE_INDEX}': String(i), '${CI_NODE_TOTAL}': '2' }),
    }));
    await Promise.all(jobs.map(({ d, cmds }) => job(cmds, d)));
    const names = jobs.flatMap(({ d }) => caseNames(join(d, 'artifacts/junit.xml')));
    expect(new Set(names).size).toBe(names.length);
  });

  it('docker run --privileged: the commands inside, as root', async () => {
    const d = checkout();
    await job(nslabCommands(docker), d);
    expect(existsSync(join(d, 'artifacts/junit.xml')) && existsSync(join(d, 'artifacts/report.json'))).toBe(true);
  });

  const usernsAllowed =
    spawnSync('setpriv', [
      `--reuid=${UID}`,
      `--regid=${UID}`,
      '--clear-groups',
      'unshare',
      '--user',
      '--map-current-user',
      '--net',
      'true',
    ]).status === 0;
  it.skipIf(!usernsAllowed)('GitHub, rootless: the commands as an unprivileged user', async () => {
    const d = checkout(UID);
    const cmds = nslabCommands(ghRootless.jobs['nslab-rootless'].steps.map((s: any) => s.run ?? '').join('\n'));
    expect(cmds.map((c) => c[0])).toEqual(['doctor', 'test']);
    const [doctor] = await job(cmds, d, true);
    expect(doctor!.stdout).toMatch(/ok: nslab can run here \(rootless\)/);
    expect(existsSync(join(d, 'artifacts/junit.xml'))).toBe(true);
  });
});

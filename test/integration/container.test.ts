// The README's main job in a real container, as a user runs it: docs/ci.md's
// checkout recipe (`docker run --rm --privileged -v "$PWD":/src -w /src
// node:20-bookworm-slim ./scripts/nslab test labs/dual-nic-reply-path.yaml`),
// read from docs/ci.md and run with Debian's podman in place of docker, on a
// copy of this checkout, in a minimal Debian 12 image with Node.js 20 built here
// (test/container/image.sh: debootstrap minbase, cached in podman's store). The
// bootstrap inside installs what the image lacks, through this machine's apt
// sources and npm registry. Also: the image is as minimal as the requirements
// table says; in the bare image doctor and test agree; without --privileged,
// doctor's message and exit 3 (or, where the container allowed a rootless run,
// a passing one). docs/ci.md says which arguments this machine adds, and why.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPath } from '../../src/engine/capabilities.js';
import { REQUIREMENTS } from '../../src/engine/requirements.js';
import { checkoutRecipe, RECIPE_IMAGE, shellWords } from './ci-recipes.js';
import { isRoot, NOT_ROOT, tempDir, uid } from './helpers.js';

const TOOLS = ['podman', 'runc', 'slirp4netns', 'debootstrap'];
const missing = TOOLS.filter((t) => !onPath(t));
// podman's mark in its containers (not /.dockerenv: this very machine has one, and runs podman fine)
const inContainer = existsSync('/run/.containerenv');
const skip = !isRoot
  ? NOT_ROOT
  : inContainer
    ? 'this is a container already (a container inside one is not tested)'
    : missing.length
      ? `needs ${missing.join(', ')} (Debian's packages; scripts/test installs them as root)`
      : undefined;

/**
 * This machine's arguments, not the recipe's (docs/ci.md, "Tested with podman"):
 * runc (crun refuses the hybrid cgroups here), explicit limits (root here lacks
 * CAP_SYS_RESOURCE), user-mode networking (the default bridge would change the
 * machine's own network namespace), a name to remove the container by.
 */
const machineArgs = (name: string) => [
  '--runtime',
  'runc',
  '--ulimit',
  'nofile=4096:4096',
  '--ulimit',
  'nproc=4096:4096',
  '--network',
  'slirp4netns',
  '--name',
  name,
];
const RUN = `nslab-ci-${uid()}`;
const names: string[] = [];
let image = '';
let dir = '';

/**
 * The recipe as podman runs it here: docker -> podman, this machine's arguments, the local image; `edit` changes the
 * rest.
 */
function podmanArgv(name: string, edit: (argv: string[]) => string[] = (a) => a): string[] {
  const argv = shellWords(checkoutRecipe.trim(), { PWD: dir });
  expect(argv.slice(0, 2)).toEqual(['docker', 'run']);
  expect(argv).toContain(RECIPE_IMAGE);
  names.push(name);
  return ['podman', 'run', ...machineArgs(name), ...edit(argv.slice(2)).map((a) => (a === RECIPE_IMAGE ? image : a))];
}

type R = { code: number | null; out: string; seconds: number };
function run(argv: string[], cwd = dir): Promise<R> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env: { ...process.env, FORCE_COLOR: '0' } });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.on('close', (code) => resolve({ code, out, seconds: (performance.now() - t0) / 1000 }));
  });
}

/**
 * This checkout as a user has it: its files (tracked, and new ones not ignored), without node_modules, dist, .tools.
 */
function copyCheckout(to: string): void {
  const git = spawnSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { encoding: 'utf8' });
  expect(git.status, git.stderr).toBe(0);
  for (const f of git.stdout.split('\0').filter(Boolean)) {
    let st;
    try {
      st = lstatSync(f);
    } catch {
      continue;
    } // deleted in the work tree
    const dest = join(to, f);
    mkdirSync(dirname(dest), { recursive: true });
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(f), dest);
    else {
      copyFileSync(f, dest);
      chmodSync(dest, st.mode & 0o777);
    }
  }
}

afterAll(() => {
  for (const n of names) spawnSync('podman', ['rm', '--force', '--ignore', n], { stdio: 'ignore' });
  if (dir) rmSync(dir, { recursive: true, force: true });
});

if (skip) describe('the README in a container', () => it.skip(`the README in a container: ${skip}`, () => {}));

describe.skipIf(!!skip)("the README in a container: docs/ci.md's checkout recipe, with podman", () => {
  beforeAll(async () => {
    const t0 = performance.now();
    const built = await run(['test/container/image.sh'], process.cwd());
    expect(built.code, built.out).toBe(0);
    image = built.out.trim().split('\n').pop()!;
    console.log(`container test: image ${image} ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    dir = tempDir();
    chmodSync(dir, 0o755);
    copyCheckout(dir);
  }, 30 * 60_000);

  it('the image is Debian 12 at its most minimal, with Node.js >= 20: what the table calls minimal is there, the rest is not', async () => {
    const pkgs = [...new Set(REQUIREMENTS.map((r) => r.package))];
    const script =
      'node -v; . /etc/os-release; echo "debian $VERSION_ID"; dpkg-query -W -f \'${Package} ${db:Status-Abbrev}\\n\' "$@" 2>/dev/null; true';
    const r = await run([
      'podman',
      'run',
      '--rm',
      ...machineArgs(`${RUN}-pkgs`),
      image,
      'sh',
      '-c',
      script,
      'sh',
      ...pkgs,
    ]);
    names.push(`${RUN}-pkgs`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/^debian 12$/m);
    expect(Number(/^v(\d+)\./m.exec(r.out)?.[1])).toBeGreaterThanOrEqual(20);
    const installed = new Set([...r.out.matchAll(/^(\S+) ii/gm)].map((m) => m[1]!));
    for (const req of REQUIREMENTS)
      expect(installed.has(req.package), `${req.package} (${req.name}) in the image`).toBe(req.minimal);
  }, 120_000);

  it(
    'the recipe passes: 8 passed, 0 failed',
    async () => {
      const r = await run(podmanArgv(`${RUN}-privileged`));
      console.log(
        `container test: the recipe (bootstrap inside: apt, npm ci, build; then the job) took ${r.seconds.toFixed(1)} s`,
      );
      expect(r.out).toMatch(/^8 passed, 0 failed$/m);
      expect(r.code, r.out).toBe(0);
    },
    15 * 60_000,
  );

  it(
    'in the bare image, privileged, doctor and test agree: exit 3 both, naming the packages (procps among them)',
    async () => {
      // the build the recipe left in the copy; the image's tools only (no bootstrap)
      const bare = (cmd: string[]) =>
        podmanArgv(`${RUN}-bare-${cmd[0]}`, (a) => [
          ...a.slice(0, a.indexOf(RECIPE_IMAGE) + 1),
          'node',
          'dist/bin/main.js',
          ...cmd,
        ]);
      const doctor = await run(bare(['doctor', '--json']));
      expect(doctor.code, doctor.out).toBe(3);
      type Doctor = { ok: boolean; privileged: boolean; problems: { id: string; severity: string; fix: string }[] };
      const d = JSON.parse(doctor.out.slice(doctor.out.indexOf('{'))) as Doctor;
      expect(d).toMatchObject({ ok: false, privileged: true });
      const sysctl = d.problems.find((p) => p.id === 'missing-sysctl');
      expect(sysctl).toMatchObject({ severity: 'error', fix: expect.stringMatching(/^apt-get install procps/) });
      expect(d.problems.find((p) => p.id === 'missing-/etc/protocols')).toMatchObject({
        severity: 'warning',
        fix: 'apt-get install netbase',
      });
      const test = await run(bare(['test', 'labs/dual-nic-reply-path.yaml']));
      expect(test.code, test.out).toBe(3);
      expect(test.out).toMatch(/'ip' is not installed\n\s+hint: apt-get install iproute2/);
    },
    5 * 60_000,
  );

  it(
    'without --privileged: doctor says so with the fix and exits 3, and nslab test exits 3 too (or both pass, rootless)',
    async () => {
      const script =
        './scripts/nslab doctor; echo "doctor exit $?"; ./scripts/nslab test labs/dual-nic-reply-path.yaml; echo "test exit $?"';
      const argv = podmanArgv(`${RUN}-unprivileged`, (a) => {
        const b = a.filter((w) => w !== '--privileged');
        return [...b.slice(0, b.indexOf(RECIPE_IMAGE) + 1), 'bash', '-c', script];
      });
      expect(argv).not.toContain('--privileged');
      const r = await run(argv);
      console.log(
        `container test: without --privileged (bootstrap inside: apt; then doctor and test) took ${r.seconds.toFixed(1)} s`,
      );
      expect(r.code, r.out).toBe(0);
      const doctor = Number(/^doctor exit (\d+)$/m.exec(r.out)?.[1]);
      const test = Number(/^test exit (\d+)$/m.exec(r.out)?.[1]);
      // doctor's verdict is what the run then does
      expect(test, r.out).toBe(doctor);
      // the bootstrap installed everything: nothing may be called missing (podman withholds NET_RAW: ping is there but
      // cannot run)
      expect(r.out).not.toMatch(/is not installed/);
      if (doctor === 3) {
        expect(r.out).toMatch(
          /✗ error: root, but without CAP_NET_ADMIN and CAP_SYS_ADMIN.*\n\s+fix: run the container with --privileged/,
        );
        expect(r.out).toMatch(/not ok: fix the errors above/);
        expect(r.out).toMatch(
          /running tests needs CAP_NET_ADMIN and CAP_SYS_ADMIN, which this root lacks.*\n\s+hint: run the container with --privileged/,
        );
      } else {
        expect(doctor, r.out).toBe(0);
        expect(r.out).toMatch(/ok: nslab can run here \(rootless\)/);
        expect(r.out).toMatch(/^8 passed, 0 failed$/m);
      }
    },
    15 * 60_000,
  );
});

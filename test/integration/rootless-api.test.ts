// The vitest API without root (issue 21): a user the suite creates (useradd,
// driven with runuser) has a small vitest project that uses nslab's API from
// this checkout (node_modules/nslab and node_modules/vitest link to it, as an
// install by path makes them). Run under `nslab run -- vitest run`, its lab
// comes up in a holder, its matchers give the verdicts they give as root (the
// same project run as root after), and nothing is left: no holder, no
// process, no record. Without the wrapper it fails saying what to do.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, isRoot, sleep } from './helpers.js';
import { as, makeUser, nslabAs, noneLeft, processesOf, removeUser, usernsAllowed, type User } from './test-users.js';

const VITEST = join(process.cwd(), 'node_modules/vitest/vitest.mjs');

const SUITE = `import { describe, expect, it } from 'vitest';
import { bundledLab, useLab } from 'nslab/vitest';

describe('a server with two NICs', () => {
  const lab = useLab(bundledLab('dual-nic-reply-path'));

  it('pass: replies to eth1 leave through eth0', async () => {
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    await expect(ping).toBeReachable();
    await expect(ping).toFollowPath(['pc2', 'router', 'sw1', 'server:eth1']);
    await expect(ping).toReplyVia('server:eth0');
    await expect(ping).not.toBeSymmetric();
  });

  it('fail: replies to eth1 leave through eth1', async () => {
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    await expect(ping).toReplyVia('server:eth1');
  });

  it('fail: an address nowhere in the lab is reachable', async () => {
    await expect(await lab.ping({ from: 'pc1', to: '203.0.113.9' })).toBeReachable();
  });

  it('pass: commands run in a node, execa style', async () => {
    const { stdout } = await lab.node('server').$\`ip -j route show default\`;
    expect(JSON.parse(stdout)).toContainEqual(expect.objectContaining({ dst: 'default' }));
  });

  it('pass: once eth1 has a routing table, its replies leave through eth1', async () => {
    await lab.applyStage('eth0 down, without policy routing');
    await lab.applyStage('with a routing table for eth1');
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    await expect(ping).toReplyVia('server:eth1');
    await expect(ping).toBeSymmetric();
    const route = await lab.route({ node: 'server', to: '192.168.2.17', from: '192.168.1.220' });
    await expect(route).toUseTable('gateway1');
  });

  it('fail: once fixed, not symmetric', async () => {
    await expect(await lab.ping({ from: 'pc2', to: 'server:eth1' })).not.toBeSymmetric();
  });
});
`;

interface VitestJson {
  numFailedTests: number;
  numPassedTests: number;
  testResults: { assertionResults: { title: string; status: string; failureMessages: string[] }[] }[];
}
/** Each test's verdict by title, with the first line of its failure. */
const verdicts = (file: string) =>
  Object.fromEntries(
    (JSON.parse(readFileSync(file, 'utf8')) as VitestJson).testResults
      .flatMap((f) => f.assertionResults)
      .map((t) => [t.title, t.status]),
  );

let user: User | undefined;
let project = '';
beforeAll(() => {
  if (!isRoot || !usernsAllowed) return;
  user = makeUser('nslaba');
  // the project, made by the user; its packages link to this checkout
  project = join(user.home, 'proj');
  for (const argv of [
    ['mkdir', '-p', join(project, 'test'), join(project, 'node_modules')],
    ['ln', '-s', process.cwd(), join(project, 'node_modules/nslab')],
    ['ln', '-s', join(process.cwd(), 'node_modules/vitest'), join(project, 'node_modules/vitest')],
  ]) {
    const r = spawnSync('runuser', ['-u', user.name, '--', ...argv], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
  const write = (name: string, text: string) =>
    spawnSync('runuser', ['-u', user!.name, '--', 'tee', join(project, name)], { input: text, stdio: 'pipe' });
  write('package.json', '{ "type": "module", "private": true }\n');
  write(
    'vitest.config.mjs',
    "export default { test: { include: ['test/**/*.test.mjs'], testTimeout: 60000, hookTimeout: 60000 } };\n",
  );
  write('test/reply-path.test.mjs', SUITE);
});
afterAll(async () => {
  if (user) await removeUser(user);
});

describe.skipIf(!isRoot || !usernsAllowed)('the vitest API without root (nslab run)', () => {
  it('as an ordinary user, nslab run -- vitest run: the verdicts root gets, and nothing is left', async () => {
    const u = user!;
    const out = join(project, 'rootless.json');
    const r = await nslabAs(
      u,
      ['run', '--', process.execPath, VITEST, 'run', '--reporter=json', `--outputFile=${out}`],
      {
        cwd: project,
      },
    );
    expect(r.code, r.stdout + r.stderr).toBe(1); // the failing matchers fail
    const rootless = verdicts(out);

    // nothing of it left: no process of the user's (holder, lab, reaper), no record in their state directory
    expect(await noneLeft(u)).toEqual([]);
    const ls = await nslabAs(u, ['ls', '--json']);
    expect(ls.stdout.trim()).toBe('[]');
    const dir = join(u.home, '.local/state/nslab');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);

    // the same project as root (nslab run runs it as it is): the same verdict for each test
    const rootDir = mkdtempSync(join(tmpdir(), 'nslab-rootless-api-'));
    const rootOut = join(rootDir, 'root.json');
    const root = spawnSync(
      process.execPath,
      [CLI, 'run', '--', process.execPath, VITEST, 'run', '--reporter=json', `--outputFile=${rootOut}`],
      { cwd: project, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } },
    );
    expect(root.status, root.stdout + root.stderr).toBe(1);
    const asRoot = verdicts(rootOut);
    rmSync(rootDir, { recursive: true });
    expect(Object.values(asRoot).filter((s) => s === 'passed')).toHaveLength(3);
    expect(Object.values(asRoot).filter((s) => s === 'failed')).toHaveLength(3);
    expect(rootless).toEqual(asRoot);
  }, 300_000);

  it('without nslab run, the API says that it needs root or nslab run; nothing is left', async () => {
    const u = user!;
    const r = await as(u, [process.execPath, VITEST, 'run'], { cwd: project });
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/needs root[\s\S]*nslab run -- /);
    expect(await noneLeft(u)).toEqual([]);
  }, 120_000);

  it('nslab run passes the exit status on and needs a command', async () => {
    const u = user!;
    expect((await nslabAs(u, ['run', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
    // inside, the command holds the capabilities of the holder's user namespace, not the machine's
    const inside = await nslabAs(u, [
      'run',
      '--',
      'sh',
      '-c',
      'ip link add t0 type veth peer name t1 && echo made; touch /etc/nslab-run-21 || echo refused',
    ]);
    expect(inside.stdout).toMatch(/made\nrefused/);
    expect(existsSync('/etc/nslab-run-21')).toBe(false);
    const none = await nslabAs(u, ['run']);
    expect(none.code).toBe(2);
    expect(await noneLeft(u)).toEqual([]);
  }, 120_000);

  it('nslab run SIGKILLed: its holder ends with it (its channel closes), and cleanup removes the record', async () => {
    const u = user!;
    const running = nslabAs(u, ['run', '--', 'sleep', '300']);
    // the nslab run of the user (its record names it as owner): SIGKILL once its holder is recorded
    let owner: number | undefined;
    let holder: number | undefined;
    for (let i = 0; i < 300 && !owner; i++) {
      await sleep(50);
      const ls = await nslabAs(u, ['ls', '--json']);
      const rec = (
        JSON.parse(ls.stdout || '[]') as { instance: string; holder?: { pid: number }; owner: { pid: number } }[]
      ).find((r) => r.instance.startsWith('nslab-run.') && r.holder);
      owner = rec?.owner.pid;
      holder = rec?.holder?.pid;
    }
    expect(owner).toBeDefined();
    expect(processesOf(u)).toContain(holder); // is not: the holder ran until then
    process.kill(owner!, 'SIGKILL');
    expect((await running).code).not.toBe(0);
    // the holder's PID 1 saw its input end without "done": it ended, with the sleep in its PID namespace
    expect(await noneLeft(u)).toEqual([]);
    const ls = await nslabAs(u, ['ls']);
    expect(ls.stdout).toMatch(/nslab-run\.[a-z0-9]+\s+gone \(holder ended: nslab cleanup\)/);
    const clean = await nslabAs(u, ['cleanup']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toMatch(/removed lab 'nslab-run\.[a-z0-9]+' \(its holder, pid \d+, had ended\)/);
    expect((await nslabAs(u, ['ls', '--json'])).stdout.trim()).toBe('[]');
  }, 120_000);
});

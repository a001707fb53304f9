// Rootless labs that outlive the command (issue 21), through the shipped CLI
// (dist/bin/main.js), as real unprivileged users the suite creates (useradd,
// unique names, removed in afterAll) and runs as with runuser.
//
// Each lab is held by a holder process of its user (src/engine/holder.ts). The
// suite checks that a lab comes up and answers pings, that nothing of it
// reaches the machine (no name in /run/netns, none in /etc/netns), that down
// and a SIGKILLed holder leave no process and no namespace, that the verdicts
// are root's, and that two users cannot see, enter or take down each other's
// labs, even labs of the same instance name.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ENTER_PL } from '../../src/engine/holder.js';
import { CLI, isRoot, sleep, uid } from './helpers.js';
import {
  as,
  makeUser as makeUserOf,
  nslabAs,
  noneLeft,
  processesOf,
  removeUser,
  usernsAllowed,
  type User,
} from './test-users.js';

const LAB = join(process.cwd(), 'labs/dual-nic-reply-path.yaml');
const FIX = 'with a routing table for eth1';

const users: User[] = [];
const makeUser = (): User => {
  const u = makeUserOf('nslab21');
  users.push(u);
  return u;
};
const nslab = (u: User, args: string[], env?: Record<string, string>) => nslabAs(u, args, { env });
const stateDirOf = (u: User) => join(u.home, '.local/state/nslab');

/** Where a network namespace (by inode) is still held: a process in it, or a mount of it, anywhere on the machine. */
function holdersOf(inodes: Set<string>): string[] {
  const out: string[] = [];
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const m = /^net:\[(\d+)\]$/.exec(readlinkSync(`/proc/${p}/ns/net`));
      if (m && inodes.has(m[1]!)) out.push(`pid ${p} is in net:[${m[1]}]`);
      for (const line of readFileSync(`/proc/${p}/mountinfo`, 'utf8').split('\n')) {
        const r = /net:\[(\d+)\]/.exec(line.split(' ')[3] ?? '');
        if (r && inodes.has(r[1]!)) out.push(`pid ${p} mounts net:[${r[1]}]`);
      }
    } catch {
      /* gone */
    }
  }
  return [...new Set(out)];
}

interface Record21 {
  instance: string;
  status: string;
  holder?: { pid: number; start: string };
  holderAlive?: boolean;
  namespaces: { node: string; ns: string }[];
}
async function ls(u: User): Promise<Record21[]> {
  const r = await nslab(u, ['ls', '--json']);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Record21[];
}

/** Nothing of an instance on the machine: no name in /run/netns or /etc/netns. */
function onTheMachine(instance: string): string[] {
  const names = (d: string) => (existsSync(d) ? readdirSync(d) : []);
  return [...names('/run/netns'), ...names('/etc/netns')].filter((n) => n.includes(`${instance}.`));
}

let a: User, b: User;
beforeAll(() => {
  if (!isRoot || !usernsAllowed) return;
  a = makeUser();
  b = makeUser();
});

afterAll(async () => {
  // whatever a failed test left: that user's processes (the holders, and their labs with them), their files in /tmp,
  // then the user
  for (const u of users) await removeUser(u);
});

describe.skipIf(!isRoot || !usernsAllowed)('rootless labs that outlive the command (issue 21)', () => {
  it('up, exec (a ping between nodes), ls, down: the lab lives in its holder alone, and nothing is left', async () => {
    const inst = `dual-nic-reply-path.r${uid()}`;
    const up = await nslab(a, ['up', LAB, '--instance', inst.split('.')[1]!]);
    expect(up.code, up.stderr).toBe(0);
    expect(up.stdout).toContain(`up lab '${inst}'`);
    // the command has ended; the lab lives on, held by a process of the user's
    const [rec] = await ls(a);
    expect(rec).toMatchObject({ instance: inst, status: 'up', holderAlive: true });
    expect(processesOf(a)).toContain(rec!.holder!.pid);
    expect(existsSync(join(stateDirOf(a), `${inst}.json`))).toBe(true);
    expect(onTheMachine(inst)).toEqual([]);
    // pc1 reaches the server on their subnet; an address nowhere in the lab is not reached
    const ping = await nslab(a, ['exec', inst, 'pc1', '--', 'ping', '-c1', '-W2', '192.168.1.220']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect(ping.stdout).toContain('1 received');
    const nowhere = await nslab(a, ['exec', inst, 'pc1', '--', 'ping', '-c1', '-W1', '203.0.113.9']);
    expect(nowhere.code).not.toBe(0);
    // capabilities inside the lab only: a node's links can be changed, the machine's files cannot
    const caps = await nslab(a, [
      'exec',
      inst,
      'pc1',
      '--',
      'sh',
      '-c',
      'ip link add t0 type veth peer name t1 && echo made; touch /etc/nslab-issue21 || echo refused',
    ]);
    expect(caps.stdout).toMatch(/made\nrefused/);
    expect(existsSync('/etc/nslab-issue21')).toBe(false);
    // the lab's own files are the user's: a file in their home is written as them
    const own = await nslab(a, ['exec', inst, 'pc1', '--', 'sh', '-c', `echo hi > ${a.home}/from-pc1`]);
    expect(own.code, own.stderr).toBe(0);
    expect(statSync(`${a.home}/from-pc1`).uid).toBe(a.uid);
    // an unknown node: a usage error naming the nodes
    const bad = await nslab(a, ['exec', inst, 'nope', '--', 'true']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/has no node 'nope'[\s\S]*pc1/);

    const down = await nslab(a, ['down', inst]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`down lab '${inst}' (5 namespaces)`);
    expect(await ls(a)).toEqual([]);
    expect(await noneLeft(a)).toEqual([]);
    expect(onTheMachine(inst)).toEqual([]);
  }, 120_000);

  it('a SIGKILLed holder takes its lab with it: no process, no namespace; ls says so, cleanup removes the record', async () => {
    const inst = `dual-nic-reply-path.k${uid()}`;
    const up = await nslab(a, ['up', LAB, '--instance', inst.split('.')[1]!]);
    expect(up.code, up.stderr).toBe(0);
    // a process of the lab, started by exec and left running in the background
    const bg = await nslab(a, ['exec', inst, 'server', '--', 'sh', '-c', 'sleep 600 >/dev/null 2>&1 &']);
    expect(bg.code, bg.stderr).toBe(0);
    const [rec] = await ls(a);
    const holder = rec!.holder!.pid;
    // the lab's network namespaces, as the holder sees them: held now (the twin of "held by nothing" below)
    const inodes = new Set(
      readdirSync(`/proc/${holder}/root/run/netns`).map((n) =>
        String(statSync(`/proc/${holder}/root/run/netns/${n}`).ino),
      ),
    );
    expect(inodes.size).toBe(5);
    expect(holdersOf(inodes).length).toBeGreaterThan(0);
    expect(processesOf(a).length).toBeGreaterThan(1); // the holder, its unshare, the sleep

    process.kill(holder, 'SIGKILL');
    expect(await noneLeft(a)).toEqual([]);
    expect(holdersOf(inodes)).toEqual([]);

    const [gone] = await ls(a);
    expect(gone).toMatchObject({ instance: inst, holderAlive: false });
    const text = await nslab(a, ['ls']);
    expect(text.stdout).toMatch(new RegExp(`${inst.replace('.', '\\.')}\\s+gone \\(holder ended: nslab cleanup\\)`));
    const exec = await nslab(a, ['exec', inst, 'pc1', '--', 'true']);
    expect(exec.code).toBe(3);
    expect(exec.stderr).toMatch(/is gone: its holder \(pid \d+\) has ended[\s\S]*nslab cleanup/);
    const clean = await nslab(a, ['cleanup']);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain(`removed lab '${inst}' (its holder, pid ${holder}, had ended)`);
    expect(await ls(a)).toEqual([]);
    const again = await nslab(a, ['cleanup']);
    expect(again.stdout).toContain('nothing to clean up');
  }, 120_000);

  it('an up interrupted once its holder runs (SIGTERM) ends the holder and removes its record: nothing is left', async () => {
    const inst = `dual-nic-reply-path.t${uid()}`;
    const record = join(stateDirOf(a), `${inst}.json`);
    const up = nslab(a, ['up', LAB, '--instance', inst.split('.')[1]!]);
    // the nslab up of user a (not the one inside the holder, whose parent is perl): SIGTERM once its holder is recorded
    let outer: number | undefined;
    for (let i = 0; i < 300 && !outer; i++) {
      await sleep(20);
      const holder = existsSync(record) && readFileSync(record, 'utf8').includes('"holder"');
      if (holder)
        outer = processesOf(a).find((p) => {
          const cmd = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
          return (
            cmd.includes('up') &&
            cmd.includes(CLI) &&
            !readFileSync(`/proc/${p}/status`, 'utf8').includes('NSpid:\t' + p + '\t')
          );
        });
    }
    expect(outer).toBeDefined();
    process.kill(outer!, 'SIGTERM');
    const r = await up;
    expect(r.code).toBe(143);
    expect(existsSync(record)).toBe(false);
    expect(await noneLeft(a)).toEqual([]);
    expect(await ls(a)).toEqual([]);
  }, 120_000);

  // the lab without services comes up through its holder's channel; the one with services by an nslab inside it
  it.each([
    ['dual-nic-reply-path', LAB],
    ['two-isp-nat-gateway', join(process.cwd(), 'labs/two-isp-nat-gateway.yaml')],
  ])(
    'an up of %s SIGKILLed while it brings the lab up takes its holder with it; cleanup removes the record',
    async (name, file) => {
      // stopped (SIGSTOP) once its holder is recorded, killed only if the lab is not up yet: a run that won that race
      // is taken down and tried again under another name
      for (let attempt = 0; attempt < 5; attempt++) {
        const inst = `${name}.x${uid()}`;
        const record = join(stateDirOf(a), `${inst}.json`);
        const up = nslab(a, ['up', file, '--instance', inst.split('.')[1]!]);
        // the nslab up of user a, not one inside the holder (whose NSpid has two numbers)
        const isOuter = (p: number) =>
          readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(CLI) &&
          /^NSpid:\s+\d+\s*$/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
        let outer: number | undefined;
        for (let i = 0; i < 500 && !outer; i++) {
          await sleep(5);
          if (existsSync(record) && readFileSync(record, 'utf8').includes('"holder"'))
            outer = processesOf(a).find(isOuter);
        }
        expect(outer).toBeDefined();
        // runuser, its parent, stops itself when its child stops (su's job control): it is resumed too
        const runuser = Number(
          readFileSync(`/proc/${outer}/stat`, 'utf8')
            .replace(/^.*\) /s, '')
            .split(' ')[1],
        );
        process.kill(outer!, 'SIGSTOP');
        const rec = JSON.parse(readFileSync(record, 'utf8')) as { status: string; holder: { pid: number } };
        if (rec.status === 'up') {
          process.kill(outer!, 'SIGCONT');
          process.kill(runuser, 'SIGCONT');
          expect((await up).code).toBe(0);
          expect((await nslab(a, ['down', inst])).code).toBe(0);
          continue;
        }
        expect(processesOf(a)).toContain(rec.holder.pid); // is not: the holder ran until then
        process.kill(outer!, 'SIGKILL');
        process.kill(runuser, 'SIGCONT');
        expect((await up).code).not.toBe(0);
        // the holder's PID 1 saw its channel close without "done": it ended, and the lab with it
        expect(await noneLeft(a)).toEqual([]);
        const [gone] = await ls(a);
        expect(gone).toMatchObject({ instance: inst, holderAlive: false });
        const clean = await nslab(a, ['cleanup']);
        expect(clean.code, clean.stderr).toBe(0);
        expect(await ls(a)).toEqual([]);
        expect(onTheMachine(inst)).toEqual([]);
        return;
      }
      throw new Error('every up was done before it could be stopped');
    },
    120_000,
  );

  it('a lab with files per node is refused without root, at its first file, before anything is made', async () => {
    const file = join(process.cwd(), 'examples/files/twind.yaml');
    // is not: the file itself is valid; only its files need root
    expect((await nslab(a, ['validate', file])).code).toBe(0);
    const up = await nslab(a, ['up', file, '--instance', `f${uid()}`]);
    expect(up.code, up.stderr).toBe(2);
    expect(up.stderr).toMatch(
      /twind\.yaml:9:7: file \/etc\/twind\/twind\.conf of node 'a': files per node are not available without root/,
    );
    expect(up.stderr).toContain('run this lab as root');
    // a test run reports the lab as not run, with the same reason, and goes on to the next lab
    const test = await nslab(a, ['test', file]);
    expect(test.code, test.stderr).toBe(1);
    expect(test.stdout + test.stderr).toMatch(
      /not run: the lab could not be brought up: \S*twind\.yaml:9:7: .*files per node are not available without root/,
    );
    expect(await ls(a)).toEqual([]);
    expect(await noneLeft(a)).toEqual([]);
  }, 120_000);

  it('test --keep keeps a failed lab up in its holder; a passing run keeps nothing and leaves nothing', async () => {
    const fixture = join(process.cwd(), 'test/fixtures/labs/probes.yaml');
    const failed = await nslab(a, ['test', fixture, '--grep', 'asymmetric › fail: replies$', '--keep']);
    expect(failed.code, failed.stderr).toBe(1);
    const inst = /kept up for inspection: (probes\.[a-z0-9]+)/.exec(failed.stdout)?.[1];
    expect(inst, failed.stdout).toBeDefined();
    const [rec] = await ls(a);
    expect(rec).toMatchObject({ instance: inst, status: 'up', holderAlive: true });
    const ping = await nslab(a, ['exec', inst!, 'c', '--', 'ping', '-c1', '-W2', '10.3.0.2']);
    expect(ping.code, ping.stdout + ping.stderr).toBe(0);
    expect((await nslab(a, ['down', inst!])).code).toBe(0);
    expect(await noneLeft(a)).toEqual([]);

    const passed = await nslab(a, ['test', fixture, '--grep', 'asymmetric › pass: replies$', '--keep']);
    expect(passed.code, passed.stdout + passed.stderr).toBe(0);
    expect(passed.stdout).not.toContain('kept up');
    expect(await ls(a)).toEqual([]);
    expect(await noneLeft(a)).toEqual([]);
    // one lab at a time: each kept lab is in a holder of its own
    const two = await nslab(a, ['test', fixture, LAB, '--keep']);
    expect(two.code).toBe(2);
    expect(two.stderr).toMatch(/without root, --keep takes one lab file \(2 given\)/);
  }, 120_000);

  it('check, reset and explain give the verdicts root gets, on the same lab file', async () => {
    const id = `v${uid()}`;
    const inst = `dual-nic-reply-path.${id}`;
    const verdicts = (json: string) =>
      (JSON.parse(json) as { labs: { tests: { stage: string; name: string; status: string }[] }[] }).labs
        .flatMap((l) => l.tests)
        .map((t) => `${t.stage} › ${t.name}: ${t.status}`);
    // as root, on the machine
    const rootUp = spawnSync(process.execPath, [CLI, 'up', LAB, '--instance', id], { encoding: 'utf8' });
    expect(rootUp.status, rootUp.stderr).toBe(0);
    let asRoot: string[];
    try {
      const c = spawnSync(process.execPath, [CLI, 'check', inst, '--stage', FIX, '--reporter', 'json'], {
        encoding: 'utf8',
      });
      asRoot = verdicts(c.stdout);
    } finally {
      spawnSync(process.execPath, [CLI, 'down', inst]);
    }
    expect(asRoot).toContain(`${FIX} › a client on eth1's subnet is still answered on eth1: passed`);
    expect(asRoot.filter((v) => v.endsWith(': failed')).length).toBe(2);

    // rootless, the same instance name (nothing of it is on the machine, so nothing collides)
    const up = await nslab(a, ['up', LAB, '--instance', id]);
    expect(up.code, up.stderr).toBe(0);
    const check = await nslab(a, ['check', LAB, '--stage', FIX, '--reporter', 'json']);
    expect(check.code).toBe(1);
    expect(verdicts(check.stdout)).toEqual(asRoot);
    const explain = await nslab(a, ['explain', inst, '--from', 'pc2', '--to', '192.168.1.220']);
    expect(explain.stdout).toMatch(/asymmetric at server/);
    // reset to the fixed stage: every test passes
    const reset = await nslab(a, ['reset', inst, '--stage', FIX]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`reset lab '${inst}', stages applied:`);
    const fixed = await nslab(a, ['check', inst, '--reporter', 'json']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(verdicts(fixed.stdout).every((v) => v.endsWith(': passed'))).toBe(true);
    expect((await nslab(a, ['down', inst])).code).toBe(0);
    expect(await noneLeft(a)).toEqual([]);
  }, 180_000);

  it('doctor says, per verb, that it runs rootless here; as root it has no such list', async () => {
    const d = await nslab(a, ['doctor', '--json']);
    expect(d.code, d.stdout).toBe(0);
    const j = JSON.parse(d.stdout) as { mode: string; verbs: { verb: string; rootless: boolean }[] };
    expect(j.mode).toBe('rootless');
    expect(j.verbs.map((v) => v.verb)).toEqual(expect.arrayContaining(['up', 'exec, shell']));
    expect(j.verbs.every((v) => v.rootless)).toBe(true);
    const human = await nslab(a, ['doctor']);
    expect(human.stdout).toMatch(/without root, here:\n(.*\n)*\s+up\s+yes/);
    const asRoot = spawnSync(process.execPath, [CLI, 'doctor', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(asRoot.stdout)).not.toHaveProperty('verbs');
  }, 60_000);

  it("two users, labs of the same name: neither sees, enters or takes down the other's", async () => {
    const id = `i${uid()}`;
    const inst = `dual-nic-reply-path.${id}`;
    for (const u of [a, b]) {
      const up = await nslab(u, ['up', LAB, '--instance', id]);
      expect(up.code, up.stderr).toBe(0);
    }
    const [recA] = await ls(a);
    const [recB] = await ls(b);
    expect(recA!.holder!.pid).not.toBe(recB!.holder!.pid);
    // each user's lab is their own: a change in A's is not in B's
    await nslab(a, ['exec', inst, 'pc1', '--', 'ip', 'link', 'set', 'eth0', 'down']);
    const mine = await nslab(a, ['exec', inst, 'pc1', '--', 'ping', '-c1', '-W1', '192.168.1.220']);
    const theirs = await nslab(b, ['exec', inst, 'pc1', '--', 'ping', '-c1', '-W1', '192.168.1.220']);
    expect(mine.code).not.toBe(0);
    expect(theirs.code, theirs.stderr).toBe(0);
    for (const [me, other, rec] of [
      [b, a, recA!],
      [a, b, recB!],
    ] as const) {
      // through another user's state directory: refused, saying why
      const viaDir = await nslab(me, ['exec', inst, 'pc1', '--', 'true'], { NSLAB_STATE_DIR: stateDirOf(other) });
      expect(viaDir.code).toBe(3);
      expect(viaDir.stderr).toMatch(/cannot use .*EACCES|is not private/);
      const lsDir = await nslab(me, ['ls'], { NSLAB_STATE_DIR: stateDirOf(other) });
      expect(lsDir.code).toBe(3);
      const downDir = await nslab(me, ['down', inst], { NSLAB_STATE_DIR: stateDirOf(other) });
      expect(downDir.code).toBe(3);
      for (const verb of ['check', 'reset']) {
        const viaOther = await nslab(me, [verb, inst], { NSLAB_STATE_DIR: stateDirOf(other) });
        expect(viaOther.code, verb).toBe(3);
        expect(viaOther.stderr).toMatch(/cannot use .*EACCES|is not private/);
      }
      // naming the other user, as the trainer does: root's alone
      for (const verb of ['check', 'reset', 'down']) {
        const byUser = await nslab(me, [verb, inst, '--user', other.name]);
        expect(byUser.code, verb).toBe(3);
        expect(byUser.stderr).toMatch(/--user is the trainer's: it needs root/);
      }
      // straight into the other's holder: the kernel refuses
      const enter = await as(me, ['perl', '-e', ENTER_PL, String(rec.holder!.pid), rec.holder!.start, '--', 'true']);
      expect(enter.code).not.toBe(0);
      expect(enter.stderr).toMatch(/cannot open the namespaces of holder pid \d+: Permission denied/);
      // nor can it be killed
      const kill = await as(me, ['kill', '-9', String(rec.holder!.pid)]);
      expect(kill.code).not.toBe(0);
    }
    // the trainer's view: root sees both users' labs, each with its user; a user may not ask for it
    await as(b, ['ln', '-s', '/etc/passwd', join(stateDirOf(b), 'planted.json')]);
    await as(b, ['mkfifo', join(stateDirOf(b), 'fifo.json')]);
    const all = spawnSync(process.execPath, [CLI, 'ls', '--all-users', '--json'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(all.status, all.stderr).toBe(0);
    const seen = (JSON.parse(all.stdout) as { user: string; instance: string; holderAlive?: boolean }[]).filter(
      (x) => x.user === a.name || x.user === b.name,
    );
    expect(seen).toEqual(
      [a, b]
        .sort((x, y) => x.name.localeCompare(y.name))
        .map((u) => expect.objectContaining({ user: u.name, instance: inst, holderAlive: true })),
    );
    const text = spawnSync(process.execPath, [CLI, 'ls', '--all-users'], { encoding: 'utf8', timeout: 30_000 });
    expect(text.stdout).toMatch(new RegExp(`^${a.name}\\s+${inst.replace('.', '\\.')}\\s+up\\s`, 'm'));
    const notRoot = await nslab(a, ['ls', '--all-users']);
    expect(notRoot.code).toBe(3);
    expect(notRoot.stderr).toMatch(/needs root/);
    // root grades both users' labs of that name, each as its user, one row per user and test (docs/workshop.md)
    const graded = spawnSync(process.execPath, [CLI, 'check', LAB, '--instance', id, '--reporter', 'csv'], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(graded.status, graded.stderr).toBe(1);
    const rows = graded.stdout.split('\r\n').filter(Boolean);
    expect(rows[0]).toMatch(/^user,instance,/);
    expect(rows.slice(1).map((r) => r.split(',').slice(0, 2).join(','))).toEqual(
      [a, b]
        .sort((x, y) => x.name.localeCompare(y.name, 'en', { numeric: true }))
        .flatMap((u) => [1, 2, 3].map(() => `${u.name},${inst}`)),
    );
    // A's pc1 has eth0 down: A's first test is not answered at all, B's only asymmetric
    expect(rows.find((r) => r.startsWith(`${a.name},`))).toMatch(/,failed,/);

    // with no lab of its own, a user sees none and finds none by the other's name
    expect((await nslab(b, ['down', inst])).code).toBe(0);
    const none = await nslab(b, ['ls']);
    expect(none.stdout).toBe('no labs are up\n');
    const notFound = await nslab(b, ['exec', inst, 'pc1', '--', 'true']);
    expect(notFound.code).toBe(2);
    expect(notFound.stderr).toMatch(/no running lab matches/);
    const notDown = await nslab(b, ['down', inst]);
    expect(notDown.code).toBe(2);
    // A's lab is untouched by all of it
    const still = await nslab(a, ['exec', inst, 'pc2', '--', 'true']);
    expect(still.code, still.stderr).toBe(0);
    // the trainer takes A's lab down, as A
    const down = spawnSync(process.execPath, [CLI, 'down', inst, '--user', a.name], { encoding: 'utf8' });
    expect(down.status, down.stderr).toBe(0);
    expect(down.stdout).toContain(`down lab '${inst}' (5 namespaces) of user '${a.name}'`);
    expect(await ls(a)).toEqual([]);
    expect(await noneLeft(a)).toEqual([]);
    expect(await noneLeft(b)).toEqual([]);
  }, 180_000);
});

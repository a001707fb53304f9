// A workshop on one server (issue 21, docs/workshop.md), through the shipped CLI: ten students, each an ordinary
// Unix user the test creates (useradd, a prefix unique to the run; removed afterwards with their files and any lab
// left), bring up the handed-out exercise rootless; half fix it with nslab exec; the trainer (root) grades the class
// with its own lab file, which no student can read, to CSV in one command, resets a student's lab and takes every lab
// down; nothing is left. A student cannot grade, reset or take down another's lab.
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, isRoot, uid } from './helpers.js';
import { as, makeUser, nslabAs, noneLeft, removeUser, run as exec, usernsAllowed, type User } from './test-users.js';

const LAB = join(process.cwd(), 'labs/dual-nic-reply-path.yaml');
const SOLUTION = 'with a routing table for eth1';
const TESTS = [
  'replies leave through the NIC they came in on',
  "a client on eth1's subnet is still answered on eth1",
  "the kernel picks table gateway1 for eth1's address",
];
// the fix, by hand in the server (what the solution stage applies)
const FIX =
  'ip route add 192.168.1.0/24 dev eth1 src 192.168.1.220 table 201 && ip route add default via 192.168.1.254 table 201 && ip rule add from 192.168.1.220 table 201';
const STUDENTS = 10;
/** Students' commands at once (the trainer's are bounded by nslab itself). */
const BOUND = 4;

const run = uid();
const id = `ws${run}`;
const inst = `dual-nic-reply-path.${id}`;
const users: User[] = [];
let dir = '';

const nslab = (u: User, args: string[], env?: Record<string, string>) => nslabAs(u, args, { env });
const trainer = (args: string[]) => exec([process.execPath, CLI, ...args], { env: { FORCE_COLOR: '0' } });
const stateDirOf = (u: User) => join(u.home, '.local/state/nslab');

async function bounded<T>(items: T[], job: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: BOUND }, async () => {
      while (next < items.length) await job(items[next++]!);
    }),
  );
}

/** CSV rows (no quoted newlines in these) as objects by the header's names. */
function rows(csv: string): Record<string, string>[] {
  const parse = (line: string) =>
    [...line.matchAll(/("(?:[^"]|"")*"|[^,]*)(,|$)/g)]
      .slice(0, -1)
      .map((m) => (m[1]!.startsWith('"') ? m[1]!.slice(1, -1).replace(/""/g, '"') : m[1]!));
  const [head, ...rest] = csv.split('\r\n').filter(Boolean);
  const cols = parse(head!);
  return rest.map((l) => Object.fromEntries(parse(l).map((v, i) => [cols[i], v])));
}

beforeAll(() => {
  if (!isRoot || !usernsAllowed) return;
  for (let i = 1; i <= STUDENTS; i++) {
    users.push(makeUser(`nsw${run}s`, String(i)));
  }
  // the trainer's file (with the solution) is root's alone; the students' file, the exercise, is handed out
  dir = mkdtempSync('/tmp/nslab-workshop-');
  chmodSync(dir, 0o755);
  copyFileSync(LAB, join(dir, 'trainer.yaml'));
  chmodSync(join(dir, 'trainer.yaml'), 0o600);
  const ex = spawnSync(process.execPath, [CLI, 'exercise', join(dir, 'trainer.yaml'), '-o', join(dir, 'student.yaml')]);
  if (ex.status !== 0) throw new Error(`nslab exercise: ${ex.stderr}`);
  chmodSync(join(dir, 'student.yaml'), 0o644);
}, 120_000);

afterAll(async () => {
  // whatever a failed test left: the users' processes (holders, and their labs with them), their files in /tmp (pcaps
  // a check kept for its student, /tmp/nslab-artifacts-*), the users
  for (const u of users) await removeUser(u);
  if (dir) rmSync(dir, { recursive: true, force: true });
  // no user of this run is left
  expect(users.filter((u) => spawnSync('id', [u.name]).status === 0)).toEqual([]);
}, 300_000);

describe.skipIf(!isRoot || !usernsAllowed)('a workshop of ten students on one server (issue 21)', () => {
  it("each student's lab up rootless, half fixed; the trainer grades the class to CSV, resets and takes every lab down; nothing is left", async () => {
    const student = join(dir, 'student.yaml');
    const trainerFile = join(dir, 'trainer.yaml');
    // a student cannot read the trainer's file; the handed-out one is all they need
    const peek = await as(users[0]!, ['cat', trainerFile]);
    expect(peek.code).not.toBe(0);
    expect(peek.stderr).toMatch(/Permission denied/);
    expect(readFileSync(student, 'utf8')).not.toContain('table gateway1\n');
    const handout = await as(users[0]!, ['cat', student]);
    expect(handout.code).toBe(0);

    // every student brings the lab up from the handout, the same instance name for all: names are each user's own
    await bounded(users, async (u) => {
      const up = await nslab(u, ['up', student, '--instance', id]);
      expect(up.code, `${u.name}: ${up.stderr}`).toBe(0);
    });
    // half fix it by hand, in the server
    const fixed = users.filter((_, i) => i % 2 === 1);
    await bounded(fixed, async (u) => {
      const r = await nslab(u, ['exec', inst, 'server', '--', 'sh', '-c', FIX]);
      expect(r.code, `${u.name}: ${r.stderr}`).toBe(0);
    });
    // a student who is not fixed makes their own tests pass by weakening them in their own lab file...
    const cheat = users[0]!;
    const weak = join(cheat.home, 'mine.yaml');
    const w = await as(cheat, [
      'sh',
      '-c',
      `sed -e 's/expect: { replies: 3, symmetric: true, .*}/expect: { replies: 3 }/' -e 's/expect: { table: gateway1, .*}/expect: { dev: eth0 }/' ${student} > ${weak}`,
    ]);
    expect(w.code, w.stderr).toBe(0);
    const own = await nslab(cheat, ['check', weak, '--reporter', 'json']);
    expect(own.code, own.stdout + own.stderr).toBe(0);

    // ...and a student cannot grade, reset or take down another's lab, by --user or through their state directory
    const [me, other] = [users[0]!, users[1]!];
    for (const args of [
      ['check', inst, '--user', other.name],
      ['check', '--instance', '*', '--user', other.name],
      ['reset', inst, '--user', other.name],
      ['down', inst, '--user', other.name],
    ]) {
      const r = await nslab(me, args);
      expect(r.code, args.join(' ')).toBe(3);
      expect(r.stderr).toMatch(/is the trainer's: it needs root/);
    }
    for (const verb of ['check', 'reset', 'down']) {
      const r = await nslab(me, [verb, inst], { NSLAB_STATE_DIR: stateDirOf(other) });
      expect(r.code, `${verb}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/cannot use .*EACCES|is not private/);
    }

    // the trainer grades the class with its own file, in one command: a row per student and test
    const graded = await trainer(['check', trainerFile, '--instance', `${id}*`, '--reporter', 'csv']);
    expect(graded.code, graded.stderr).toBe(1); // some failed
    const csv = rows(graded.stdout);
    expect(graded.stdout.split('\r\n')[0]).toBe('user,instance,id,lab,stage,test,status,hint,reason');
    const byName = [...users].sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
    expect(csv.map((r) => [r.user, r.instance, r.id, r.stage, r.test, r.status])).toEqual(
      byName.flatMap((u) =>
        TESTS.map((t, i) => [
          u.name,
          inst,
          id,
          SOLUTION,
          t,
          fixed.includes(u) || i === 1 ? 'passed' : 'failed', // the second passes unfixed: eth1's own subnet
        ]),
      ),
    );
    // the student who weakened their own tests is graded with the trainer's
    expect(csv.filter((r) => r.user === cheat.name).map((r) => r.status)).toEqual(['failed', 'passed', 'failed']);
    expect(csv.find((r) => r.status === 'failed')!.reason).toMatch(/expected server:eth1, observed server:eth0/);

    // the trainer resets one fixed student's lab: it is as the handout brings it up again, and fails
    const again = fixed[0]!;
    const reset = await trainer(['reset', inst, '--user', again.name]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toContain(`reset lab '${inst}' to its base (no stage applied) of user '${again.name}'`);
    const one = await trainer(['check', trainerFile, '--user', again.name, '--reporter', 'csv']);
    expect(rows(one.stdout).map((r) => [r.user, r.status])).toEqual([
      [again.name, 'failed'],
      [again.name, 'passed'],
      [again.name, 'failed'],
    ]);

    // the trainer takes every lab of the class down
    const down = await trainer(['down', '--instance', `${id}*`]);
    expect(down.code, down.stderr).toBe(0);
    for (const u of users) expect(down.stdout).toContain(`down lab '${inst}' (5 namespaces) of user '${u.name}'`);
    // nothing is left: no process of any student (no holder), no record, no namespace, nothing root lists
    for (const u of users) {
      expect(await noneLeft(u), u.name).toEqual([]);
      const records = existsSync(stateDirOf(u)) ? readdirSync(stateDirOf(u)).filter((n) => n.endsWith('.json')) : [];
      expect(records, u.name).toEqual([]);
    }
    const all = await trainer(['ls', '--all-users', '--json']);
    expect((JSON.parse(all.stdout) as { instance: string }[]).filter((x) => x.instance === inst)).toEqual([]);
    const netns = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout;
    expect(netns).not.toContain(id);
    // and nothing is found to take down any more
    const none = await trainer(['down', '--instance', `${id}*`]);
    expect(none.code).toBe(2);
  }, 900_000);
});

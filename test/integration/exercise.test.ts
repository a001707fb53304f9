// Workshops, end to end through the shipped CLI (dist/bin/main.js): an exercise
// made from the bundled lab hides the fix; students' instances fixed by hand
// (with `nslab exec`, as typed in `nslab shell`) pass `check`; a batch grading
// of a fixed, a half-fixed and an untouched instance gives the right CSV; reset
// undoes hand-made changes. And table names inside nodes: `ip route show table
// gateway1` works in a node (exec, shell, exec probes, services), not in the
// root namespace, and nothing of it outlives the lab.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, etcNetns, isRoot, namespaces, STATE_DIR, tempDir, uid } from './helpers.js';

const RUN = `cl${uid()}`; // instance ids of this file: RUN + one letter ([a-z0-9]{1,12})
const LAB = 'dual-nic-reply-path';
const SOLUTION = 'with a routing table for eth1';
const dir = tempDir();
const student = join(dir, 'student.yaml');
const ids: string[] = [];

const up = (file: string, id: string, ...more: string[]) => {
  const r = cli(['up', file, '--instance', id, ...more]);
  expect(r.code, r.stderr).toBe(0);
  ids.push(`${LAB}.${id}`);
  return `${LAB}.${id}`;
};
const exec = (instance: string, node: string, cmd: string) => cli(['exec', instance, node, '--', ...cmd.split(' ')]);

/** The host's iproute2 name files, to prove they are never written. */
function hostIproute2(): string {
  const h = createHash('sha256');
  const walk = (d: string) => {
    for (const f of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      h.update(f.name);
      if (f.isDirectory()) walk(join(d, f.name));
      else if (f.isFile()) h.update(readFileSync(join(d, f.name)));
    }
  };
  if (existsSync('/etc/iproute2')) walk('/etc/iproute2');
  return h.digest('hex');
}

afterAll(() => {
  if (!isRoot) return;
  for (const i of ids) if (existsSync(join(STATE_DIR, `${i}.json`))) cli(['down', i]);
  expect(namespaces(`nslab-${LAB}.${RUN}`)).toEqual([]);
  expect(etcNetns(`nslab-${LAB}.${RUN}`)).toEqual([]);
});

describe('nslab exercise (no root)', () => {
  it("writes the students' file without the fix; it validates; a lab without a solution stage or -o onto itself is refused", () => {
    const r = cli(['exercise', `labs/${LAB}.yaml`, '-o', student]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(student, 'utf8');
    for (const fix of [
      '192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1',
      'default via 192.168.1.254 table gateway1',
      'from 192.168.1.220 table gateway1',
      'up: [eth0]',
    ])
      expect(text).not.toContain(fix);
    // the twin: the fix is in the original
    expect(readFileSync(`labs/${LAB}.yaml`, 'utf8')).toContain('from 192.168.1.220 table gateway1');
    expect(text).toContain('solution: true');
    expect(text).toContain('hint: ');
    expect(cli(['validate', student]).code).toBe(0);
    const stdout = cli(['exercise', `labs/${LAB}.yaml`]);
    expect(stdout.stdout).toBe(text);
    expect(cli(['exercise', 'labs/vip-source-example1.yaml']).code).toBe(2);
    const self = join(dir, 'self.yaml');
    writeFileSync(self, readFileSync(`labs/${LAB}.yaml`));
    const again = cli(['exercise', self, '-o', self]);
    expect(again.code).toBe(2);
    expect(readFileSync(self, 'utf8')).toContain('from 192.168.1.220 table gateway1');
  });
});

describe.skipIf(!isRoot)('students fix the lab by hand; check grades them', () => {
  it('the exercise, tested as it is, fails the solution stage: the fix is really missing', () => {
    const r = cli(['test', student, '--stage', SOLUTION, '--reporter', 'json']);
    expect(r.code).toBe(1);
    const tests = JSON.parse(r.stdout).labs[0].tests.map((t: any) => [t.name, t.status]);
    expect(tests).toEqual([
      ['replies leave through the NIC they came in on', 'failed'],
      ["a client on eth1's subnet is still answered on eth1", 'passed'],
      ["the kernel picks table gateway1 for eth1's address", 'failed'],
    ]);
  });

  it('a fixed, a half-fixed and an untouched instance: check, hints, scores, batch CSV and JSON, reset', () => {
    const fixed = up(student, `${RUN}f`);
    const half = up(student, `${RUN}h`);
    const untouched = up(student, `${RUN}u`);
    // what a student types in `nslab shell`: the table names of the lab work there
    for (const c of [
      'ip route add 192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1',
      'ip route add default via 192.168.1.254 table gateway1',
      'ip rule add from 192.168.1.220 table gateway1',
    ])
      expect(exec(fixed, 'server', c).code).toBe(0);
    // half-fixed: replies take eth1, but through a table of their own, not the gateway1 the exercise asks for
    for (const c of [
      'ip route add 192.168.1.0/24 dev eth1 src 192.168.1.220 table 100',
      'ip route add default via 192.168.1.254 table 100',
      'ip rule add from 192.168.1.220 table 100',
    ])
      expect(exec(half, 'server', c).code).toBe(0);

    const ok = cli(['check', fixed]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toContain(`against the tests of stage '${SOLUTION}'`);
    expect(ok.stdout).toContain(`score: 3/3 (100%) for '${fixed}'`);
    expect(ok.stdout).not.toContain('hint:');
    const bad = cli(['check', untouched]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`score: 1/3 (33%) for '${untouched}'`);
    expect(bad.stdout).toContain('hint: replies follow the routing table the kernel picks for them');
    expect(bad.stdout).toContain('hint: the routing policy (ip rule) decides');

    const csv = cli(['check', student, '--instance', `${RUN}*`, '--reporter', 'csv']);
    expect(csv.code).toBe(1);
    const lines = csv.stdout.split('\r\n').filter(Boolean);
    expect(lines[0]).toBe('instance,id,lab,stage,test,status,hint,reason');
    const rows = lines
      .slice(1)
      .map((l) =>
        l
          .match(/("([^"]|"")*"|[^,]*)(,|$)/g)!
          .map((f) => f.replace(/,$/, '').replace(/^"|"$/g, '').replace(/""/g, '"')),
      );
    const table = rows.map((r) => [r[1], r[4], r[5]]);
    const [t1, t2, t3] = [
      'replies leave through the NIC they came in on',
      "a client on eth1's subnet is still answered on eth1",
      "the kernel picks table gateway1 for eth1's address",
    ];
    expect(table).toEqual([
      [`${RUN}f`, t1, 'passed'],
      [`${RUN}f`, t2, 'passed'],
      [`${RUN}f`, t3, 'passed'],
      [`${RUN}h`, t1, 'passed'],
      [`${RUN}h`, t2, 'passed'],
      [`${RUN}h`, t3, 'failed'],
      [`${RUN}u`, t1, 'failed'],
      [`${RUN}u`, t2, 'passed'],
      [`${RUN}u`, t3, 'failed'],
    ]);
    for (const r of rows) expect(r[0]).toBe(`${LAB}.${r[1]}`);
    const halfRoute = rows.find((r) => r[1] === `${RUN}h` && r[4] === t3)!;
    expect(halfRoute[6]).toMatch(/^the routing policy/); // the hint
    expect(halfRoute[7]).toMatch(/table: expected gateway1, observed 100/); // the reason
    expect(rows.filter((r) => r[5] === 'passed').every((r) => r[6] === '' && r[7] === '')).toBe(true);

    const json = JSON.parse(cli(['check', LAB, '--instance', `${RUN}*`, '--reporter', 'json']).stdout);
    expect(json.labs.map((l: any) => [l.instance, l.score])).toEqual([
      [fixed, { passed: 3, total: 3 }],
      [half, { passed: 2, total: 3 }],
      [untouched, { passed: 1, total: 3 }],
    ]);
    expect(cli(['check', LAB, '--instance', `${RUN}*`, '--reporter', 'csv']).stderr).toBe('');
    // a student who edits the file their lab came up from (its tests, say) is graded with it only if the
    // grader names no file: then the grader is told; naming the instructor's file grades with that
    const later = new Date(Date.now() + 60_000);
    utimesSync(student, later, later);
    expect(cli(['check', LAB, '--instance', `${RUN}*`, '--reporter', 'csv']).stderr).toMatch(
      /is graded with its own lab file, changed since it came up/,
    );
    expect(cli(['check', student, '--instance', `${RUN}*`, '--reporter', 'csv']).stderr).toBe('');

    // reset: back to the exercise's start (hand-made fix gone), then to a later stage
    const reset = cli(['reset', fixed]);
    expect(reset.code, reset.stderr).toBe(0);
    expect(cli(['check', fixed]).code).toBe(1);
    expect(exec(fixed, 'server', 'ip rule').stdout).not.toContain('gateway1');
    expect(cli(['reset', fixed, '--stage', 'eth0 down, without policy routing']).code).toBe(0);
    expect(exec(fixed, 'server', 'ip -br link show eth0').stdout).toMatch(/DOWN/);
    expect(JSON.parse(readFileSync(join(STATE_DIR, `${fixed}.json`), 'utf8')).stages).toEqual([
      'without policy routing',
      'eth0 down, without policy routing',
    ]);
    expect(cli(['reset', fixed, '--stage', 'no such stage']).code).toBe(2);
    expect(namespaces(`nslab-${fixed}.`)).toHaveLength(5); // a refused reset takes nothing down

    // reset --instance: every student's lab at once, all checked before any is taken down
    expect(cli(['reset', LAB, '--instance', `${RUN}*`, '--stage', 'no such stage']).code).toBe(2);
    expect(namespaces(`nslab-${LAB}.${RUN}`)).toHaveLength(15);
    expect(exec(half, 'server', 'ip rule').stdout).toContain('lookup 100'); // the half fix is still there
    expect(cli(['reset', '--instance', `nomatch${RUN}*`]).code).toBe(2);
    const all = cli(['reset', LAB, '--instance', `${RUN}*`, '--stage', 'without policy routing']);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout.split('\n').filter(Boolean)).toEqual(
      [fixed, half, untouched].map((i) => `reset lab '${i}', stages applied: without policy routing`),
    );
    expect(exec(half, 'server', 'ip rule').stdout).not.toContain('lookup 100');
    const graded = JSON.parse(cli(['check', LAB, '--instance', `${RUN}*`, '--reporter', 'json']).stdout);
    expect(graded.labs.map((l: any) => [l.instance, l.score])).toEqual(
      [fixed, half, untouched].map((i) => [i, { passed: 1, total: 3 }]),
    );

    for (const i of [fixed, half, untouched]) expect(cli(['down', i]).code).toBe(0);
    expect(namespaces(`nslab-${LAB}.${RUN}`)).toEqual([]);
    expect(etcNetns(`nslab-${LAB}.${RUN}`)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('table names inside nodes', () => {
  it('ip route show table gateway1 works in a node of the bundled lab (exec and shell), not in the root namespace; /etc/iproute2 untouched', () => {
    const hostBefore = hostIproute2();
    const rootBefore = spawnSync('ip', ['route', 'show', 'table', 'gateway1'], { encoding: 'utf8' });
    const i = up(`labs/${LAB}.yaml`, `${RUN}t`, '--stage', SOLUTION);
    const show = exec(i, 'server', 'ip route show table gateway1');
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toContain('default via 192.168.1.254 dev eth1');
    expect(exec(i, 'server', 'ip rule').stdout).toMatch(/from 192\.168\.1\.220 lookup gateway1/);
    // in `nslab shell`, as a student types it
    const shell = spawnSync('node', [CLI, 'shell', i, 'server'], {
      encoding: 'utf8',
      input: 'ip route show table gateway1\nip -6 rule\nexit\n',
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    expect(shell.stdout).toContain('default via 192.168.1.254 dev eth1');
    // the twins: a node without the table, and the root namespace (read only), do not know the name
    const pc1 = exec(i, 'pc1', 'ip route show table gateway1');
    expect(pc1.code).not.toBe(0);
    expect(pc1.stderr).toMatch(/table id value is invalid/);
    const root = spawnSync('ip', ['route', 'show', 'table', 'gateway1'], { encoding: 'utf8' });
    expect([root.status, root.stdout, root.stderr]).toEqual([rootBefore.status, rootBefore.stdout, rootBefore.stderr]);
    if (
      !/^\s*\d+\s+gateway1\b/m.test(
        existsSync('/etc/iproute2/rt_tables') ? readFileSync('/etc/iproute2/rt_tables', 'utf8') : '',
      )
    )
      expect(root.status).not.toBe(0);
    expect(hostIproute2()).toBe(hostBefore);
    expect(etcNetns(`nslab-${i}.`)).toEqual([`nslab-${i}.server`]);
    expect(cli(['down', i]).code).toBe(0);
    expect(etcNetns(`nslab-${i}.`)).toEqual([]);
    expect(hostIproute2()).toBe(hostBefore);
  });

  it('services and exec probes see the names too; a node without them does not', () => {
    const file = join(dir, 'names.yaml');
    writeFileSync(
      file,
      `name: ${LAB}
nodes:
  a:
    interfaces: { eth0: 10.0.0.1/24 }
    tables: { isp1: 101 }
    routes: [default via 10.0.0.2 table isp1]
    rules: [from 10.0.0.1 table isp1]
    services: [{ name: names, command: [sh, -c, 'ip rule; exec sleep 600'] }]
  b: { interfaces: { eth0: 10.0.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: names
    tests:
      - { name: a knows isp1, exec: { node: a, command: ip route show table isp1 }, expect: { stdout: default via 10.0.0.2 } }
      - { name: b does not, exec: { node: b, command: ip route show table isp1 }, expect: { exit: 255, stderr: table id value is invalid } }
`,
    );
    const i = up(file, `${RUN}s`);
    const log = join(STATE_DIR, 'logs', i, 'a-names.log');
    let text = '';
    for (let t = 0; t < 200 && !/lookup/.test(text); t++) {
      spawnSync('sleep', ['0.05']);
      text = existsSync(log) ? readFileSync(log, 'utf8') : '';
    }
    expect(text).toMatch(/from 10\.0\.0\.1 lookup isp1/);
    const r = cli(['check', i, '--reporter', 'json']);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout).labs[0].tests.map((t: any) => t.status)).toEqual(['passed', 'passed']);
    expect(cli(['down', i]).code).toBe(0);
    expect(etcNetns(`nslab-${i}.`)).toEqual([]);
  });
});

// End to end: every verb of the SHIPPED bundle (dist/bin/main.js), with its exit
// status as the README documents it (0 passed, 1 a test failed, 2 usage or lab-file
// error, 3 environment), and every form of LAB (file, lab name, instance name).
//
// Safe on a shared machine: each test uses labs of its own with unique names
// (e2e<random>-...), sends traffic only between its own namespaces, cleans up only
// its own instances (down / cleanup by explicit instance name), and checks that
// nothing of its own is left; other people's labs are never touched.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, etcNetns, isRoot, namespaces, sh, sleep, STATE_DIR, tempDir, uid } from './helpers.js';

const RUN = `e2e${uid()}`;
const VERBS = [
  'validate',
  'plan',
  'graph',
  'up',
  'down',
  'ls',
  'exec',
  'shell',
  'test',
  'check',
  'explain',
  'exercise',
  'reset',
  'cleanup',
  'doctor',
  'export',
  'snapshot',
  'import',
];
const VERSION = (JSON.parse(readFileSync('package.json', 'utf8')) as { version: string }).version;
const dirs: string[] = [];

function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

type Result = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Runs a program with stdin a pipe (input, then end of file); asynchronous, so that the tests run concurrently. */
function spawnP(
  cmd: string,
  args: string[],
  o: { input?: string; cwd?: string; env?: Record<string, string>; cleanEnv?: boolean } = {},
): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env = o.cleanEnv ? { ...o.env } : { ...process.env, FORCE_COLOR: '0', ...o.env };
    const child = spawn(cmd, args, { cwd: o.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on('error', () => {
      /* the program did not read its input */
    });
    child.stdin.end(o.input ?? '');
  });
}

/** The shipped bundle: node dist/bin/main.js ARGS (the default state directory). */
const nslab = (args: string[], o: { input?: string; cwd?: string; env?: Record<string, string> } = {}) =>
  spawnP(process.execPath, [CLI, ...args], o);

/**
 * Two nodes on one link. Stage `base`: a passing ping and a ping that fails on
 * purpose. Stage `routed`: adds a route on a, and two tests that pass once it is applied.
 */
function labFile(name: string, o: { dir?: string; file?: string; stages?: string } = {}): string {
  const file = join(o.dir ?? dir(), o.file ?? `${name}.yaml`);
  const stages =
    o.stages ??
    `stages:
  - name: base
    tests:
      - { name: a reaches b, ping: { from: a, to: 10.0.0.2, count: 1 }, expect: { replies: 1 } }
      - { name: wrong on purpose, ping: { from: a, to: 10.0.0.2, count: 1 }, expect: { replies: 0 } }
  - name: routed
    apply:
      a: { routes: [10.9.9.0/24 via 10.0.0.2] }
    tests:
      - { name: route is there, exec: { node: a, command: ip route }, expect: { stdout: 10.9.9.0/24 } }
      - { name: b still answers, ping: { from: a, to: 10.0.0.2, count: 1 }, expect: { replies: 1 } }
`;
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a: { interfaces: { eth0: 10.0.0.1/24 } }
  b: { interfaces: { eth0: 10.0.0.2/24 } }
links: [a:eth0 b:eth0]
${stages}`,
  );
  return file;
}

const id = () => `x${uid()}`; // a valid instance id: [a-z0-9]{1,12}
const recordOf = (instance: string) => join(STATE_DIR, `${instance}.json`);
const own = (instance: string) => namespaces(`nslab-${instance}.`);
/** The process exists and is no zombie (this machine's init may be slow to reap the orphans of a killed run). */
const running = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /s.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

/**
 * In finally: takes the instance down by its instance name if it is still recorded, then proves nothing of it is left.
 */
async function downAndCheck(instance: string): Promise<void> {
  if (existsSync(recordOf(instance))) await nslab(['down', instance]);
  expect(own(instance)).toEqual([]);
  expect(etcNetns(`nslab-${instance}.`)).toEqual([]);
  expect(existsSync(recordOf(instance))).toBe(false);
}

afterAll(async () => {
  // belt and braces: nothing of this run is left (including tests marked it.fails)
  if (isRoot) {
    const left = namespaces(`nslab-${RUN}`);
    const records = readdirSync(STATE_DIR).filter((f) => f.startsWith(RUN));
    for (const f of records) await nslab(['down', f.replace(/\.json$/, '')]);
    expect(left).toEqual([]);
    expect(etcNetns(`nslab-${RUN}`)).toEqual([]);
    expect(records).toEqual([]);
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

// first and alone: on a stale build ./scripts/nslab rebuilds dist/ (rm -rf) before it runs the bundle
describe('cli e2e: the wrapper', () => {
  it('./scripts/nslab runs the bundle: same output, exit 0', async () => {
    const wrap = (args: string[]) => spawnP('./scripts/nslab', args);
    const v = await wrap(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout).toBe(`${VERSION}\n`);
    expect(v.stdout).toBe((await nslab(['--version'])).stdout);
    const val = await wrap(['validate', 'labs/']);
    expect(val.code).toBe(0);
    const direct = await nslab(['validate', 'labs/']);
    expect(direct.code).toBe(0);
    expect(val.stdout).toBe(direct.stdout);
    expect(val.stdout).toMatch(/^ok labs\/dual-nic-reply-path\.yaml: /m);
  }, 120_000);
});

// the rest concurrently: every test has labs of its own
const rootIt = isRoot ? it : it.skip;

// Each test drives the CLI through a whole lab's life, side by side with the others: ~20-40 s on an idle
// 2-CPU machine, over 60 s when other jobs load it (seen in CI runs beside other labs). Speed is benched
// (bench/), not timed here.
describe.concurrent('cli e2e', { timeout: 180_000 }, () => {
  it('--version, --help (lists every verb), exec --help: exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await nslab([flag]);
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${VERSION}\n`);
    }
    const h = await nslab(['--help']);
    expect(h.code).toBe(0);
    for (const v of VERBS) expect(h.stdout).toMatch(new RegExp(`^ {2}${v}\\b`, 'm'));
    expect(h.stdout).toMatch(/Exit status: 0 all passed; 1 a test failed; 2 usage/);
    const eh = await nslab(['exec', '--help']);
    expect(eh.code).toBe(0);
    expect(eh.stdout).toMatch(/^Usage: nslab exec \[options\] <lab> <node> <command\.\.\.>/);
  });

  it('validate: a good lab, a directory, a bad lab (exit 2, file:line:col)', async () => {
    const name = `${RUN}-v`;
    const good = labFile(name);
    const r = await nslab(['validate', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`ok ${good}: 2 nodes, 1 links, 2 stages, 4 tests\n`);
    const d = await nslab(['validate', 'labs/']);
    expect(d.code).toBe(0);
    expect(d.stdout.trim().split('\n')).toHaveLength(readdirSync('labs').filter((f) => f.endsWith('.yaml')).length);
    const bad = 'test/fixtures/bad/many-problems.yaml';
    const b = await nslab(['validate', good, bad]);
    expect(b.code).toBe(2);
    expect(b.stdout).toMatch(`ok ${good}`); // the good one is still reported
    expect(b.stderr).toMatch(/^test\/fixtures\/bad\/many-problems\.yaml:\d+:\d+: /m);
    expect((await nslab(['validate', join(dir(), 'missing.yaml')])).code).toBe(2);
  });

  it('plan: a script, --json, --stage, --instance; creates nothing', async () => {
    const name = `${RUN}-p`;
    const file = labFile(name);
    const s = await nslab(['plan', file]);
    expect(s.code).toBe(0);
    expect(s.stdout).toMatch(/^#!\/bin\/sh\n/);
    expect(s.stdout).toMatch(`ip netns add nslab-${name}.a\n`);
    expect(s.stdout).toMatch(`ip -n nslab-${name}.a addr add 10.0.0.1/24 dev eth0\n`);
    expect(s.stdout).not.toMatch('route replace 10.9.9.0/24'); // no stage applied without --stage
    const st = await nslab(['plan', file, '--stage', 'routed']);
    expect(st.code).toBe(0);
    expect(st.stdout).toMatch(`ip -n nslab-${name}.a route replace 10.9.9.0/24 via 10.0.0.2\n`);
    const i = id();
    const inst = await nslab(['plan', file, '--instance', i]);
    expect(inst.code).toBe(0);
    expect(inst.stdout).toMatch(`ip netns add nslab-${name}.${i}.a\n`);
    expect(inst.stdout).not.toMatch(`nslab-${name}.a`);
    const j = await nslab(['plan', file, '--json', '--stage', 'routed', '--instance', i]);
    expect(j.code).toBe(0);
    const p = JSON.parse(j.stdout);
    expect(p).toMatchObject({ lab: name, instance: `${name}.${i}`, file, stages: ['base', 'routed'] });
    expect(p.namespaces).toEqual([
      { node: 'a', ns: `nslab-${name}.${i}.a` },
      { node: 'b', ns: `nslab-${name}.${i}.b` },
    ]);
    expect(p.steps.some((x: any) => x.args.join(' ') === 'route replace 10.9.9.0/24 via 10.0.0.2')).toBe(true);
    expect(JSON.parse((await nslab(['plan', file, '--json'])).stdout).stages).toEqual([]);
    expect((await nslab(['plan', file, '--stage', 'nope'])).code).toBe(2);
    if (isRoot) expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  rootIt('doctor --json: exit 0, root, the tools; doctor: exit 0', async () => {
    const r = await nslab(['doctor', '--json']);
    expect(r.code).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d).toMatchObject({ root: true, ok: true, stateDir: STATE_DIR });
    for (const t of ['ip', 'nsenter', 'tcpdump', 'ping']) expect(d.tools[t], t).toEqual(expect.any(String));
    expect(Object.keys(d.qdiscs)).toEqual(expect.arrayContaining(['tbf', 'htb', 'netem']));
    const h = await nslab(['doctor']);
    expect(h.code).toBe(0);
    expect(h.stdout).toMatch(/^root: +yes/m);
    expect(h.stdout).toMatch(`state dir:   ${STATE_DIR}`);
  });

  rootIt('up --instance --stage, ls, ls --json, exec; the plan names what up creates', async () => {
    const name = `${RUN}-u`;
    const file = labFile(name);
    const i = id();
    const inst = `${name}.${i}`;
    try {
      const planned = JSON.parse((await nslab(['plan', file, '--json', '--stage', 'routed', '--instance', i])).stdout);
      const up = await nslab(['up', file, '--instance', i, '--stage', 'routed']);
      expect(up.code).toBe(0);
      expect(up.stdout).toMatch(new RegExp(`^up lab '${inst}' in \\d+ ms, stages applied: base, routed\\n`));
      expect(own(inst).sort()).toEqual(planned.namespaces.map((n: any) => n.ns).sort());
      // the same instance twice: refused, nothing changed
      const again = await nslab(['up', file, '--instance', i]);
      expect(again.code).toBe(2);
      expect(again.stderr).toMatch(`lab instance '${inst}' is already up`);
      expect(own(inst)).toHaveLength(2);

      const ls = await nslab(['ls']);
      expect(ls.code).toBe(0);
      expect(ls.stdout).toMatch(/^INSTANCE +STATUS +NODES +OWNER +AGE +LOGS$/m);
      expect(ls.stdout).toMatch(new RegExp(`^${inst.replace('.', '\\.')} +up +a,b +pid \\d+ +\\d+s +-$`, 'm'));
      const lj = await nslab(['ls', '--json']);
      expect(lj.code).toBe(0);
      const rec = (JSON.parse(lj.stdout) as any[]).find((s) => s.instance === inst);
      expect(rec).toMatchObject({
        instance: inst,
        lab: name,
        status: 'up',
        stages: ['base', 'routed'],
        namespaces: planned.namespaces,
      });

      const route = await nslab(['exec', inst, 'a', '--', 'ip', 'route']);
      expect(route.code).toBe(0);
      expect(route.stdout).toMatch(/^10\.9\.9\.0\/24 via 10\.0\.0\.2 dev eth0/m); // the stage was applied
      expect((await nslab(['exec', inst, 'b', '--', 'ping', '-c1', '-W2', '10.0.0.1'])).code).toBe(0);
      expect((await nslab(['exec', inst, 'a', '--', 'sh', '-c', 'exit 7'])).code).toBe(7);
      const nocmd = await nslab(['exec', inst, 'a', '--', `no-such-command-${RUN}`]);
      expect(nocmd.code).not.toBe(0);
      const nonode = await nslab(['exec', inst, 'zz', '--', 'true']);
      expect(nonode.code).toBe(2);
      expect(nonode.stderr).toMatch(`lab '${inst}' has no node 'zz'`);
    } finally {
      await downAndCheck(inst);
    }
    expect((await nslab(['ls'])).stdout).not.toMatch(inst);
  });

  // exec, shell, check and down with each form of LAB
  for (const form of ['file', 'name', 'instance'] as const) {
    rootIt(`LAB as the lab ${form}: exec, shell, check (--stage, --reporter json), down`, async () => {
      const name = `${RUN}-${form}`;
      const file = labFile(name);
      const i = form === 'instance' ? id() : undefined;
      const inst = i ? `${name}.${i}` : name;
      const lab = form === 'file' ? file : inst;
      const art = dir();
      try {
        // an instance also gets stage routed applied, so that check's default stage is routed
        const up = await nslab(['up', file, ...(i ? ['--instance', i, '--stage', 'routed'] : [])]);
        expect(up.code).toBe(0);
        if (i) {
          // the id alone, as given to up --instance, is not an instance name: the hint gives it
          const bare = await nslab(['exec', i, 'a', '--', 'true']);
          expect(bare.code).toBe(2);
          expect(bare.stderr).toMatch(`did you mean '${inst}'?`);
        }
        expect(own(inst).sort()).toEqual([`nslab-${inst}.a`, `nslab-${inst}.b`]);

        // exec
        const ex = await nslab(['exec', lab, 'a', '--', 'ip', '-br', 'addr']);
        expect(ex.code).toBe(0);
        expect(ex.stdout).toMatch(/^eth0@\S+\s+UP\s+10\.0\.0\.1\/24/m);
        expect((await nslab(['exec', lab, 'b', '--', 'ip', 'netns', 'identify'])).stdout).toBe(`nslab-${inst}.b\n`);
        expect((await nslab(['exec', lab, 'a', '--', 'ping', '-c1', '-W2', '10.0.0.2'])).code).toBe(0);
        expect((await nslab(['exec', lab, 'a', '--', 'sh', '-c', 'exit 5'])).code).toBe(5);

        // shell, driven through a pipe
        const shl = await nslab(['shell', lab, 'a'], {
          input: 'echo "node=$NSLAB_NODE lab=$NSLAB_LAB ns=$(ip netns identify)"; ip -br addr; exit 3\n',
        });
        expect(shl.signal).toBeNull();
        expect(shl.code).toBe(3);
        expect(shl.stdout).toMatch(`node=a lab=${inst} ns=nslab-${inst}.a\n`);
        expect(shl.stdout).toMatch(/^eth0@\S+\s+UP\s+10\.0\.0\.1\/24/m);
        expect(shl.stderr).toMatch(`[nslab ${inst}:a] `); // the prompt shows lab and node
        expect((await nslab(['shell', lab, 'b'], { input: 'exit\n' })).code).toBe(0);

        // check: default stage (last applied, else the first), console
        const c = await nslab(['check', lab, '--artifacts', art]);
        if (i) {
          expect(c.code).toBe(0);
          expect(c.stdout).toMatch(
            new RegExp(`^checking '${inst.replace('.', '\\.')}' against the tests of stage 'routed'\\n`),
          );
          expect(c.stdout).toMatch(/\n2 passed, 0 failed\n$/);
        } else {
          expect(c.code).toBe(1);
          expect(c.stdout).toMatch(new RegExp(`^checking '${inst}' against the tests of stage 'base'\\n`));
          expect(c.stdout).toMatch(`✓ ${name} › base › a reaches b`);
          expect(c.stdout).toMatch(`✗ ${name} › base › wrong on purpose`);
          expect(c.stdout).toMatch('replies: expected 0, observed 1');
          expect(c.stdout).toMatch(/\n1 passed, 1 failed\n$/);
        }
        // check --stage base --reporter json: the failure is exit 1 and in the report
        const cj = await nslab(['check', lab, '--stage', 'base', '--reporter', 'json', '--artifacts', art]);
        expect(cj.code).toBe(1);
        const rep = JSON.parse(cj.stdout);
        expect(rep.totals).toEqual({ passed: 1, failed: 1, skipped: 0, errors: 0 });
        expect(rep.labs[0].instance).toBe(inst);
        expect(rep.labs[0].tests.map((t: any) => [t.stage, t.name, t.status])).toEqual([
          ['base', 'a reaches b', 'passed'],
          ['base', 'wrong on purpose', 'failed'],
        ]);
        // judged, not an error saving its pcaps: a second check into the same --artifacts keeps both runs' pcaps
        expect(rep.labs[0].tests[1].reason).toBeUndefined();
        expect(rep.labs[0].tests[1].checks.map((x: any) => x.name)).toEqual(['replies']);
        expect(readdirSync(join(art, inst)).sort()).toEqual([
          'base-wrong-on-purpose-a.pcap',
          'base-wrong-on-purpose-b.pcap',
          ...(i ? [] : ['base-wrong-on-purpose.2-a.pcap', 'base-wrong-on-purpose.2-b.pcap']),
        ]);
        const cs = await nslab(['check', lab, '--stage', 'nope']);
        expect(cs.code).toBe(2);
        expect(cs.stderr).toMatch(`lab '${name}' has no stage 'nope'`);
        // check applies nothing: the lab is as it was
        expect(own(inst)).toHaveLength(2);

        // down
        const d = await nslab(['down', lab]);
        expect(d.code).toBe(0);
        expect(d.stdout).toBe(`down lab '${inst}' (2 namespaces)\n`);
        expect(own(inst)).toEqual([]);
        expect(existsSync(recordOf(inst))).toBe(false);
        // and now LAB names nothing running
        expect((await nslab(['exec', lab, 'a', '--', 'true'])).code).toBe(2);
        expect((await nslab(['check', lab])).code).toBe(2);
        expect((await nslab(['shell', lab, 'a'], { input: 'exit 0\n' })).code).toBe(2);
        const d2 = await nslab(['down', lab]);
        expect(d2.code).toBe(2);
        expect(d2.stderr).toMatch(/no running lab matches/);
      } finally {
        await downAndCheck(inst);
      }
    });
  }

  rootIt(
    'test: reporters console/json/junit/tap, --grep, --stage, --artifacts DIR; each run leaves nothing',
    async () => {
      const name = `${RUN}-t`;
      const file = labFile(name);
      const left = () => ({
        ns: namespaces(`nslab-${name}.`),
        records: readdirSync(STATE_DIR).filter((f) => f.startsWith(`${name}.`)),
      });
      try {
        const art = join(dir(), 'artifacts'); // created by nslab
        const c = await nslab(['test', file, '--artifacts', art]);
        expect(c.code).toBe(1);
        expect(c.stdout).toMatch(`✓ ${name} › base › a reaches b`);
        expect(c.stdout).toMatch(`✗ ${name} › base › wrong on purpose`);
        expect(c.stdout).toMatch(`✓ ${name} › routed › route is there`);
        expect(c.stdout).toMatch(`✓ ${name} › routed › b still answers`);
        expect(c.stdout).toMatch(/\n3 passed, 1 failed\n$/);
        expect(left()).toEqual({ ns: [], records: [] });
        // --artifacts: report.json, junit.xml, the failure's pcaps under DIR/<instance>/
        const rj = JSON.parse(readFileSync(join(art, 'report.json'), 'utf8'));
        expect(rj.totals).toEqual({ passed: 3, failed: 1, skipped: 0, errors: 0 });
        const inst = rj.labs[0].instance as string;
        expect(inst).toMatch(new RegExp(`^${name}\\.[a-z0-9]+$`));
        expect(readFileSync(join(art, 'junit.xml'), 'utf8')).toMatch(/<testsuites name="nslab" tests="4" failures="1"/);
        expect(readdirSync(join(art, inst)).sort()).toEqual([
          'base-wrong-on-purpose-a.pcap',
          'base-wrong-on-purpose-b.pcap',
        ]);
        expect(c.stdout).toMatch(`pcaps kept: ${join(art, inst, 'base-wrong-on-purpose-a.pcap')}`);

        const a2 = dir();
        const j = await nslab(['test', file, '--reporter', 'json', '--artifacts', a2]);
        expect(j.code).toBe(1);
        const rep = JSON.parse(j.stdout); // nothing but the report on stdout
        expect(rep.summary).toBe('3 passed, 1 failed');
        expect(rep.labs[0].tests.find((t: any) => t.name === 'wrong on purpose').checks).toContainEqual(
          expect.objectContaining({ name: 'replies', ok: false, expected: '0', observed: '1' }),
        );

        const x = await nslab(['test', file, '--reporter', 'junit', '--artifacts', a2]);
        expect(x.code).toBe(1);
        expect(x.stdout).toMatch(
          /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="nslab" tests="4" failures="1" skipped="0" errors="0">/,
        );
        expect(x.stdout).toMatch(/<testcase name="wrong on purpose"[^>]*>\s*<failure/);

        const t = await nslab(['test', file, '--reporter', 'tap', '--artifacts', a2]);
        expect(t.code).toBe(1);
        expect(t.stdout).toMatch(/^TAP version 13\n1\.\.4\n/);
        expect(t.stdout).toMatch(`ok 1 - ${name} › base › a reaches b\nnot ok 2 - ${name} › base › wrong on purpose\n`);
        expect(t.stdout).toMatch(/# 3 passed, 1 failed\n$/);

        const g = await nslab(['test', file, '--grep', 'base › a reach']);
        expect(g.code).toBe(0);
        expect(g.stdout).toMatch(new RegExp(`^✓ ${name} › base › a reaches b \\d+ ms\\n1 passed, 0 failed\\n$`));

        const s = await nslab(['test', file, '--stage', 'routed', '--reporter', 'tap']);
        expect(s.code).toBe(0);
        expect(s.stdout).toMatch(
          `1..2\nok 1 - ${name} › routed › route is there\nok 2 - ${name} › routed › b still answers\n`,
        );

        // usage errors: exit 2, nothing created
        expect((await nslab(['test', file, '--stage', 'nope'])).code).toBe(2);
        expect((await nslab(['test', file, '--reporter', 'bogus'])).code).toBe(2);
        expect((await nslab(['test', file, '--grep', '('])).code).toBe(2);
        const none = await nslab(['test', file, '--grep', 'no such test']); // a typo must not pass CI with 0 tests
        expect(none.code).toBe(2);
        expect(none.stderr).toMatch("no test matches --grep 'no such test'");
        expect((await nslab(['test', file, '--jobs', '0'])).code).toBe(2);
        expect((await nslab(['test', 'test/fixtures/bad/many-problems.yaml'])).code).toBe(2);
        expect(left()).toEqual({ ns: [], records: [] });
      } finally {
        for (const f of readdirSync(STATE_DIR).filter((x) => x.startsWith(`${name}.`)))
          await downAndCheck(f.replace(/\.json$/, ''));
        expect(namespaces(`nslab-${name}.`)).toEqual([]);
      }
    },
  );

  rootIt('cleanup INSTANCE removes a killed run, spares a lab left up on purpose', async () => {
    const name = `${RUN}-c`;
    const keep = `${RUN}-k`;
    const file = labFile(name, {
      stages:
        'stages:\n  - name: slow\n    tests:\n      - { name: sleeps, exec: { node: a, command: sleep 20 }, expect: { exit: 0 } }\n',
    });
    let inst: string | undefined;
    let child: ReturnType<typeof spawn> | undefined;
    try {
      expect((await nslab(['up', labFile(keep)])).code).toBe(0);
      child = spawn(process.execPath, [CLI, 'test', file, '--artifacts', dir()], { stdio: 'ignore' });
      const exited = new Promise((res) => child!.on('exit', res));
      // wait until the test's sleep runs inside node a
      let sleeper: number | undefined;
      for (let t = 0; t < 500 && sleeper === undefined; t++) {
        await sleep(20);
        inst = readdirSync(STATE_DIR)
          .find((f) => f.startsWith(`${name}.`))
          ?.replace(/\.json$/, '');
        if (inst && own(inst).includes(`nslab-${inst}.a`)) {
          const pids = sh(['ip', 'netns', 'pids', `nslab-${inst}.a`])
            .split('\n')
            .filter(Boolean)
            .map(Number);
          sleeper = pids.find((p) => {
            try {
              return readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('sleep\0');
            } catch {
              return false;
            }
          });
        }
      }
      expect(sleeper).toBeDefined();
      child.kill('SIGKILL');
      await exited;
      expect(own(inst!)).toHaveLength(2); // the crash really left the lab behind

      const ls = await nslab(['ls']);
      expect(ls.stdout).toMatch(
        new RegExp(`^${inst!.replace('.', '\\.')} +testing \\(owner gone: nslab cleanup\\)`, 'm'),
      );
      expect(
        (JSON.parse((await nslab(['ls', '--json'])).stdout) as any[]).find((s) => s.instance === inst),
      ).toMatchObject({ status: 'testing', ownerAlive: false });

      const spared = await nslab(['cleanup', keep]);
      expect(spared.code).toBe(0);
      expect(spared.stdout).toBe('nothing to clean up\n');
      expect(own(keep)).toHaveLength(2);

      const r = await nslab(['cleanup', inst!, keep]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(`removed lab '${inst}' (testing, owner pid ${child.pid} is gone)`);
      expect(own(inst!)).toEqual([]);
      expect(existsSync(recordOf(inst!))).toBe(false);
      expect(running(sleeper!)).toBe(false); // its processes were stopped
      expect(own(keep)).toHaveLength(2);
      // the killed run's scratch directory went with its lab
      const work = join(STATE_DIR, 'work');
      expect(existsSync(work) ? readdirSync(work).filter((x) => x.startsWith(`${child!.pid}-`)) : []).toEqual([]);
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      if (inst) await downAndCheck(inst);
      await downAndCheck(keep);
    }
  });

  rootIt('usage errors exit 2 and create nothing', async () => {
    const name = `${RUN}-e`;
    const file = labFile(name);
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [[], /Usage: nslab/],
      [['up'], /missing required argument 'lab'/],
      [['exec'], /missing required argument 'lab'/],
      [['exec', name], /missing required argument 'node'/],
      [['shell'], /missing required argument 'lab'/],
      [['check'], /name the lab to check, or the instances to grade with --instance PATTERN/],
      [['exercise'], /missing required argument 'lab'/],
      [['reset'], /name the lab to reset, or the instances with --instance PATTERN/],
      [['reset', '--instance', `${name}*`], new RegExp(`no lab left up has an instance matching '${name}\\*'`)],
      [['reset', `${name}`], new RegExp(`no running lab matches '${name}'`)],
      [['check', '--instance', `${name}*`], new RegExp(`no lab left up has an instance matching '${name}\\*'`)],
      [['down'], /name the lab to take down, or use --all/],
      [['down', `${name}`], new RegExp(`no running lab matches '${name}'`)],
      [['down', `${name}.nosuch`], new RegExp(`no running lab matches '${name}\\.nosuch'`)],
      [['down', 'Not-A-Name!'], /is neither a lab file nor a lab or instance name/],
      [['up', file, '--instance', 'BAD_ID'], /instance id 'BAD_ID' is not valid/],
      [['up', file, '--instance', '../x'], /instance id '\.\.\/x' is not valid/],
      [['up', file, '--instance', 'a.b'], /instance id 'a\.b' is not valid/],
      [['up', file, '--instance', 'abcdefghijklm'], /is not valid/],
      [['up', file, '--instance', ''], /is not valid/],
      [['plan', file, '--instance', 'BAD_ID'], /instance id 'BAD_ID' is not valid/],
      [['up', file, '--stage', 'nope'], /has no stage 'nope'/],
      [['up', 'test/fixtures/bad/many-problems.yaml'], /^test\/fixtures\/bad\/many-problems\.yaml:\d+:\d+: /m],
      [['ls', '--bogus'], /unknown option '--bogus'/],
    ];
    const results = await Promise.all(cases.map(([args]) => nslab(args)));
    cases.forEach(([args, msg], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(2);
      expect(results[i]!.stderr, args.join(' ')).toMatch(msg);
    });
    expect(namespaces(`nslab-${name}`)).toEqual([]);
    expect(readdirSync(STATE_DIR).filter((f) => f.startsWith(name))).toEqual([]);
  });

  rootIt('down ../../../../tmp/evil: exit 2 with a message, touches nothing', async () => {
    const name = `${RUN}-d`;
    const file = labFile(name);
    try {
      expect((await nslab(['up', file])).code).toBe(0);
      const before = readFileSync(recordOf(name), 'utf8');
      // the literal path of the brief (no such file: a name, and not a valid one)
      const r = await nslab(['down', '../../../../tmp/evil']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch("nslab: '../../../../tmp/evil' is neither a lab file nor a lab or instance name");
      // a planted record that, were the name used as a path, would take our lab down
      const d = dir();
      copyFileSync(recordOf(name), join(d, 'evil.json'));
      const evil = `../../../..${d}/evil`;
      for (const arg of [evil, `${d}/evil`, `../${basename(d)}/evil`, `${name}/../${name}`]) {
        const e = await nslab(['down', arg]);
        expect(e.code, arg).toBe(2);
        expect(e.stderr, arg).toMatch(/is neither a lab file nor a lab or instance name/);
      }
      expect((await nslab(['exec', evil, 'a', '--', 'true'])).code).toBe(2);
      expect(existsSync(join(d, 'evil.json'))).toBe(true);
      expect(own(name).sort()).toEqual([`nslab-${name}.a`, `nslab-${name}.b`]);
      expect(readFileSync(recordOf(name), 'utf8')).toBe(before);
      expect((await nslab(['exec', name, 'a', '--', 'ping', '-c1', '-W2', '10.0.0.2'])).code).toBe(0);
    } finally {
      await downAndCheck(name);
    }
  });

  rootIt('environment errors exit 3 and create nothing: not root, a tool missing', async () => {
    const name = `${RUN}-z`;
    const file = labFile(name);
    // a tool missing: PATH without ip, tcpdump, ...
    const noTools = { PATH: '/nonexistent' };
    const t = await nslab(['test', file], { env: noTools });
    expect(t.code).toBe(3);
    expect(t.stderr).toMatch(/'ip' is not installed/);
    const dj = await nslab(['doctor', '--json'], { env: noTools });
    expect(dj.code).toBe(3);
    expect(JSON.parse(dj.stdout)).toMatchObject({ ok: false, tools: { ip: null } });
    // not root (setpriv from util-linux, which nslab needs anyway for nsenter)
    const asNobody = (args: string[]) =>
      spawnP('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, ...args], {
        cleanEnv: true,
        env: { PATH: process.env.PATH!, HOME: '/', FORCE_COLOR: '0' },
      });
    // doctor as nobody: fine where `nslab test` can run rootless (test/integration/rootless-doctor.test.ts), exit 3
    // where not
    const rootlessOk =
      spawnSync('setpriv', [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'unshare',
        '--user',
        '--map-current-user',
        '--net',
        'true',
      ]).status === 0;
    expect((await asNobody(['doctor'])).code).toBe(rootlessOk ? 0 : 3);
    // up without root: a rootless lab where user namespaces allow one (test/integration/rootless-labs.test.ts),
    // else exit 3 saying why
    if (!rootlessOk) {
      const up = await asNobody(['up', 'labs/dual-nic-reply-path.yaml', '--instance', id()]);
      expect(up.code).toBe(3);
      expect(up.stderr).toMatch(/needs an unprivileged user namespace/);
    }
    // without root, the verbs act on the user's own (rootless) labs: root's lab is not one of them
    expect((await asNobody(['cleanup', `${name}`])).code).toBe(0);
    for (const verb of [['down', name], ['exec', name, 'a', '--', 'true'], ['ls']]) {
      const r = await asNobody(verb);
      expect(r.stderr, verb.join(' ')).not.toMatch(/internal error| {4}at /);
      if (verb[0] !== 'ls') expect(r.code, verb.join(' ')).toBe(2);
    }
    expect((await asNobody(['--version'])).code).toBe(0);
    expect(namespaces(`nslab-${name}`)).toEqual([]);
  });

  it('a reader that stops early is no error: validate | head', () => {
    const many = Array.from({ length: 400 }, () => 'labs/').join(' ');
    const r = spawnSync('bash', ['-c', `node ${CLI} validate ${many} | head -1; echo "status \${PIPESTATUS[0]}" >&2`], {
      encoding: 'utf8',
    });
    expect(r.stdout).toMatch(/^ok labs\/dual-nic-reply-path-v6\.yaml/);
    expect(r.stderr).toBe('status 0\n');
  });

  // Was a bug: the record kept the lab file path as given to `up` (relative), and `check`
  // re-read it from its own working directory, grading against another directory's lab.yaml.
  rootIt(
    'check from another directory grades the lab against its own file (up was given a relative path)',
    async () => {
      const name = `${RUN}-r`;
      const upDir = dir();
      labFile(name, { dir: upDir, file: 'lab.yaml' });
      const otherDir = dir();
      labFile(`${RUN}-o`, {
        dir: otherDir,
        file: 'lab.yaml',
        stages:
          'stages:\n  - name: base\n    tests:\n      - { name: another lab test, exec: { node: a, command: "true" }, expect: { exit: 0 } }\n',
      });
      const i = id();
      const inst = `${name}.${i}`;
      try {
        expect((await nslab(['up', 'lab.yaml', '--instance', i], { cwd: upDir })).code).toBe(0);
        for (const cwd of [otherDir, process.cwd(), upDir]) {
          const c = await nslab(['check', inst, '--artifacts', dir()], { cwd });
          expect(c.stdout, cwd).toMatch(`✗ ${name} › base › wrong on purpose`);
          expect(c.code, cwd).toBe(1);
        }
      } finally {
        await downAndCheck(inst);
      }
    },
  );

  // Was a bug: a shell killed by a signal exited 0 (success).
  rootIt('shell killed by a signal exits 128+signal, not 0', async () => {
    const name = `${RUN}-s`;
    const i = id();
    const inst = `${name}.${i}`;
    try {
      expect((await nslab(['up', labFile(name), '--instance', i])).code).toBe(0);
      expect((await nslab(['shell', inst, 'a'], { input: 'kill -KILL $$\n' })).code).toBe(137);
    } finally {
      await downAndCheck(inst);
    }
  });

  // The shipped CLI judges negative verdicts by the lab's wait rule (or the test's own timeout), and says which
  rootIt(
    'test waits as long as the rule says for "no reply", or as the test says; a slow answer within it counts',
    async () => {
      const r = await nslab(['test', 'test/fixtures/labs/waits.yaml', '--reporter', 'json']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const tests = (
        JSON.parse(r.stdout) as { labs: { tests: { name: string; status: string; facts: Record<string, string> }[] }[] }
      ).labs[0]!.tests;
      expect(tests.map((t) => t.status)).toEqual(tests.map(() => 'passed'));
      const fact = (n: string) => tests.find((t) => t.name === n)!.facts.wait;
      expect(fact("pass: an address nobody has: no reply, after the rule's wait")).toMatch(
        /^waited \d+ ms \(100 ms \+ 10 x [\d.]+ ms measured\)$/,
      );
      expect(fact("pass: v6: an address nobody has: no reply, after the rule's wait")).toMatch(
        /^waited \d+ ms \(100 ms \+ 10 x [\d.]+ ms measured\)$/,
      );
      expect(fact('pass: a timeout shorter than its answer misses it')).toBe("waited 100ms (the test's timeout)");
      // answered: nothing waited for in vain
      expect(fact('pass: a lab service answering after 300 ms is answered')).toBeUndefined();
    },
  );

  // The shipped CLI (its bundled probe agents and marker senders) on the review's fixtures: tests side by side on
  // one listener, a tcp test whose SYN never leaves, throughput over a slow link, and a node whose output policy is
  // drop; every "pass:" passes and every other fails on its assertion, never on an error
  for (const fixture of ['side-by-side', 'hardened-output'])
    rootIt(`test ${fixture}.yaml: each twin judged as its name says`, async () => {
      const r = await nslab(['test', `test/fixtures/labs/${fixture}.yaml`, '--reporter', 'json']);
      expect(r.code, r.stderr).toBe(1); // its "fail:" and "dies:" twins fail
      const tests = (JSON.parse(r.stdout) as { labs: { tests: { name: string; status: string; reason?: string }[] }[] })
        .labs[0]!.tests;
      expect(tests.length).toBeGreaterThan(10);
      for (const t of tests) {
        expect(t.status, `${t.name}: ${t.reason ?? ''}`).toBe(t.name.startsWith('pass') ? 'passed' : 'failed');
        expect(t.reason, t.name).toBeUndefined();
      }
    });

  // Was a bug: a command killed by any signal but SIGINT was reported as SIGTERM (143).
  rootIt('exec of a command killed by SIGKILL exits 137, not 143', async () => {
    const name = `${RUN}-k9`;
    const i = id();
    const inst = `${name}.${i}`;
    try {
      expect((await nslab(['up', labFile(name), '--instance', i])).code).toBe(0);
      expect((await nslab(['exec', inst, 'a', '--', 'sh', '-c', 'kill -KILL $$'])).code).toBe(137);
    } finally {
      await downAndCheck(inst);
    }
  });
});

// A good neighbour on a shared machine: nslab touches only what it can prove it
// owns. Every test here creates its own labs (unique names), uses the default
// state directory the way users do, and cleans up only by its own names.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/engine/lab.js';
import { loadLab } from '../../src/lab/resolve.js';
import { CLI, cli, etcNetns, isRoot, namespaces, sh, sleep, STATE_DIR, tempDir, uid } from './helpers.js';

function labFile(text: string): string {
  const f = join(tempDir(), 'lab.yaml');
  writeFileSync(f, text);
  return f;
}

// the labs this file brings up from pair(): any still up when the file ends (a test that failed half-way) is taken down
const paired: string[] = [];
afterAll(() => {
  for (const name of paired) if (existsSync(join(STATE_DIR, `${name}.json`))) cli(['down', name]);
});
/** A two-node lab file, its name remembered so that the lab is taken down at the end if a test left it up. */
function pair(name: string, a = 'a', b = 'b', extra = ''): string {
  paired.push(name);
  return labFile(
    `name: ${name}\nnodes:\n  ${a}: { interfaces: { eth0: 10.9.0.1/24 }${extra} }\n  ${b}: { interfaces: { eth0: 10.9.0.2/24 } }\nlinks: [${a}:eth0 ${b}:eth0]\n`,
  );
}

/** Pids of processes whose command line contains this word. */
function pidsWith(word: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x)))
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(word)) out.push(Number(d));
    } catch {
      /* gone */
    }
  return out;
}

/** Processes living in one of these network namespaces (by inode). */
function processesInInodes(inodes: Set<number>): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc').filter((x) => /^\d+$/.test(x)))
    try {
      const m = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/net`));
      if (m && inodes.has(Number(m[1]))) out.push(Number(d));
    } catch {
      /* gone */
    }
  return out;
}

const pingOk = (instance: string, node: string, to: string) =>
  cli(['exec', instance, node, '--', 'ping', '-c1', '-W2', to]).code === 0;

describe.skipIf(!isRoot)('nothing of anyone else is touched', () => {
  it('a lab left up on purpose survives cleanup, even one that names it', () => {
    const name = `bys${uid()}`;
    expect(cli(['up', pair(name)]).code).toBe(0);
    try {
      const r = cli(['cleanup', name, `${name}*`]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/nothing to clean up/);
      expect(namespaces(`nslab-${name}.`)).toHaveLength(2);
      expect(pingOk(name, 'a', '10.9.0.2')).toBe(true);
    } finally {
      expect(cli(['down', name]).code).toBe(0);
    }
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('a lab owned by a live process survives cleanup, and down --all of its state directory', async () => {
    const name = `live${uid()}`;
    // its own state directory: `down --all` in the default one would take down every lab left up on this machine
    const dir = tempDir();
    const saved = process.env.NSLAB_STATE_DIR;
    process.env.NSLAB_STATE_DIR = dir;
    const lab = await Lab.up(loadLab(pair(name)), { status: 'testing' }); // owned by this (live) test process
    try {
      expect(cli(['cleanup', name], { NSLAB_STATE_DIR: dir }).stdout).toMatch(/nothing to clean up/);
      expect(cli(['down', '--all'], { NSLAB_STATE_DIR: dir }).stdout).toMatch(new RegExp(`left alone: lab '${name}'`));
      expect(namespaces(`nslab-${name}.`)).toHaveLength(2);
    } finally {
      await lab.down();
      process.env.NSLAB_STATE_DIR = saved;
      if (saved === undefined) delete process.env.NSLAB_STATE_DIR;
    }
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('two labs whose lab and node names would run together get distinct namespaces', () => {
    const u = uid();
    // before: lab 'coll' + node 'x-y' and lab 'coll-x' + node 'y' both became nslab-coll-x-y
    const one = pair(`coll${u}`, 'x-y', 'z');
    const two = pair(`coll${u}-x`, 'y', 'z');
    expect(cli(['up', one]).code).toBe(0);
    try {
      const r = cli(['up', two]);
      expect(r.code, r.stderr).toBe(0);
      expect(namespaces(`nslab-coll${u}.`).sort()).toEqual([`nslab-coll${u}.x-y`, `nslab-coll${u}.z`]);
      expect(namespaces(`nslab-coll${u}-x.`).sort()).toEqual([`nslab-coll${u}-x.y`, `nslab-coll${u}-x.z`]);
      expect(cli(['down', `coll${u}-x`]).code).toBe(0);
      expect(pingOk(`coll${u}`, 'x-y', '10.9.0.2')).toBe(true);
    } finally {
      cli(['down', `coll${u}-x`]);
      expect(cli(['down', `coll${u}`]).code).toBe(0);
    }
  });

  it('an instance up under another state directory is refused, and its namespaces are left alone', () => {
    const name = `other${uid()}`;
    const file = pair(name);
    const elsewhere = { NSLAB_STATE_DIR: tempDir() };
    expect(cli(['up', file], elsewhere).code).toBe(0);
    try {
      const r = cli(['up', file]); // the default state directory has no record of it
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/already exists/);
      expect(existsSync(join(STATE_DIR, `${name}.json`))).toBe(false);
      expect(namespaces(`nslab-${name}.`)).toHaveLength(2);
      const c = cli(['cleanup', name]); // no record here proves it dead: listed, not removed
      expect(c.stdout).toMatch(/left alone: 2 nslab namespaces/);
      expect(namespaces(`nslab-${name}.`)).toHaveLength(2);
    } finally {
      expect(cli(['down', name], elsewhere).code).toBe(0);
    }
  });

  it('a table-name directory in /etc/netns that nslab did not make refuses up, creates nothing, and is left as it was; cleanup lists it', () => {
    const name = `etc${uid()}`;
    const file = pair(name, 'a', 'b', ', tables: { t1: 101 }');
    const theirs = `/etc/netns/nslab-${name}.a`;
    mkdirSync(`${theirs}/iproute2`, { recursive: true });
    writeFileSync(`${theirs}/iproute2/rt_tables`, '7 someone-elses\n');
    try {
      const r = cli(['up', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/\/etc\/netns\/nslab-etc\w+\.a already exists/);
      expect(namespaces(`nslab-${name}.`)).toEqual([]);
      expect(existsSync(join(STATE_DIR, `${name}.json`))).toBe(false);
      expect(readFileSync(`${theirs}/iproute2/rt_tables`, 'utf8')).toBe('7 someone-elses\n');
      const c = cli(['cleanup', name]);
      expect(c.stdout).toMatch(/left alone: 1 directories in \/etc\/netns/);
      expect(existsSync(`${theirs}/iproute2/rt_tables`)).toBe(true);
    } finally {
      rmSync(theirs, { recursive: true, force: true });
    }
    // the twin: without it, the same lab comes up with its names, and down removes them
    expect(cli(['up', file]).code).toBe(0);
    expect(etcNetns(`nslab-${name}.`)).toEqual([`nslab-${name}.a`]);
    expect(cli(['down', name]).code).toBe(0);
    expect(etcNetns(`nslab-${name}.`)).toEqual([]);
  });

  it('cleanup with no state directory yet has nothing to clean, and says so', () => {
    const r = cli(['cleanup', `none${uid()}`], { NSLAB_STATE_DIR: join(tempDir(), 'never-made') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/nothing to clean up/);
  });

  it('a planted or damaged state file is never acted on', async () => {
    const u = uid();
    const victimNs = `nslab-victim${u}.n`;
    sh(['ip', 'netns', 'add', victimNs]);
    const victim = spawn('sleep', [`7${u.replace(/\D/g, '').padEnd(5, '1').slice(0, 5)}`], { stdio: 'ignore' });
    const inst = `plant${u}`;
    const file = join(STATE_DIR, `${inst}.json`);
    try {
      // a record that names a namespace its instance does not yield, a foreign pid, and a dead owner
      writeFileSync(
        file,
        JSON.stringify({
          version: 1,
          instance: inst,
          lab: inst,
          file: '/dev/null',
          status: 'creating',
          owner: { pid: 999999, start: '1' },
          createdAt: new Date().toISOString(),
          namespaces: [{ node: 'n', ns: victimNs }],
          services: [{ node: 'n', name: 's', pid: victim.pid, start: '1', log: '/etc/passwd' }],
          stages: [],
          logDir: join(STATE_DIR, 'logs', inst),
        }),
        { mode: 0o600 },
      );
      const c = cli(['cleanup', inst]);
      expect(c.stdout).toMatch(/ignored .*not a valid nslab record/);
      expect(cli(['down', inst]).code).toBe(2);
      expect(namespaces(victimNs)).toEqual([victimNs]);
      expect(victim.exitCode).toBeNull();
      expect(existsSync(file)).toBe(true); // not ours to delete either
      // names are names, never paths into the state directory
      const evil = cli(['down', '../../../../tmp/evil']);
      expect(evil.code).toBe(2);
      expect(evil.stderr).toMatch(/neither a lab file nor a lab or instance name/);
    } finally {
      victim.kill();
      sh(['rm', '-f', file]);
      sh(['ip', 'netns', 'del', victimNs]);
    }
  });
});

describe.skipIf(!isRoot)("nothing is left: a lab's processes are those in its namespaces", () => {
  it('down stops a service that forks and daemonizes, not only the pid it started', () => {
    const name = `fork${uid()}`;
    const tag = `86${Math.floor(Math.random() * 9000 + 1000)}`;
    const svc = `, services: [{ name: d, command: [sh, -c, "setsid sleep ${tag}1 & sleep ${tag}2 & exec sleep ${tag}3"] }]`;
    expect(cli(['up', pair(name, 'a', 'b', svc)]).code).toBe(0);
    const words = [`${tag}1`, `${tag}2`, `${tag}3`];
    for (let t = 0; t < 200 && words.some((w) => !pidsWith(w).length); t++) sh(['sleep', '0.05']);
    expect(words.map((w) => pidsWith(w).length)).toEqual([1, 1, 1]);
    expect(cli(['down', name]).code).toBe(0);
    expect(words.flatMap(pidsWith)).toEqual([]);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('down INSTANCE (the fast path of the entry) stops what a user started by hand in a node, which no record names', async () => {
    const name = `hand${uid()}`;
    const tag = `87${Math.floor(Math.random() * 9000 + 1000)}`;
    expect(cli(['up', pair(name)]).code).toBe(0);
    const p = spawn('ip', ['netns', 'exec', `nslab-${name}.b`, 'sleep', tag], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let said = '';
    p.stderr.setEncoding('utf8').on('data', (d: string) => (said += d));
    let exited: number | null | undefined;
    p.on('exit', (code) => (exited = code));
    p.unref();
    // waited for by what runs (a loaded CI machine may take seconds), without blocking this process
    for (let t = 0; t < 200 && !pidsWith(tag).length && exited === undefined; t++) await sleep(50);
    expect(pidsWith(tag), `ip netns exec: exit ${exited}, ${said}`).toHaveLength(1);
    const r = cli(['down', name]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`down lab '${name}' (2 namespaces)\n`);
    expect(pidsWith(tag)).toEqual([]);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('SIGKILL of nslab test in the middle of a probe, then cleanup of that instance: no namespace, process or scratch file left', async () => {
    const name = `kt${uid()}`;
    const file = labFile(
      `name: ${name}\nnodes:\n  a: { interfaces: { eth0: 10.9.0.1/24 } }\n  b: { interfaces: { eth0: 10.9.0.2/24 }, nftables: "table inet f {\\n chain i {\\n type filter hook input priority 0;\\n tcp dport 4444 drop\\n }\\n}\\n" }\nlinks: [a:eth0 b:eth0]\n` +
        `stages:\n  - name: s\n    tests:\n      - { name: slow, tcp: { from: a, to: 10.9.0.2, port: 4444, timeout: 20s }, expect: { connected: timeout } }\n`,
    );
    const child: ChildProcess = spawn('node', [CLI, 'test', file], { stdio: 'ignore' });
    // wait until the probe runs: the probe agents of both nodes (a's connects, and waits 20 s for an
    // answer) and the captures are inside the lab
    let inodes = new Set<number>();
    const running = (word: string) =>
      processesInInodes(inodes).filter((p) => {
        try {
          return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(word);
        } catch {
          return false;
        }
      }).length;
    for (let t = 0; t < 600 && (running('helper.js') < 2 || running('tcpdump') < 2); t++) {
      inodes = new Set(namespaces(`nslab-${name}.`).map((n) => statSync(`/run/netns/${n}`).ino));
      await sleep(20);
    }
    expect(running('helper.js')).toBe(2);
    expect(running('tcpdump')).toBe(2);
    await sleep(300); // the connect is under way: it waits 20 s
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    const instance = namespaces(`nslab-${name}.`)[0]!.split('.').slice(0, 2).join('.').slice('nslab-'.length);
    const r = cli(['cleanup', instance]);
    expect(r.stdout).toMatch(new RegExp(`removed lab '${instance}'`));
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
    expect(processesInInodes(inodes)).toEqual([]);
    expect(existsSync(join(STATE_DIR, `${instance}.json`))).toBe(false);
  }, 30_000);
});

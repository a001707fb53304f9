// Files per node (issue 20), through the shipped CLI: a daemon with fixed paths (/etc/twind/twind.conf,
// /run/twind.pid) runs in two nodes of one lab, each with its own configuration and pid file
// (examples/files/twind.yaml); /run is each node's own; nothing of it is left on the machine after down, a
// failed up, or an up killed outright (then cleanup). Each lab here has a private state directory: its
// mount namespace files are there, and its cleanup touches nothing of anyone else's.
import { spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../src/api/index.js';
import { CLI, cli, isRoot, namespaces, sleep, tempDir, uid } from './helpers.js';

const TWIND = 'examples/files/twind.yaml';

/** What a lab of this state directory left: mounts under it, mount namespace files, namespaces. */
function left(state: string, prefix: string) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(` ${state}/`));
  const mnt = existsSync(join(state, 'mnt')) ? readdirSync(join(state, 'mnt')) : [];
  return { mounts, mnt, namespaces: namespaces(prefix) };
}
const nothing = { mounts: [], mnt: [], namespaces: [] };

/** The twind lab under another name (instances of one lab file may run in parallel in the suite). */
function twind(dir: string, name: string, edit = (s: string) => s): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, edit(readFileSync(TWIND, 'utf8').replace(/^name: twind$/m, `name: ${name}`)));
  return file;
}

describe.skipIf(!isRoot)('files per node', () => {
  it('one daemon with fixed paths in two nodes: each answers with its own configuration (a stage rewrites one)', () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twind${uid()}`;
    const r = cli(['test', twind(dir, name)], env);
    expect(r.stdout + r.stderr).toMatch(/^5 passed, 0 failed$/m);
    expect(r.code).toBe(0);
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
    expect(existsSync('/etc/twind'), "the nodes' folder is not the machine's").toBe(false);
    // the twin: expecting a's configuration from b's daemon fails (each reads its own, not one shared file)
    const swapped = twind(dir, `${name}x`, (s) =>
      s.replace("'^greeting: I am b\\n$'", () => "'^greeting: I am a\\n$'"),
    );
    const t = cli(['test', swapped], env);
    expect(t.stdout).toMatch(/✗ .*base › b's twind answers with b's configuration/);
    expect(t.stdout).toMatch(/^4 passed, 1 failed$/m);
    expect(t.code).toBe(1);
  }, 180_000);

  it("/run is each node's own: a file written in a's /run is seen in a, not in b nor on the machine; down leaves nothing", () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twinr${uid()}`;
    const up = cli(['up', twind(dir, name), '--instance', 'r'], env);
    expect(up.code, up.stderr).toBe(0);
    const inst = `${name}.r`;
    const probe = `/run/nslab-files-probe-${uid()}`;
    try {
      expect(cli(['exec', inst, 'a', '--', 'sh', '-c', `echo a > ${probe}`], env).code).toBe(0);
      const a = cli(['exec', inst, 'a', '--', 'cat', probe], env);
      expect(a.stdout).toBe('a\n'); // is: a sees its own
      expect(cli(['exec', inst, 'b', '--', 'test', '-e', probe], env).code).toBe(1); // is not: b does not
      expect(existsSync(probe)).toBe(false); // nor the machine
      // each node's daemon wrote its pid file at the same path: two files, two pids
      const pids = ['a', 'b'].map((n) => cli(['exec', inst, n, '--', 'cat', '/run/twind.pid'], env).stdout.trim());
      expect(pids.every((p) => /^\d+$/.test(p))).toBe(true);
      expect(pids[0]).not.toBe(pids[1]);
      // the node's files, and its view of /sys (its own interfaces)
      expect(cli(['exec', inst, 'b', '--', 'cat', '/etc/twind/twind.conf'], env).stdout).toBe('greeting: I am b\n');
      expect(cli(['exec', inst, 'b', '--', 'stat', '-c', '%a %U', '/etc/twind/twind.conf'], env).stdout).toBe(
        '640 root\n',
      );
      expect(cli(['exec', inst, 'a', '--', 'ls', '/sys/class/net'], env).stdout).toBe('eth0\nlo\n');
      expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`).mounts.length).toBeGreaterThan(0); // is: there while up
    } finally {
      expect(cli(['down', inst], env).code).toBe(0);
    }
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing); // is not: gone after down
  }, 120_000);

  it('a failed up leaves nothing (its service exits at once, after the nodes have their files)', () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twinf${uid()}`;
    const file = twind(dir, name, (s) => s.replace("if (fs.existsSync('/run/twind.pid'))", 'if (true)'));
    const r = cli(['up', file], env);
    expect(r.stderr).toMatch(/twind: already running/);
    expect(r.code).not.toBe(0);
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
  }, 120_000);

  it('an up killed outright (SIGKILL) once the nodes have their mount namespaces: cleanup removes everything', async () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twink${uid()}`;
    // ready never comes: the up waits there, its nodes made
    const file = twind(dir, name, (s) =>
      s.replace('ready: { tcp: 7100, timeout: 5s }', 'ready: { tcp: 7199, timeout: 60s }'),
    );
    const child = spawn('node', [CLI, 'up', file], { env: { ...process.env, ...env }, stdio: 'ignore' });
    const t0 = Date.now();
    while (left(env.NSLAB_STATE_DIR, `nslab-${name}.`).mounts.length < 4 && Date.now() - t0 < 60_000) await sleep(100);
    await sleep(300);
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const before = left(env.NSLAB_STATE_DIR, `nslab-${name}.`);
    expect(before.mounts.length, 'is: the killed up left its mounts').toBeGreaterThanOrEqual(4);
    expect(before.mnt.length).toBe(2);
    const c = cli(['cleanup'], env);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/removed lab/);
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`), 'is not: cleanup removed them').toEqual(nothing);
  }, 120_000);

  it('bad files: located errors, exit 2, nothing created', () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twinv${uid()}`;
    const file = join(dir, 'bad.yaml');
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.76.1.1/24 }
    files:
      etc/x.conf: relative
      /etc/../x.conf: dots
      /proc/sys/x: kernel
      /x.conf: top
  b: { interfaces: { eth0: 10.76.1.2/24 } }
links: [a:eth0 b:eth0]
`,
    );
    const r = cli(['up', file], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml:6:\d+: .*'etc\/x\.conf' is not an absolute path/);
    expect(r.stderr).toMatch(/bad\.yaml:7:\d+: .*has an empty, '\.' or '\.\.' part/);
    expect(r.stderr).toMatch(/bad\.yaml:8:\d+: .*is in \/proc/);
    expect(r.stderr).toMatch(/bad\.yaml:9:\d+: .*directly in \//);
    // the schema's own: a mode that is no octal string
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('/proc/sys/x: kernel', "/etc/y.conf: { content: y, mode: '999' }"),
    );
    const m = cli(['up', file], env);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/bad\.yaml:8:\d+: mode is an octal string such as '0644'/);
    // an owner the machine does not know: found at up, before anything exists
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.76.1.1/24 }
    files:
      /etc/x.conf: { content: x, owner: nslab-no-such-user }
  b: { interfaces: { eth0: 10.76.1.2/24 } }
links: [a:eth0 b:eth0]
`,
    );
    const o = cli(['up', file], env);
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(/bad\.yaml:6:\d+: .*owner 'nslab-no-such-user' does not exist on this machine/);
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
    // the twin: a good owner comes up
    writeFileSync(file, readFileSync(file, 'utf8').replace('nslab-no-such-user', 'nobody'));
    const g = cli(['up', file], env);
    expect(g.code, g.stderr).toBe(0);
    expect(cli(['down', name], env).code).toBe(0);
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
  }, 120_000);

  it("a link that appears on the machine after up is never followed by a stage's file; an overlaid folder keeps its mode and owner", async () => {
    const dir = tempDir();
    const state = join(dir, 'state');
    const name = `twinl${uid()}`;
    const app = `/tmp/nslab-app-${uid()}`; // absent at up: /tmp is overlaid for it
    const away = `/var/tmp/nslab-away-${uid()}`; // where a link on the machine would take the stage's file
    const own = `/tmp/nslab-own-${uid()}`; // a folder of nobody's, mode 750: overlaid for its file
    mkdirSync(away);
    mkdirSync(own, { mode: 0o750 });
    chownSync(own, 65534, 65534);
    const file = join(dir, `${name}.yaml`);
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.76.2.1/24 }
    files:
      ${own}/sub/x.conf: own
  b: { interfaces: { eth0: 10.76.2.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: s2
    apply:
      a:
        files:
          ${app}/x.conf: staged
  - name: s3
    apply:
      a:
        files:
          ${app}2/x.conf: staged
`,
    );
    const saved = process.env.NSLAB_STATE_DIR;
    process.env.NSLAB_STATE_DIR = state;
    const env = { NSLAB_STATE_DIR: state };
    try {
      const lab = await Lab.up(pathToFileURL(file));
      try {
        const inA = (...argv: string[]) => cli(['exec', lab.instance, 'a', '--', ...argv], env).stdout;
        // the overlaid folders' mode and owner are the machine's: /tmp's (1777 root) and own's (750 nobody)
        const host = spawnSync('stat', ['-c', '%a %U', '/tmp', own], { encoding: 'utf8' }).stdout;
        expect(host).toMatch(/^1777 root\n750 nobody\n$/);
        expect(inA('stat', '-c', '%a %U', '/tmp', own)).toBe(host);
        expect(inA('cat', `${own}/sub/x.conf`)).toBe('own');
        // someone makes a link on the machine: the overlay's lower layer is the live /tmp, so a sees it too
        symlinkSync(away, app);
        expect(inA('readlink', app)).toBe(`${away}\n`);
        await expect(lab.applyStage('s2')).rejects.toThrow(/is a link in the node: nslab never follows one/);
        expect(existsSync(join(away, 'x.conf')), 'is not: nothing written on the machine through the link').toBe(false);
        // the twin: a stage's file in another folder absent at up, with no link there: written in the node only
        await lab.applyStage('s3');
        expect(inA('cat', `${app}2/x.conf`)).toBe('staged');
        expect(existsSync(`${app}2`)).toBe(false);
      } finally {
        await lab.down();
      }
    } finally {
      if (saved === undefined) delete process.env.NSLAB_STATE_DIR;
      else process.env.NSLAB_STATE_DIR = saved;
      rmSync(app, { force: true });
      rmSync(`${app}2`, { recursive: true, force: true });
      rmSync(away, { recursive: true, force: true });
      rmSync(own, { recursive: true, force: true });
    }
    expect(left(state, `nslab-${name}.`)).toEqual(nothing);
  }, 120_000);

  it('files that cannot land are refused before anything exists: /etc/iproute2, under a file, a folder, one file by two names', () => {
    const dir = tempDir();
    const env = { NSLAB_STATE_DIR: join(dir, 'state') };
    const name = `twinw${uid()}`;
    const folder = `/tmp/nslab-folder-${uid()}`;
    const lnk = `/tmp/nslab-lnk-${uid()}`;
    mkdirSync(folder);
    symlinkSync('/etc', lnk);
    const file = join(dir, 'bad.yaml');
    const lab = (files: string) => `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.76.3.1/24 }
    files:
${files}
  b: { interfaces: { eth0: 10.76.3.2/24 } }
links: [a:eth0 b:eth0]
`;
    try {
      writeFileSync(
        file,
        lab(`      /etc/iproute2/rt_tables: "100 mine\\n"
      /etc/passwd/x: x
      ${folder}: x
      /etc/nslab-a-${name}.conf: one
      ${lnk}/nslab-a-${name}.conf: two`),
      );
      const r = cli(['up', file], env);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/bad\.yaml:6:\d+: .*is in \/etc\/iproute2/);
      expect(r.stderr).toMatch(/bad\.yaml:7:\d+: .*\/etc\/passwd is a file on this machine, not a folder/);
      expect(r.stderr).toMatch(/bad\.yaml:8:\d+: .*is a folder on this machine/);
      expect(r.stderr).toMatch(/bad\.yaml:10:\d+: .*is \/etc\/nslab-a-\S+ \(.*bad\.yaml:9:\d+\) by another name/);
      expect(r.stderr).not.toMatch(/^\S*bad\.yaml:9:/m);
      expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
      // the twin: a file in that folder, and the one file by one name, come up
      writeFileSync(file, lab(`      ${folder}/x: x\n      ${lnk}/nslab-a-${name}.conf: two`));
      const g = cli(['up', file], env);
      expect(g.code, g.stderr).toBe(0);
      expect(cli(['exec', name, 'a', '--', 'cat', `/etc/nslab-a-${name}.conf`], env).stdout).toBe('two');
      expect(cli(['down', name], env).code).toBe(0);
      expect(existsSync(`/etc/nslab-a-${name}.conf`)).toBe(false);
    } finally {
      rmSync(folder, { recursive: true, force: true });
      rmSync(lnk, { force: true });
    }
    expect(left(env.NSLAB_STATE_DIR, `nslab-${name}.`)).toEqual(nothing);
  }, 120_000);
});

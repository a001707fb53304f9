// Every verb that writes a file for the user, through the shipped CLI
// (dist/bin/main.js): a symbolic link at the file, or at a folder below the one
// the user named, is refused with exit 2 and the link's target is left as it
// was (content and mtime); the same command writes into a clean folder, into a
// folder reached through a link, and over an existing regular file.
// (test --artifacts and --html need root and a lab: test/integration/output-files.test.ts.)
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const CLI = 'dist/bin/main.js';
const LAB = 'labs/dual-nic-reply-path.yaml';
const FIX = 'with a routing table for eth1';
/** These tests start the CLI several times each, concurrently: on a loaded machine that takes a while. */
const SLOW = 120_000;
const HINT =
  '    hint: nslab does not write through symbolic links: remove the link, or name a folder that only you can write';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nslab-writers-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function nslab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A file someone cares about, with a known content and an mtime in the past. */
function victim(dir: string, name = 'victim'): { path: string; untouched: () => void } {
  const path = join(dir, name);
  writeFileSync(path, 'precious\n');
  const past = new Date('2020-01-02T03:04:05Z');
  utimesSync(path, past, past);
  return {
    path,
    untouched: () => {
      expect(readFileSync(path, 'utf8')).toBe('precious\n');
      expect(statSync(path).mtimeMs).toBe(past.getTime());
    },
  };
}

const WRITERS = [
  { verb: 'graph', args: ['graph', LAB], file: 'topology.svg', content: /^<svg|<\?xml/ },
  {
    verb: 'exercise',
    args: ['exercise', LAB],
    file: 'students.yaml',
    content: /^# nslab exercise made from dual-nic-reply-path\.yaml/,
  },
  { verb: 'snapshot', args: ['snapshot'], file: 'machine.json', content: /^\{\n "nslab-snapshot": 1,/ },
  {
    verb: 'import',
    args: ['import', 'docs/examples/dual-nic-server.snapshot.json'],
    file: 'lab.yaml',
    content: /^# made by nslab import /,
  },
];

describe.concurrent('-o FILE: graph, exercise, snapshot, import', () => {
  for (const w of WRITERS) {
    it(
      `${w.verb} -o: a link at the file is refused (exit 2), its target untouched`,
      async () => {
        const d = tmp();
        const v = victim(d);
        const out = join(d, w.file);
        symlinkSync(v.path, out);
        const r = await nslab([...w.args, '-o', out]);
        expect(r.code, r.stderr).toBe(2);
        expect(r.stderr).toBe(`nslab: cannot write ${out}: it is a symbolic link (to ${v.path})\n${HINT}\n`);
        v.untouched();
        expect(lstatSync(out).isSymbolicLink()).toBe(true);
        expect(readdirSync(d).sort()).toEqual([w.file, 'victim'].sort());
      },
      SLOW,
    );

    it(
      `${w.verb} -o: written into a clean folder, into a folder that is a link (honoured), over an existing file`,
      async () => {
        const d = tmp();
        const clean = await nslab([...w.args, '-o', join(d, w.file)]);
        expect(clean.code, clean.stderr).toBe(0);
        expect(readFileSync(join(d, w.file), 'utf8')).toMatch(w.content);
        // the folder of FILE is the one the user named: a link to a folder is followed there
        mkdirSync(join(d, 'real'));
        symlinkSync(join(d, 'real'), join(d, 'via-link'));
        const linked = await nslab([...w.args, '-o', join(d, 'via-link', w.file)]);
        expect(linked.code, linked.stderr).toBe(0);
        expect(readFileSync(join(d, 'real', w.file), 'utf8')).toMatch(w.content);
        // an existing regular file is replaced (renamed over: a new inode), no temporary file left
        writeFileSync(join(d, 'real', w.file), 'old\n');
        const ino = statSync(join(d, 'real', w.file)).ino;
        const again = await nslab([...w.args, '-o', join(d, 'real', w.file)]);
        expect(again.code, again.stderr).toBe(0);
        expect(readFileSync(join(d, 'real', w.file), 'utf8')).toMatch(w.content);
        expect(statSync(join(d, 'real', w.file)).ino).not.toBe(ino);
        expect(readdirSync(join(d, 'real'))).toEqual([w.file]);
      },
      SLOW,
    );
  }

  it('-o into a folder that does not exist: a clear refusal, nothing created', async () => {
    const d = tmp();
    const r = await nslab(['graph', LAB, '-o', join(d, 'nope/g.svg')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(`nslab: cannot write ${join(d, 'nope/g.svg')}: ${join(d, 'nope')}: no such folder`);
    expect(readdirSync(d)).toEqual([]);
  });

  it('a dangling link at -o FILE: refused, nothing created where it points', async () => {
    const d = tmp();
    symlinkSync(join(d, 'made-through-the-link'), join(d, 'g.svg'));
    const r = await nslab(['graph', LAB, '-o', join(d, 'g.svg')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      `nslab: cannot write ${join(d, 'g.svg')}: it is a symbolic link (to ${join(d, 'made-through-the-link')})`,
    );
    expect(readdirSync(d)).toEqual(['g.svg']);
  });

  it('-o on a device is refused, never replaced (graph -o /dev/null)', async () => {
    const r = await nslab(['graph', LAB, '--format', 'dot', '-o', '/dev/null']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch('nslab: cannot write /dev/null: it is a device');
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
  });
});

describe.concurrent('export -o DIR', () => {
  const args = ['export', LAB, '--node', 'server', '--stage', FIX, '--format', 'netplan'];
  const NETPLAN = 'etc/netplan/90-nslab-dual-nic-reply-path.yaml';
  const TABLES = 'etc/iproute2/rt_tables.d/nslab-dual-nic-reply-path.conf';

  it(
    'a link at a folder below DIR (DIR/etc -> a folder elsewhere) is refused, nothing written anywhere',
    async () => {
      const d = tmp();
      const etc = join(d, 'their-etc');
      mkdirSync(join(etc, 'netplan'), { recursive: true });
      const v = victim(join(etc, 'netplan'), '90-nslab-dual-nic-reply-path.yaml');
      mkdirSync(join(d, 'out'));
      symlinkSync(etc, join(d, 'out/etc'));
      const r = await nslab([...args, '-o', join(d, 'out')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `nslab: cannot write ${join(d, 'out', NETPLAN)}: ${join(d, 'out/etc')} is a symbolic link (to ${etc})\n${HINT}\n`,
      );
      expect(r.stdout).toBe('');
      v.untouched();
      expect(readdirSync(etc)).toEqual(['netplan']);
      // a link deeper down, met only at the second file: the first is not written either
      rmSync(join(d, 'out/etc'));
      mkdirSync(join(d, 'out/etc'));
      symlinkSync(etc, join(d, 'out/etc/iproute2'));
      const deeper = await nslab([...args, '-o', join(d, 'out')]);
      expect(deeper.code).toBe(2);
      expect(deeper.stderr).toMatch(`${join(d, 'out/etc/iproute2')} is a symbolic link (to ${etc})`);
      expect(readdirSync(join(d, 'out/etc'))).toEqual(['iproute2']);
      v.untouched();
    },
    SLOW,
  );

  it(
    'a link at a file is refused, its target untouched, nothing written',
    async () => {
      const d = tmp();
      const v = victim(d);
      mkdirSync(join(d, 'out/etc/iproute2/rt_tables.d'), { recursive: true });
      symlinkSync(v.path, join(d, 'out', TABLES));
      const r = await nslab([...args, '-o', join(d, 'out')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(
        `nslab: cannot write ${join(d, 'out', TABLES)}: it is a symbolic link (to ${v.path})\n${HINT}\n`,
      );
      v.untouched();
      expect(existsSync(join(d, 'out/etc/netplan'))).toBe(false);
    },
    SLOW,
  );

  it(
    'writes into a clean DIR and into a DIR that is a link (honoured), with the modes of the format, replacing old files',
    async () => {
      const d = tmp();
      const clean = await nslab([...args, '-o', join(d, 'clean')]);
      expect(clean.code, clean.stderr).toBe(0);
      expect(clean.stdout).toBe(`${join(d, 'clean', NETPLAN)}\n${join(d, 'clean', TABLES)}\n`);
      expect(statSync(join(d, 'clean', NETPLAN)).mode & 0o777).toBe(0o600);
      expect(statSync(join(d, 'clean', TABLES)).mode & 0o777).toBe(0o644);
      mkdirSync(join(d, 'real'));
      symlinkSync(join(d, 'real'), join(d, 'link'));
      writeFileSync(join(d, 'real/stale'), 'x');
      const linked = await nslab([...args, '-o', join(d, 'link')]);
      expect(linked.code, linked.stderr).toBe(0);
      expect(readFileSync(join(d, 'real', NETPLAN), 'utf8')).toBe(readFileSync(join(d, 'clean', NETPLAN), 'utf8'));
      // again over the files of the first run: replaced, with their modes
      writeFileSync(join(d, 'real', NETPLAN), 'old', { mode: 0o644 });
      const again = await nslab([...args, '-o', join(d, 'link')]);
      expect(again.code, again.stderr).toBe(0);
      expect(readFileSync(join(d, 'real', NETPLAN), 'utf8')).toBe(readFileSync(join(d, 'clean', NETPLAN), 'utf8'));
      expect(statSync(join(d, 'real', NETPLAN)).mode & 0o777).toBe(0o600);
    },
    SLOW,
  );

  it("never the machine's own /, also through a link to it", async () => {
    const d = tmp();
    symlinkSync('/', join(d, 'root'));
    for (const o of ['/', join(d, 'root')]) {
      const r = await nslab([...args, '-o', o]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(`-o ${o} is the machine's own root`);
    }
  });
});

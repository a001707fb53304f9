// The files a run writes into folders the user names (issue 17): report.json,
// junit.xml, report.html and the failures' pcaps of `nslab test --artifacts DIR`
// and `--html DIR`, of `nslab check`, and the pcaps of the test API. A symbolic
// link planted at a file or at a folder below DIR is refused (exit 2, the link's
// target untouched: content and mtime); the same run writes into a clean folder
// and into a DIR that is itself a link. Drives the shipped CLI (dist/bin/main.js).
//
// Safe on a shared machine: labs of its own (ow<random>-...), only ever taken
// down by their instance names, checked gone at the end.
import { spawn } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/api/index.js';
import { matchers } from '../../src/api/matchers.js';
import { CLI, etcNetns, isRoot, namespaces, sleep, STATE_DIR, tempDir, uid } from './helpers.js';

expect.extend(matchers);

const RUN = `ow${uid()}`;
const HINT =
  '    hint: nslab does not write through symbolic links: remove the link, or name a folder that only you can write';
const dirs: string[] = [];
function dir(): string {
  const d = tempDir();
  dirs.push(d);
  return d;
}

type Result = { code: number | null; stdout: string; stderr: string };
function nslab(args: string[]): Promise<Result> {
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

/** Two nodes, one link; stage base: a ping that passes and one that fails on purpose (its pcaps are kept). */
function labFile(name: string, count = 1): string {
  const file = join(dir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a: { interfaces: { eth0: 10.0.0.1/24 } }
  b: { interfaces: { eth0: 10.0.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: base
    tests:
      - { name: a reaches b, ping: { from: a, to: 10.0.0.2, count: ${count} }, expect: { replies: ${count} } }
      - { name: wrong on purpose, ping: { from: a, to: 10.0.0.2, count: 1 }, expect: { replies: 0 } }
`,
  );
  return file;
}

/** A file someone cares about, with a known content and an mtime in the past. */
function victim(d: string, name = 'victim'): { path: string; untouched: () => void } {
  const path = join(d, name);
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

const mode = (p: string) => statSync(p).mode & 0o777;
const left = (name: string) => ({
  ns: namespaces(`nslab-${name}.`),
  records: readdirSync(STATE_DIR).filter((f) => f.startsWith(`${name}.`)),
});

afterAll(async () => {
  if (isRoot) {
    for (const f of readdirSync(STATE_DIR).filter((x) => x.startsWith(RUN)))
      await nslab(['down', f.replace(/\.json$/, '')]);
    expect(namespaces(`nslab-${RUN}`)).toEqual([]);
    expect(etcNetns(`nslab-${RUN}`)).toEqual([]);
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.skipIf(!isRoot).concurrent('nslab test --artifacts DIR, --html DIR', () => {
  it('a link at report.json, junit.xml or report.html is refused before anything is created (exit 2), its target untouched', async () => {
    const name = `${RUN}-a`;
    const file = labFile(name);
    const planted = [
      ['--artifacts', 'report.json'],
      ['--artifacts', 'junit.xml'],
      ['--artifacts', 'report.html'],
      ['--html', 'report.html'],
    ];
    for (const [flag, f] of planted as [string, string][]) {
      const d = dir();
      const v = victim(d);
      mkdirSync(join(d, 'out'));
      symlinkSync(v.path, join(d, 'out', f));
      const r = await nslab(['test', file, flag, join(d, 'out')]);
      expect(r.code, `${flag} ${f}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toBe(
        `nslab: cannot write ${join(d, 'out', f)}: it is a symbolic link (to ${v.path})\n${HINT}\n`,
      );
      expect(r.stdout).toBe('');
      v.untouched();
      expect(readdirSync(join(d, 'out'))).toEqual([f]);
      expect(left(name)).toEqual({ ns: [], records: [] });
    }
  });

  it('a link planted at report.json while the run runs is refused when reports are written (exit 2), its target untouched', async () => {
    const name = `${RUN}-r`;
    const file = labFile(name, 4); // four pings: the lab is up for a few seconds
    const d = dir();
    const v = victim(d);
    const out = join(d, 'out');
    const run = nslab(['test', file, '--artifacts', out]);
    // the lab is up: the check before the run has passed
    for (let i = 0; i < 300 && !namespaces(`nslab-${name}.`).length; i++) await sleep(50);
    expect(namespaces(`nslab-${name}.`).length).toBeGreaterThan(0);
    mkdirSync(out, { recursive: true });
    symlinkSync(v.path, join(out, 'report.json'));
    const r = await run;
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(
      `nslab: cannot write ${join(out, 'report.json')}: it is a symbolic link (to ${v.path})\n${HINT}\n`,
    );
    v.untouched();
    expect(lstatSync(join(out, 'report.json')).isSymbolicLink()).toBe(true);
    // junit.xml comes after report.json: not written either
    expect(existsSync(join(out, 'junit.xml'))).toBe(false);
    expect(left(name)).toEqual({ ns: [], records: [] });
  });

  it('writes into a DIR that is a link (honoured), over an old report, into a clean --html DIR; pcaps 0600 in a 0700 folder', async () => {
    const name = `${RUN}-w`;
    const file = labFile(name);
    const d = dir();
    mkdirSync(join(d, 'real'));
    symlinkSync(join(d, 'real'), join(d, 'artifacts'));
    writeFileSync(join(d, 'real/report.json'), 'old report\n');
    const ino = statSync(join(d, 'real/report.json')).ino;
    const r = await nslab(['test', file, '--artifacts', join(d, 'artifacts'), '--html', join(d, 'page')]);
    expect(r.code, r.stderr).toBe(1); // 'wrong on purpose' fails
    const report = JSON.parse(readFileSync(join(d, 'real/report.json'), 'utf8'));
    expect(report.totals).toEqual({ passed: 1, failed: 1, skipped: 0, errors: 0 });
    expect(statSync(join(d, 'real/report.json')).ino).not.toBe(ino); // replaced whole, not truncated
    expect(readFileSync(join(d, 'real/junit.xml'), 'utf8')).toMatch(/<testsuites name="nslab" tests="2" failures="1"/);
    expect(readFileSync(join(d, 'real/report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(readFileSync(join(d, 'page/report.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    const inst = report.labs[0].instance as string;
    expect(mode(join(d, 'real', inst))).toBe(0o700);
    const pcaps = readdirSync(join(d, 'real', inst)).sort();
    expect(pcaps).toEqual(['base-wrong-on-purpose-a.pcap', 'base-wrong-on-purpose-b.pcap']);
    for (const p of pcaps) expect(mode(join(d, 'real', inst, p))).toBe(0o600);
    // the report names the pcaps as the user named the folder
    expect(report.labs[0].tests[1].artifacts).toEqual(pcaps.map((p) => join(d, 'artifacts', inst, p)));
    expect(readdirSync(join(d, 'real')).filter((f) => f.startsWith('.nslab-'))).toEqual([]);
    expect(left(name)).toEqual({ ns: [], records: [] });
  });
});

describe.skipIf(!isRoot)('nslab check --artifacts DIR, --html DIR (a lab left up)', () => {
  const name = `${RUN}-c`;
  const id = `x${uid()}`;
  const inst = `${name}.${id}`;
  const check = (...args: string[]) => nslab(['check', inst, ...args]);

  it('refuses a link at the pcap folder of the instance and at report.html, before anything; a link at a pcap name is skipped', async () => {
    const file = labFile(name);
    const up = await nslab(['up', file, '--instance', id]);
    expect(up.code, up.stderr).toBe(0);
    try {
      // DIR/<instance> -> a folder elsewhere: refused, nothing lands there
      const d = dir();
      const elsewhere = join(d, 'elsewhere');
      mkdirSync(elsewhere);
      const v = victim(elsewhere);
      mkdirSync(join(d, 'art'));
      symlinkSync(elsewhere, join(d, 'art', inst));
      const r = await check('--artifacts', join(d, 'art'));
      expect(r.code, r.stderr).toBe(2);
      const at = join(d, 'art', inst);
      expect(r.stderr).toBe(`nslab: cannot write ${at}/: ${at} is a symbolic link (to ${elsewhere})\n${HINT}\n`);
      expect(r.stdout).toBe('');
      expect(readdirSync(elsewhere)).toEqual(['victim']);
      v.untouched();

      // report.html in --artifacts and in --html
      for (const flag of ['--artifacts', '--html']) {
        const h = dir();
        const hv = victim(h);
        mkdirSync(join(h, 'out'));
        symlinkSync(hv.path, join(h, 'out/report.html'));
        const rh = await check(flag, join(h, 'out'));
        expect(rh.code, rh.stderr).toBe(2);
        expect(rh.stderr).toBe(
          `nslab: cannot write ${join(h, 'out/report.html')}: it is a symbolic link (to ${hv.path})\n${HINT}\n`,
        );
        hv.untouched();
        expect(readdirSync(join(h, 'out'))).toEqual(['report.html']);
      }

      // the twin: a clean DIR, and a DIR that is a link to one
      const c = dir();
      const ok = await check('--artifacts', join(c, 'art'));
      expect(ok.code, ok.stderr).toBe(1); // 'wrong on purpose' fails
      expect(readdirSync(join(c, 'art', inst)).sort()).toEqual([
        'base-wrong-on-purpose-a.pcap',
        'base-wrong-on-purpose-b.pcap',
      ]);
      expect(existsSync(join(c, 'art/report.html'))).toBe(true);
      mkdirSync(join(c, 'real'));
      symlinkSync(join(c, 'real'), join(c, 'linked'));
      const linked = await check('--artifacts', join(c, 'linked'), '--html', join(c, 'linked'));
      expect(linked.code, linked.stderr).toBe(1);
      expect(readdirSync(join(c, 'real', inst)).sort()).toEqual([
        'base-wrong-on-purpose-a.pcap',
        'base-wrong-on-purpose-b.pcap',
      ]);
      expect(existsSync(join(c, 'real/report.html'))).toBe(true);

      // a link at the name the next pcap would take: never followed nor replaced, the pcaps take the next free name
      const pv = victim(c);
      symlinkSync(pv.path, join(c, 'art', inst, 'base-wrong-on-purpose.2-a.pcap'));
      const again = await check('--artifacts', join(c, 'art'));
      expect(again.code, again.stderr).toBe(1);
      pv.untouched();
      expect(readdirSync(join(c, 'art', inst)).sort()).toEqual([
        'base-wrong-on-purpose-a.pcap',
        'base-wrong-on-purpose-b.pcap',
        'base-wrong-on-purpose.2-a.pcap',
        'base-wrong-on-purpose.3-a.pcap',
        'base-wrong-on-purpose.3-b.pcap',
      ]);
      expect(lstatSync(join(c, 'art', inst, 'base-wrong-on-purpose.2-a.pcap')).isSymbolicLink()).toBe(true);
    } finally {
      await nslab(['down', inst]);
      expect(left(name)).toEqual({ ns: [], records: [] });
    }
  });
});

describe.skipIf(!isRoot)('the test API: pcaps() and failing matchers', () => {
  it('refuses a link at the pcap folder of the instance (the failure still says what failed); honours artifacts that is a link', async () => {
    const name = `${RUN}-api`;
    const id = `x${uid()}`;
    const d = dir();
    const elsewhere = join(d, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(join(d, 'art'));
    symlinkSync(elsewhere, join(d, 'art', `${name}.${id}`));
    await using lab = await Lab.up(labFile(name), { id, artifacts: join(d, 'art') });
    const r = await lab.ping({ from: 'a', to: '10.0.0.2', count: 1 });
    expect(() => r.pcaps()).toThrow(`${join(d, 'art', lab.instance)} is a symbolic link (to ${elsewhere})`);
    let message = '';
    try {
      await expect(r).toMeet({ replies: 0 });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch('replies: expected 0, observed 1');
    expect(message).toMatch(`pcaps not kept: cannot write ${join(d, 'art', lab.instance)}/ping-`);
    expect(readdirSync(elsewhere)).toEqual([]);

    // the twin: artifacts that is itself a link to a folder
    mkdirSync(join(d, 'real'));
    symlinkSync(join(d, 'real'), join(d, 'linked'));
    await using lab2 = await Lab.up(labFile(`${name}2`), { artifacts: join(d, 'linked') });
    const files = (await lab2.ping({ from: 'a', to: '10.0.0.2', count: 1 })).pcaps();
    expect(files.map((f) => f.startsWith(join(d, 'linked', lab2.instance, 'ping-')))).toEqual([true, true]);
    const real = readdirSync(join(d, 'real', lab2.instance));
    expect(real).toHaveLength(2);
    expect(mode(join(d, 'real', lab2.instance))).toBe(0o700);
    for (const f of real) expect(mode(join(d, 'real', lab2.instance, f))).toBe(0o600);
  });
});

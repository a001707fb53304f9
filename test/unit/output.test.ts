// The one writer of files on the user's behalf (src/engine/output.ts): no link
// at the file or at a folder below the one the user named, that folder honoured
// even when it is a link, files replaced whole or created exclusively, modes.
import { spawn } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { OutputDir, OutputRefused, raceSeams, writeOutputFile } from '../../src/engine/output.js';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'nslab-output-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A file someone cares about, with a known content and an mtime in the past, to prove it untouched. */
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

const RACED = 'a folder on its way was moved or replaced while nslab wrote';
const refused = (f: () => unknown): OutputRefused => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(OutputRefused);
    expect((e as OutputRefused).exitCode).toBe(2);
    return e as OutputRefused;
  }
  throw new Error('expected a refusal, the write went through');
};

describe('OutputDir: where a file may be written', () => {
  it('writes into a clean folder, making the user-named folder and the folders on the way', () => {
    const d = join(tmp(), 'made/by/nslab');
    const out = OutputDir.open(d, { create: true });
    expect(out.write('sub/dir/report.json', '{}\n')).toBe(join(d, 'sub/dir/report.json'));
    expect(readFileSync(join(d, 'sub/dir/report.json'), 'utf8')).toBe('{}\n');
    // nothing but the file: the temporary file was renamed into place
    expect(readdirSync(join(d, 'sub/dir'))).toEqual(['report.json']);
  });

  it('a symbolic link at the file is refused: the link and its target untouched, nothing written', () => {
    const d = tmp();
    const v = victim(d);
    const out = OutputDir.open(join(d, 'out'), { create: true });
    symlinkSync(v.path, join(d, 'out/report.json'));
    const e = refused(() => out.write('report.json', 'evil\n'));
    expect(e.message).toBe(
      `cannot write ${join(d, 'out/report.json')}: it is a symbolic link (to ${v.path})\n` +
        '    hint: nslab does not write through symbolic links: remove the link, or name a folder that only you can write',
    );
    v.untouched();
    expect(lstatSync(join(d, 'out/report.json')).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(d, 'out'))).toEqual(['report.json']); // no temporary file left
    // the twin: the same write into the same folder without the link goes through
    rmSync(join(d, 'out/report.json'));
    out.write('report.json', 'fine\n');
    expect(readFileSync(join(d, 'out/report.json'), 'utf8')).toBe('fine\n');
    v.untouched();
  });

  it('a dangling link at the file is refused, and nothing is created where it points', () => {
    const d = tmp();
    const out = OutputDir.open(d);
    symlinkSync(join(d, 'nowhere'), join(d, 'f.svg'));
    expect(refused(() => out.write('f.svg', 'x')).message).toMatch(/f\.svg: it is a symbolic link \(to .*nowhere\)/);
    refused(() => out.write('f.svg', 'x', { exclusive: true }));
    expect(existsSync(join(d, 'nowhere'))).toBe(false);
  });

  it('a symbolic link at a folder between the named folder and the file is refused (export -o DIR with DIR/etc -> /etc)', () => {
    const d = tmp();
    const etc = join(d, 'their-etc');
    mkdirSync(etc);
    const v = victim(etc, 'hosts');
    const out = OutputDir.open(join(d, 'out'), { create: true });
    symlinkSync(etc, join(d, 'out/etc'));
    const e = refused(() => out.write('etc/hosts', 'evil\n'));
    expect(e.message).toMatch(
      `cannot write ${join(d, 'out/etc/hosts')}: ${join(d, 'out/etc')} is a symbolic link (to ${etc})`,
    );
    refused(() => out.write('etc/new/file', 'evil\n'));
    refused(() => out.write('etc/hosts', 'evil\n', { exclusive: true }));
    v.untouched();
    expect(readdirSync(etc)).toEqual(['hosts']);
    // deeper: a link two folders down is refused as well
    mkdirSync(join(d, 'out/a'));
    symlinkSync(etc, join(d, 'out/a/b'));
    expect(refused(() => out.write('a/b/hosts', 'evil\n')).message).toMatch(`${join(d, 'out/a/b')} is a symbolic link`);
    v.untouched();
    // the twin: a real folder there is written into
    rmSync(join(d, 'out/etc'));
    out.write('etc/hosts', 'mine\n');
    expect(readFileSync(join(d, 'out/etc/hosts'), 'utf8')).toBe('mine\n');
  });

  it('the folder the user named is honoured when it is itself a symbolic link (resolved once)', () => {
    const d = tmp();
    mkdirSync(join(d, 'real'));
    symlinkSync(join(d, 'real'), join(d, 'artifacts'));
    const out = OutputDir.open(join(d, 'artifacts'), { create: true });
    expect(out.write('inst/x.pcap', 'pcap', { exclusive: true, mode: 0o600, dirMode: 0o700 })).toBe(
      join(d, 'artifacts/inst/x.pcap'),
    );
    out.write('report.json', '{}');
    expect(readFileSync(join(d, 'real/inst/x.pcap'), 'utf8')).toBe('pcap');
    expect(readFileSync(join(d, 'real/report.json'), 'utf8')).toBe('{}');
    // -o FILE: the folder of FILE is the named one, a link too
    expect(writeOutputFile(join(d, 'artifacts/graph.svg'), '<svg/>')).toBe(join(d, 'artifacts/graph.svg'));
    expect(readFileSync(join(d, 'real/graph.svg'), 'utf8')).toBe('<svg/>');
    // a link to a folder through a chain of links is still the user's folder
    symlinkSync(join(d, 'artifacts'), join(d, 'again'));
    OutputDir.open(join(d, 'again')).write('two.txt', '2');
    expect(readFileSync(join(d, 'real/two.txt'), 'utf8')).toBe('2');
  });

  it('an existing regular file is replaced whole by a new one renamed over it, never truncated in place', () => {
    const d = tmp();
    writeFileSync(join(d, 'report.json'), 'old and longer\n');
    // a hard link to it (a file elsewhere that shares its inode) keeps the old content
    linkSync(join(d, 'report.json'), join(d, 'hardlink'));
    const before = statSync(join(d, 'report.json')).ino;
    OutputDir.open(d).write('report.json', 'new\n');
    expect(readFileSync(join(d, 'report.json'), 'utf8')).toBe('new\n');
    expect(statSync(join(d, 'report.json')).ino).not.toBe(before);
    expect(readFileSync(join(d, 'hardlink'), 'utf8')).toBe('old and longer\n');
    expect(readdirSync(d).sort()).toEqual(['hardlink', 'report.json']);
  });

  it('exclusive: a new file only; an existing one is refused and kept', () => {
    const d = tmp();
    const out = OutputDir.open(d);
    out.write('a.pcap', 'one', { exclusive: true });
    expect(refused(() => out.write('a.pcap', 'two', { exclusive: true })).message).toMatch(
      /a\.pcap: it exists already/,
    );
    expect(readFileSync(join(d, 'a.pcap'), 'utf8')).toBe('one');
  });

  it('what is not a regular file is refused at the file (a folder, a fifo, a device), and a file on the way is no folder', () => {
    const d = tmp();
    mkdirSync(join(d, 'dir'));
    const out = OutputDir.open(d);
    expect(refused(() => out.write('dir', 'x')).message).toMatch(/dir: it is a folder/);
    expect(refused(() => OutputDir.open('/dev').write('null', 'x')).message).toMatch(
      'cannot write /dev/null: it is a device',
    );
    writeFileSync(join(d, 'plain'), 'p');
    expect(refused(() => out.write('plain/x', 'x')).message).toMatch(`${join(d, 'plain')} is not a folder`);
    expect(readFileSync(join(d, 'plain'), 'utf8')).toBe('p');
  });

  it('modes: 0666 less the umask by default; an exact mode whatever the umask; folders made with dirMode', () => {
    const d = tmp();
    const out = OutputDir.open(d);
    out.write('plain.txt', 'x');
    expect(statSync(join(d, 'plain.txt')).mode & 0o777).toBe(0o666 & ~process.umask());
    const old = process.umask(0o077);
    try {
      out.write('keyfile', 'k', { mode: 0o644 });
      out.write('inst/x.pcap', 'p', { exclusive: true, mode: 0o600, dirMode: 0o700 });
    } finally {
      process.umask(old);
    }
    expect(statSync(join(d, 'keyfile')).mode & 0o777).toBe(0o644);
    expect(statSync(join(d, 'inst/x.pcap')).mode & 0o777).toBe(0o600);
    expect(statSync(join(d, 'inst')).mode & 0o777).toBe(0o700);
    // a replaced file gets the mode asked for, not the old file's
    writeFileSync(join(d, 'was-open'), 'x', { mode: 0o666 });
    out.write('was-open', 'y', { mode: 0o600 });
    expect(statSync(join(d, 'was-open')).mode & 0o777).toBe(0o600);
  });

  it('check() finds the same refusals and creates nothing', () => {
    const d = tmp();
    OutputDir.check(join(d, 'missing'), ['report.json', 'x/y.pcap']);
    expect(existsSync(join(d, 'missing'))).toBe(false);
    mkdirSync(join(d, 'out'));
    symlinkSync('/etc', join(d, 'out/etc'));
    symlinkSync('/etc/passwd', join(d, 'out/junit.xml'));
    expect(refused(() => OutputDir.check(join(d, 'out'), ['etc/hosts'])).message).toMatch(
      'out/etc is a symbolic link (to /etc)',
    );
    expect(refused(() => OutputDir.check(join(d, 'out'), ['report.json', 'junit.xml'])).message).toMatch(
      'out/junit.xml: it is a symbolic link (to /etc/passwd)',
    );
    OutputDir.check(join(d, 'out'), ['report.json', 'new/folder/file']);
    expect(readdirSync(join(d, 'out')).sort()).toEqual(['etc', 'junit.xml']);
    // a folder to be written into (check's DIR/<instance>)
    expect(refused(() => OutputDir.check(join(d, 'out'), [], ['etc'])).message).toMatch(
      `cannot write ${join(d, 'out/etc')}/: ${join(d, 'out/etc')} is a symbolic link`,
    );
    OutputDir.check(join(d, 'out'), [], ['inst']);
    expect(existsSync(join(d, 'out/inst'))).toBe(false);
  });

  it('the user-named folder: missing (for -o FILE) or not a folder is a clear refusal', () => {
    const d = tmp();
    expect(refused(() => writeOutputFile(join(d, 'nope/graph.svg'), 'x')).message).toMatch(
      `cannot write ${join(d, 'nope/graph.svg')}: ${join(d, 'nope')}: no such folder`,
    );
    writeFileSync(join(d, 'file'), 'f');
    expect(refused(() => OutputDir.open(join(d, 'file'))).message).toMatch(
      `cannot write ${join(d, 'file')}: not a folder`,
    );
    expect(refused(() => writeOutputFile(join(d, 'file/x.svg'), 'x')).message).toMatch(
      `cannot write ${join(d, 'file/x.svg')}: ${join(d, 'file')}: not a folder`,
    );
    expect(refused(() => OutputDir.open(join(d, 'file'), { create: true })).message).toMatch('not a folder');
    expect(refused(() => writeOutputFile(`${d}/`, 'x')).message).toMatch('names a folder, not a file');
    expect(readFileSync(join(d, 'file'), 'utf8')).toBe('f');
  });

  describe('a folder on the way swapped for a link after it was checked (the race)', () => {
    /** out/sub, and a function that moves it aside and puts a link to `outside` in its place. */
    function setup() {
      const d = tmp();
      const outside = join(d, 'outside');
      mkdirSync(outside);
      const out = OutputDir.open(join(d, 'out'), { create: true });
      mkdirSync(join(d, 'out/sub'));
      const swap = () => {
        renameSync(join(d, 'out/sub'), join(d, 'out/aside'));
        symlinkSync(outside, join(d, 'out/sub'));
      };
      return { d, outside, out, swap };
    }
    afterEach(() => {
      delete raceSeams.beforeOpen;
      delete raceSeams.beforeRename;
    });

    for (const exclusive of [true, false])
      it(`just before the open (${exclusive ? 'exclusive' : 'by rename'}): caught after it, the file made outside removed`, () => {
        const { d, outside, out, swap } = setup();
        raceSeams.beforeOpen = swap;
        const e = refused(() => out.write('sub/report.json', 'data', { exclusive }));
        expect(e.message).toMatch(
          `cannot write ${join(d, 'out/sub/report.json')}: ${RACED} (the file went to ${outside}/`,
        );
        expect(readdirSync(outside)).toEqual([]);
        expect(readdirSync(join(d, 'out/aside'))).toEqual([]);
        // the twin: nothing strikes, the same write goes through
        delete raceSeams.beforeOpen;
        rmSync(join(d, 'out/sub'));
        renameSync(join(d, 'out/aside'), join(d, 'out/sub'));
        out.write('sub/report.json', 'data', { exclusive });
        expect(readFileSync(join(d, 'out/sub/report.json'), 'utf8')).toBe('data');
      });

    it('just before the rename: refused, the temporary file removed from where it went, nothing outside', () => {
      const { d, outside, out, swap } = setup();
      const v = victim(outside, 'report.json');
      raceSeams.beforeRename = swap;
      expect(refused(() => out.write('sub/report.json', 'data')).message).toMatch(RACED);
      v.untouched();
      expect(readdirSync(outside)).toEqual(['report.json']);
      expect(readdirSync(join(d, 'out/aside'))).toEqual([]);
    });

    it('a link put at the file itself just before the rename is replaced by rename(2), never written through', () => {
      const d = tmp();
      const v = victim(d);
      raceSeams.beforeRename = () => symlinkSync(v.path, join(d, 'out/report.json'));
      OutputDir.open(join(d, 'out'), { create: true }).write('report.json', 'data');
      v.untouched();
      expect(lstatSync(join(d, 'out/report.json')).isFile()).toBe(true);
      expect(readFileSync(join(d, 'out/report.json'), 'utf8')).toBe('data');
    });
  });

  it('a folder swapped for a link while files are written: every write lands in the folder or is refused, none outside', async () => {
    const d = tmp();
    const outside = join(d, 'outside');
    mkdirSync(outside);
    const out = OutputDir.open(join(d, 'out'), { create: true });
    mkdirSync(join(d, 'out/sub'));
    // another process turns out/sub into a link to `outside` and back, as fast as it can
    const flipper = spawn(
      process.execPath,
      [
        '-e',
        `
        const fs = require('node:fs');
        const sub = ${JSON.stringify(join(d, 'out/sub'))}, aside = sub + '.aside', outside = ${JSON.stringify(outside)};
        for (;;) {
          try { fs.renameSync(sub, aside); fs.symlinkSync(outside, sub); fs.unlinkSync(sub); fs.renameSync(aside, sub); } catch {}
        }`,
      ],
      { stdio: 'ignore' },
    );
    const kinds = new Map<string, number>();
    try {
      await new Promise((r) => setTimeout(r, 200));
      for (let i = 0; i < 2000; i++) {
        const exclusive = i % 2 === 0;
        let kind = 'written';
        try {
          out.write(`sub/f${i}`, 'data', { exclusive });
        } catch (e) {
          const raced = e instanceof OutputRefused && e.message.includes(RACED);
          kind =
            e instanceof OutputRefused ? (raced ? 'caught after open' : 'refused before open') : (e as Error).message;
        }
        kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
      }
    } finally {
      flipper.kill('SIGKILL');
    }
    await new Promise((r) => flipper.once('exit', r));
    // nothing ever stays outside: what the race put there was removed at once
    expect(readdirSync(outside)).toEqual([]);
    const known = ['written', 'caught after open', 'refused before open'];
    expect(
      [...kinds.keys()].every((k) => known.includes(k)),
      JSON.stringify([...kinds]),
    ).toBe(true);
    expect(kinds.get('written')).toBeGreaterThan(0);
    // every write that went through is in the folder (or the same folder, left aside by the flipper), no temporary file
    // left
    const inside = ['sub', 'sub.aside'].flatMap((f) =>
      existsSync(join(d, 'out', f)) ? readdirSync(join(d, 'out', f)) : [],
    );
    expect(inside.filter((f) => f.startsWith('.nslab-'))).toEqual([]);
    // a write caught after open is removed where the kernel says it is; when the flipper moves the folder back
    // between that answer and the unlink, the file stays, whole, in the folder the user named (seen once in ~10
    // runs): never outside, and never more of them than writes caught so
    expect(inside.length).toBeGreaterThanOrEqual(kinds.get('written')!);
    expect(inside.length).toBeLessThanOrEqual(kinds.get('written')! + (kinds.get('caught after open') ?? 0));
  });
});

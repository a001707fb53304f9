// The one way nslab writes a file on the user's behalf: reports, pcaps, HTML
// pages, exports, graphs, exercises, snapshots, imports. nslab often runs as
// root and writes into folders others may share (a CI workspace), so:
//
// - the folder the user named is resolved once and honoured, even when it is
//   itself a symbolic link (people point --artifacts at one);
// - below it, no component may be a link: folders nslab makes are made one at
//   a time (mkdir never follows a link at its own name), and an existing
//   folder on the way that is a link is refused;
// - at the file itself a link is refused, never followed nor replaced, and so
//   is anything that is not a regular file (a device, a fifo);
// - a file is created exclusively (O_CREAT|O_EXCL|O_NOFOLLOW), or written to
//   a temporary file in the same folder and renamed into place, so that an
//   existing report is replaced whole and never truncated through a link;
// - after opening, the kernel is asked where the file really is
//   (/proc/self/fd): a folder swapped for a link between the checks and the
//   open is caught there, and the file nslab just made is removed again.
//
// Node has no openat(), so the walk cannot hold folder descriptors; the check
// after opening closes what is left of the race as far as Node allows. What
// such a race can achieve at worst is an empty file, made and removed at once.
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeFileSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import { oneLine, UsageError } from '../errors.js';

export interface WriteOptions {
  /**
   * The file's exact mode (set with fchmod, whatever the umask); default 0666 less the umask, as any program writes.
   */
  mode?: number;
  /** The mode of folders made on the way (less the umask); default 0777. */
  dirMode?: number;
  /**
   * Create the file, never replace one (refused otherwise); default: replace a regular file by renaming a new one over
   * it.
   */
  exclusive?: boolean;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;
const CREATE = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW;
const HINT_LINK =
  'nslab does not write through symbolic links: remove the link, or name a folder that only you can write';
const HINT_RACE = 'something else is changing this folder: name a folder that only you can write';

/** A refused output: exit 2, with the path as the user named it and what is in the way. */
export class OutputRefused extends UsageError {
  constructor(file: string, why: string, hint: string = HINT_LINK) {
    super(`cannot write ${oneLine(file)}: ${why}`, hint);
    this.name = 'OutputRefused';
  }
}

/**
 * Where a race would strike: just before a file is opened, and before a temporary file is renamed. Tests strike there.
 */
export const raceSeams: { beforeOpen?: (path: string) => void; beforeRename?: (temp: string) => void } = {};

const lstatOf = (p: string): Stats | undefined => lstatSync(p, { throwIfNoEntry: false });

function linkTarget(p: string): string {
  try {
    return oneLine(readlinkSync(p));
  } catch {
    return '?';
  }
}

function kindOf(st: Stats): string {
  return st.isDirectory()
    ? 'a folder'
    : st.isFIFO()
      ? 'a fifo'
      : st.isSocket()
        ? 'a socket'
        : st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : 'not a regular file';
}

/** REL's components: relative, no '.', '..' or empty parts (else a programming error: REL never comes from a user). */
function partsOf(rel: string): string[] {
  const parts = rel.split('/');
  if (rel.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..'))
    throw new Error(`output path '${rel}' is not a plain relative path`);
  return parts;
}

/**
 * A folder the user named for nslab's output (--artifacts DIR, --html DIR,
 * export -o DIR, the folder of -o FILE). Files are written below it by
 * `write`; `check` finds what would refuse a write without creating anything.
 */
export class OutputDir {
  private constructor(
    /** The folder as the user named it: messages and returned paths use it. */
    readonly named: string,
    /** The same folder, resolved once (it may itself be a link). */
    readonly real: string,
  ) {}

  /** The folder NAMED, made (with its parents, as named) when `create` and missing; refused when it is not a folder. */
  static open(named: string, o: { create?: boolean; file?: string } = {}): OutputDir {
    const file = o.file ?? named;
    if (o.create) {
      try {
        mkdirSync(named, { recursive: true });
      } catch (e) {
        throw refusedFolder(named, file, e);
      }
    }
    let real: string;
    try {
      real = realpathSync(named);
    } catch (e) {
      throw refusedFolder(named, file, e);
    }
    if (!statSync(real).isDirectory()) throw refusedFolder(named, file, { code: 'ENOTDIR' });
    return new OutputDir(named, real);
  }

  /**
   * Refuses (OutputRefused) the files RELS (and FOLDERS) would be, below folder NAMED,
   * if any of them or a folder on the way is a link or something else in the way. Makes
   * nothing; a folder that does not exist yet is no problem. For checking every
   * output before a run starts, so that a refusal leaves nothing behind.
   */
  static check(named: string, rels: string[], folders: string[] = []): void {
    if (!lstatOf(named)) return;
    const out = OutputDir.open(named);
    for (const rel of rels) out.check(rel);
    for (const rel of folders) out.checkFolder(rel);
  }

  /** The path of REL as the user would name it. */
  shown(rel: string): string {
    return join(this.named, rel);
  }

  /** Refuses REL if a folder on its way or the file itself is a link or not what it must be; creates nothing. */
  check(rel: string, o: { exclusive?: boolean } = {}): void {
    const parts = partsOf(rel);
    let p = this.real;
    for (const [i, part] of parts.entries()) {
      p = join(p, part);
      const st = lstatOf(p);
      if (!st) return; // missing: made by write, and nothing below it exists
      if (i < parts.length - 1) this.folderOk(rel, parts.slice(0, i + 1), st);
      else this.fileOk(rel, st, !!o.exclusive);
    }
  }

  /**
   * Refuses REL, a folder to be written into, if it or a folder on its way is a link or not a folder; creates nothing.
   */
  checkFolder(rel: string): void {
    const parts = partsOf(rel);
    let p = this.real;
    for (const [i, part] of parts.entries()) {
      p = join(p, part);
      const st = lstatOf(p);
      if (!st) return;
      this.folderOk(`${rel}/`, parts.slice(0, i + 1), st);
    }
  }

  /**
   * Writes DATA to REL below this folder, making the folders on the way; returns
   * the path as the user would name it. Refused (nothing written) as `check` says.
   */
  write(rel: string, data: string | Uint8Array, o: WriteOptions = {}): string {
    const parts = partsOf(rel);
    let folder = this.real;
    for (const [i, part] of parts.slice(0, -1).entries()) {
      folder = join(folder, part);
      try {
        mkdirSync(folder, { mode: o.dirMode ?? 0o777 });
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      }
      this.folderOk(rel, parts.slice(0, i + 1), lstatOf(folder));
    }
    const file = join(folder, parts.at(-1)!);
    const st = lstatOf(file);
    if (st) this.fileOk(rel, st, !!o.exclusive);
    const mode = o.mode ?? 0o666;
    if (o.exclusive) {
      const fd = this.create(rel, file, mode, true);
      try {
        fill(fd, data, o.mode);
      } catch (e) {
        discard(fd, file);
        throw e;
      } finally {
        closeSync(fd);
      }
      return this.shown(rel);
    }
    // a new file beside it, renamed over it: the old one is replaced whole, and a link
    // put in its place meanwhile is replaced by rename(2), never written through
    const temp = join(folder, `.nslab-${randomBytes(6).toString('hex')}.tmp`);
    const fd = this.create(rel, temp, mode, false);
    try {
      fill(fd, data, o.mode);
      const now = lstatOf(file);
      if (now) this.fileOk(rel, now, false);
      raceSeams.beforeRename?.(temp);
      try {
        renameSync(temp, file);
      } catch (e) {
        // the folder became a link since the temporary file was made: its name is not there any more
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw this.raced(rel, whereIs(fd));
        throw e;
      }
      if (!this.isAt(fd, rel, file)) throw this.raced(rel, whereIs(fd));
    } catch (e) {
      discard(fd, temp);
      throw e;
    } finally {
      closeSync(fd);
    }
    return this.shown(rel);
  }

  private folderOk(rel: string, parts: string[], st: Stats | undefined): void {
    const file = this.shown(rel);
    const at = oneLine(this.shown(parts.join('/')));
    if (!st) throw new OutputRefused(file, `${at} vanished while nslab made it`, HINT_RACE);
    if (st.isSymbolicLink())
      throw new OutputRefused(file, `${at} is a symbolic link (to ${linkTarget(join(this.real, ...parts))})`);
    if (!st.isDirectory())
      throw new OutputRefused(file, `${at} is not a folder`, `remove ${at}, or name another folder`);
  }

  private fileOk(rel: string, st: Stats, exclusive: boolean): void {
    const at = this.shown(rel);
    if (st.isSymbolicLink())
      throw new OutputRefused(at, `it is a symbolic link (to ${linkTarget(join(this.real, rel))})`);
    if (!st.isFile())
      throw new OutputRefused(at, `it is ${kindOf(st)}`, 'name a regular file, or a path where nothing is yet');
    if (exclusive)
      throw new OutputRefused(
        at,
        'it exists already',
        'nslab never overwrites this file: remove it, or name another folder',
      );
  }

  /**
   * Creates PATH (REL's file, or a temporary file beside it) exclusively, without
   * following a link, and proves it is where it was meant to be.
   */
  private create(rel: string, path: string, mode: number, isTarget: boolean): number {
    let fd: number;
    raceSeams.beforeOpen?.(path);
    try {
      fd = openSync(path, CREATE, mode);
    } catch (e) {
      // EEXIST: something appeared there since the check (O_EXCL refuses even a dangling link)
      const code = (e as NodeJS.ErrnoException).code;
      const st = isTarget && code === 'EEXIST' ? lstatOf(path) : undefined;
      if (st) this.fileOk(rel, st, true);
      // its folder was there a moment ago (made or checked just now)
      if (code === 'ENOENT' || code === 'ENOTDIR') throw this.raced(rel, undefined);
      throw e;
    }
    if (this.isAt(fd, rel, path)) return fd;
    // a folder on the way became a link after it was checked: the file is somewhere else; removed
    const actual = whereIs(fd);
    discard(fd);
    closeSync(fd);
    throw this.raced(rel, actual);
  }

  /**
   * FD's file is PATH, below this folder: the kernel says so, or (without /proc)
   * every folder on the way is still one and PATH is FD's file.
   */
  private isAt(fd: number, rel: string, path: string): boolean {
    const actual = whereIs(fd);
    if (actual !== undefined) return actual === path;
    const parts = partsOf(rel).slice(0, -1);
    for (let i = 1; i <= parts.length; i++) {
      const st = lstatOf(join(this.real, ...parts.slice(0, i)));
      if (!st || st.isSymbolicLink() || !st.isDirectory()) return false;
    }
    const st = lstatOf(path);
    const mine = fstatSync(fd);
    return !!st && st.isFile() && st.ino === mine.ino && st.dev === mine.dev;
  }

  private raced(rel: string, actual: string | undefined): OutputRefused {
    const where = actual ? ` (the file went to ${oneLine(actual)}; removed)` : '';
    return new OutputRefused(
      this.shown(rel),
      `a folder on its way was moved or replaced while nslab wrote${where}`,
      HINT_RACE,
    );
  }
}

/** Where the kernel says the open file FD is; undefined without /proc. */
function whereIs(fd: number): string | undefined {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

/** Writes DATA through FD, with its exact MODE first when one is given. */
function fill(fd: number, data: string | Uint8Array, mode: number | undefined): void {
  if (mode !== undefined) fchmodSync(fd, mode);
  writeFileSync(fd, data);
}

/**
 * Removes the file FD is open on, wherever it is now (PATH without /proc), only if that name is still this very file.
 * A folder moved back between the kernel's answer and the unlink leaves the file where it went (an unlink of the old
 * name fails): tried again while the file still has a name (its link count), a few times.
 */
function discard(fd: number, path?: string): void {
  for (let i = 0; i < 20 && fstatSync(fd).nlink > 0; i++) {
    const seen = whereIs(fd);
    const at = seen ?? path;
    if (!at) return;
    const there = lstatOf(at);
    const mine = fstatSync(fd);
    if (there?.isFile() && there.ino === mine.ino && there.dev === mine.dev) {
      try {
        unlinkSync(at);
      } catch {
        /* moved meanwhile: tried again */
      }
    } else if (!seen) return; // without /proc, PATH is all there is
  }
}

function refusedFolder(named: string, file: string, e: unknown): Error {
  const code = (e as NodeJS.ErrnoException).code;
  const folder = file === named ? '' : `${oneLine(named)}: `;
  if (code === 'ENOENT')
    return new OutputRefused(
      file,
      `${folder}no such folder`,
      `create ${oneLine(named)} first, or name a folder that exists`,
    );
  if (code === 'ENOTDIR' || code === 'EEXIST') return new OutputRefused(file, `${folder}not a folder`, 'name a folder');
  if (code === 'ELOOP') return new OutputRefused(file, `${folder}its links go round in a loop`, 'name a folder');
  return e as Error;
}

/** `-o FILE`: FILE written in the folder it names (which must exist), as OutputDir.write does. */
export function writeOutputFile(file: string, data: string | Uint8Array, o: WriteOptions = {}): string {
  const { dir, base } = split(file);
  OutputDir.open(dir, { file }).write(base, data, o);
  return file;
}

function split(file: string): { dir: string; base: string } {
  const i = file.lastIndexOf('/');
  const base = file.slice(i + 1);
  if (!base || base === '.' || base === '..')
    throw new OutputRefused(file, 'this names a folder, not a file', 'name the file to write, e.g. -o out/graph.svg');
  return { dir: i < 0 ? '.' : i === 0 ? '/' : file.slice(0, i), base };
}

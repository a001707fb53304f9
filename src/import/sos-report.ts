// A sos report as nslab import reads it: the unpacked folder, or the tarball sos wrote (.tar.xz, .tar.gz, ...), read
// without trusting it. A tarball is listed first (tar -tv): a member that leaves the report (an absolute name, a '..'
// step, a symlink or a hard link whose target is outside it, a device or a FIFO, a name given twice) refuses the whole
// report; then only the regular files import reads are extracted, by name, into a private temporary directory that is
// removed afterwards, also on SIGINT/SIGTERM (no link, device or owner is ever made). A folder is walked the same way:
// a symlink in it that points outside it refuses the report, and the files read must be regular files, not links.
// Nothing but a regular file is ever opened (lstat first, then the open file checked to be the same one), and every
// file read is bounded in size.
import { execFile } from 'node:child_process';
import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  type Stats,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentError, LabFileError, type Problem } from '../errors.js';

const run = promisify(execFile);

/** The largest file read from a report (a host with 100 000 routes prints some 10 MiB). */
export const MAX_FILE = 32 << 20;
/** The most entries a report may hold (a full sos report holds some tens of thousands). */
const MAX_ENTRIES = 200_000;

export interface Report {
  /** What the user named, for messages. */
  given: string;
  /** The paths (relative to the report's top folder) of its regular files. */
  files: Set<string>;
  /** The text of some of those files, by relative path. */
  read: (paths: string[]) => Promise<Map<string, string>>;
  /** Removes what reading made (the temporary directory of a tarball). */
  close: () => void;
}

const HINT = 'a sos report is read as sos wrote it: unpack or send the tarball sos made, unchanged';
const refuse = (file: string, message: string, hint = HINT) =>
  new LabFileError([{ file, line: 1, col: 1, message, hint }]);

/** Whether a path (relative, with '/') stays inside the report: no absolute name, no '..' above its top. */
function inside(rel: string): boolean {
  if (rel.startsWith('/')) return false;
  const n = posix.normalize(rel);
  return n !== '..' && !n.startsWith('../');
}

/** The report at GIVEN; SIGNAL (SIGINT/SIGTERM) ends a tar that runs and leaves nothing behind. */
export async function openReport(given: string, signal?: AbortSignal): Promise<Report> {
  let st;
  try {
    st = statSync(given);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(given, code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code})`, 'check the path');
  }
  if (st.isDirectory()) return openFolder(given);
  // a FIFO (or a device) would make tar wait, or read what is not a file, for ever
  if (!st.isFile())
    throw refuse(given, `not a regular file or folder (${kind(st)})`, 'give the folder or the tarball sos made');
  return openTarball(given, signal);
}

/** What a non-regular file is, for messages. */
function kind(s: Stats): string {
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symlink';
  if (s.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** The folder of a report: its regular files by relative path; a symlink leading outside refuses it. */
function openFolder(top: string): Report {
  const files = new Set<string>();
  const problems: Problem[] = [];
  let count = 0;
  const walk = (rel: string) => {
    let names: string[];
    try {
      names = readdirSync(join(top, rel));
    } catch (e) {
      problems.push({ file: join(top, rel), line: 1, col: 1, message: `cannot read it (${(e as Error).message})` });
      return;
    }
    for (const name of names) {
      if (++count > MAX_ENTRIES) {
        if (count === MAX_ENTRIES + 1)
          problems.push({ file: top, line: 1, col: 1, message: `more than ${MAX_ENTRIES} entries: not a sos report` });
        return;
      }
      const r = rel ? `${rel}/${name}` : name;
      const s = lstatSync(join(top, r));
      if (s.isSymbolicLink()) {
        const target = readlinkSync(join(top, r));
        if (target.startsWith('/') || !inside(posix.join(posix.dirname(r), target)))
          problems.push({
            file: join(top, r),
            line: 1,
            col: 1,
            message: `a symlink to '${target}', outside the report`,
            hint: HINT,
          });
      } else if (s.isDirectory()) walk(r);
      else if (s.isFile()) files.add(r);
    }
  };
  walk('');
  if (problems.length) throw new LabFileError(problems.slice(0, 50));
  return {
    given: top,
    files,
    read: (paths) => Promise.resolve(new Map(paths.map((p) => [p, readRegularFile(join(top, p), join(top, p))]))),
    close: () => {},
  };
}

/**
 * A regular file's text, at most MAX_FILE bytes; a problem is said at WHERE (the file inside the report, never a
 * temporary path). Nothing but a regular file is opened (opening a device can have effects): lstat first, then open
 * without following a symlink, and the open file must be the one lstat saw.
 */
export function readRegularFile(path: string, where: string): string {
  const cannot = (e: unknown) =>
    refuse(where, `cannot be read as a regular file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  let before: Stats;
  try {
    before = lstatSync(path);
  } catch (e) {
    throw cannot(e);
  }
  if (!before.isFile()) throw refuse(where, `${kind(before)}, not a regular file: not opened`);
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw cannot(e);
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile() || s.dev !== before.dev || s.ino !== before.ino)
      throw refuse(where, 'changed while it was read: not a regular file');
    if (s.size > MAX_FILE)
      throw refuse(where, `${s.size} bytes, more than the ${MAX_FILE} nslab import reads of one file`, HINT);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

async function tar(args: string[], given: string, signal?: AbortSignal): Promise<string> {
  try {
    const { stdout } = await run('tar', args, { maxBuffer: 256 << 20, env: { ...process.env, LC_ALL: 'C' }, signal });
    return stdout;
  } catch (e) {
    if (signal?.aborted) throw signal.reason;
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new EnvironmentError('tar is not installed', 'install tar (and xz-utils for .tar.xz)');
    const why = (err.stderr ?? err.message).trim().split('\n')[0] ?? '';
    throw refuse(given, `not a tarball tar can read: ${why}`, `${HINT}; or give the folder it unpacks to`);
  }
}

/** What `tar -tv` says of a member by the first letter of its mode; what nslab import refuses in a report. */
const REFUSED: Record<string, string> = {
  c: 'a character device',
  b: 'a block device',
  p: 'a FIFO',
  s: 'a socket',
};

/** A tarball: listed and checked, then its needed regular files extracted by name into a private directory. */
async function openTarball(given: string, signal?: AbortSignal): Promise<Report> {
  const names = (await tar(['-tf', given], given, signal)).split('\n').filter((l) => l);
  const verbose = (await tar(['-tvf', given, '--numeric-owner'], given, signal)).split('\n').filter((l) => l);
  if (names.length !== verbose.length || names.length > MAX_ENTRIES)
    throw refuse(given, `a tarball of ${names.length} members nslab import cannot list one by one`);
  const problems: Problem[] = [];
  const files = new Set<string>();
  const sizes = new Map<string, number>();
  const seen = new Set<string>();
  const rawOf = new Map<string, string>();
  names.forEach((raw, i) => {
    const name = raw.replace(/^\.\//, '');
    const at = `${given}: member '${raw}'`;
    const bad = (message: string) =>
      problems.push({ file: given, line: 1, col: 1, message: `${at}: ${message}`, hint: HINT });
    if (!inside(name)) return bad('its name leaves the report (an absolute path or ..)');
    // any type: `tar -x NAME` extracts every member of that name, the last one wins (a hard link replaced the file)
    const rel = posix.normalize(name).replace(/\/+$/, '');
    const type = verbose[i]![0]!;
    const twice = seen.has(rel);
    seen.add(rel);
    if (REFUSED[type]) return bad(`${REFUSED[type]}: a sos report holds none`);
    if (twice) return bad('given twice in the tarball: which one is the report is not clear');
    if (type === 'l' || type === 'h') {
      const sep = type === 'l' ? ' -> ' : ' link to ';
      const line = verbose[i]!;
      const target = line.slice(line.indexOf(`${raw}${sep}`) + raw.length + sep.length);
      const resolved = type === 'l' ? posix.join(posix.dirname(name), target) : target.replace(/^\.\//, '');
      if (target.startsWith('/') || !inside(resolved))
        bad(`a ${type === 'l' ? 'symlink' : 'hard link'} to '${target}', outside the report`);
      return;
    }
    if (type !== '-') return; // directories, and what import never reads
    files.add(rel);
    rawOf.set(rel, raw);
    const size = Number(verbose[i]!.split(/\s+/)[2]);
    sizes.set(rel, Number.isFinite(size) ? size : Infinity);
  });
  if (problems.length) throw new LabFileError(problems.slice(0, 50));
  let dir: string | undefined;
  return {
    given,
    files,
    read: async (paths) => {
      for (const p of paths)
        if ((sizes.get(p) ?? 0) > MAX_FILE)
          throw refuse(
            `${given}: ${p}`,
            `${sizes.get(p)} bytes, more than the ${MAX_FILE} nslab import reads of one file`,
          );
      dir ??= mkdtempSync(join(tmpdir(), 'nslab-sos-'));
      const members = paths.map((p) => rawOf.get(p) ?? p);
      // only these regular files (the listing refused devices, FIFOs and names given twice), by name, without owners
      // or modes from the tarball, never replacing a file already made
      const opts = ['--no-same-owner', '--no-same-permissions', '--keep-old-files', '--no-wildcards'];
      await tar(['-xf', given, '-C', dir, ...opts, '--', ...members], given, signal);
      return new Map(paths.map((p) => [p, readRegularFile(join(dir!, p), `${given}: member '${rawOf.get(p) ?? p}'`)]));
    },
    close: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

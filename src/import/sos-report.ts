// A sos report as nslab import reads it: the unpacked folder, or the tarball sos wrote (.tar.xz, .tar.gz, ...), read
// without trusting it. A tarball is listed first (tar -tv): a member that leaves the report (an absolute name, a '..'
// step, a symlink or a hard link whose target is outside it) refuses the whole report; then only the regular files
// import reads are extracted, by name, into a private temporary directory that is removed afterwards (no link is ever
// made). A folder is walked the same way: a symlink in it that points outside it refuses the report, and the files
// read must be regular files, not links. Every file read is bounded in size.
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

export async function openReport(given: string): Promise<Report> {
  let st;
  try {
    st = statSync(given);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw refuse(given, code === 'ENOENT' ? 'no such file or folder' : `cannot read it (${code})`, 'check the path');
  }
  return st.isDirectory() ? openFolder(given) : openTarball(given);
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
    read: (paths) => Promise.resolve(new Map(paths.map((p) => [p, readBounded(join(top, p), p)]))),
    close: () => {},
  };
}

/** A regular file's text, at most MAX_FILE bytes; opened without following a symlink, checked on the open file. */
function readBounded(path: string, shown: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw refuse(path, `${shown} cannot be read as a regular file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const s = fstatSync(fd);
    if (!s.isFile()) throw refuse(path, `${shown} is not a regular file`);
    if (s.size > MAX_FILE)
      throw refuse(path, `${s.size} bytes, more than the ${MAX_FILE} nslab import reads of one file`, HINT);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

async function tar(args: string[], given: string): Promise<string> {
  try {
    const { stdout } = await run('tar', args, { maxBuffer: 256 << 20, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (e) {
    const err = e as NodeJS.ErrnoException & { stderr?: string };
    if (err.code === 'ENOENT')
      throw new EnvironmentError('tar is not installed', 'install tar (and xz-utils for .tar.xz)');
    const why = (err.stderr ?? err.message).trim().split('\n')[0] ?? '';
    throw refuse(given, `not a tarball tar can read: ${why}`, `${HINT}; or give the folder it unpacks to`);
  }
}

/** A tarball: listed and checked, then its needed regular files extracted by name into a private directory. */
async function openTarball(given: string): Promise<Report> {
  const names = (await tar(['-tf', given], given)).split('\n').filter((l) => l);
  const verbose = (await tar(['-tvf', given, '--numeric-owner'], given)).split('\n').filter((l) => l);
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
    const type = verbose[i]![0];
    const rel = name;
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
    if (seen.has(rel)) return bad('given twice in the tarball: which one is the report is not clear');
    seen.add(rel);
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
      // only these regular files, by name, without owners or modes from the tarball
      await tar(['-xf', given, '-C', dir, '--no-same-owner', '--no-same-permissions', '--', ...members], given);
      return new Map(paths.map((p) => [p, readBounded(join(dir!, p), `${given}: ${p}`)]));
    },
    close: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

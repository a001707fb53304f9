// Reads a snapshot file through its schema: every wrong field at once, each
// at its JSON path in the file the user gave (`FILE: routes.4[2].dst: ...`),
// exit 2; never a stack trace. Then what no schema of one item can see: an
// interface name given twice.
import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { JsonFileError, type JsonProblem } from '../errors.js';
import { SNAPSHOT_VERSION, SnapshotSchema, said, type Snapshot } from './schema.js';

const TAKE = "'nslab snapshot -o FILE' on the machine, or 'nslab snapshot --node LAB NODE -o FILE' for a lab node";
export const MAKE_ONE = `make a snapshot with ${TAKE}`;
const FIX = `correct the fields named above, or take the snapshot again: ${TAKE}`;

type Issue = z.core.$ZodIssue;
type Path = (string | number)[];

function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  null: 'null',
  array: 'a list',
  object: 'an object',
  record: 'an object',
};

/** One zod issue as a line: messages written in the schema are taken as they are, zod's own are said here. */
function problemOf(issue: Issue, data: unknown): JsonProblem {
  const path = issue.path as Path;
  const value = valueAt(data, path);
  switch (issue.code) {
    case 'invalid_type':
      if (value === undefined) return { path, message: 'required field is missing' };
      return { path, message: `expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${said(value)}` };
    case 'too_small':
      if (issue.origin === 'string') return { path, message: 'must not be empty' };
      return { path, message: `${said(value)} is out of range: must be at least ${issue.minimum}` };
    case 'too_big':
      return { path, message: `${said(value)} is out of range: must be at most ${issue.maximum}` };
    case 'invalid_value':
      return {
        path,
        message: `${said(value)} is not allowed: must be ${issue.values.map((v) => said(v)).join(' or ')}`,
      };
    case 'invalid_key':
      return { path, message: issue.issues[0]?.message ?? `${said(path.at(-1))} is not allowed as a key here` };
    default:
      return {
        path,
        message: issue.message.startsWith('Invalid') ? `${said(value)} is not valid here` : issue.message,
      };
  }
}

/** Checks what a snapshot file holds before anything is made of it; throws JsonFileError with every problem. */
export function checkSnapshot(data: unknown, file: string): Snapshot {
  const stop = (problems: JsonProblem[], hint = FIX) => new JsonFileError(file, problems, hint);
  if (!data || typeof data !== 'object' || Array.isArray(data))
    throw stop(
      [{ path: [], message: `not an nslab snapshot: the file holds ${said(data)}, not a JSON object` }],
      MAKE_ONE,
    );
  const version = (data as Record<string, unknown>)['nslab-snapshot'];
  // another version is another format: its fields are not this one's problems
  if (version !== SNAPSHOT_VERSION)
    throw stop(
      [
        version === undefined
          ? { path: [], message: "not an nslab snapshot: it has no 'nslab-snapshot' field (the version of the format)" }
          : {
              path: ['nslab-snapshot'],
              message: `${said(version)}, and this nslab reads version ${SNAPSHOT_VERSION} of the snapshot format`,
            },
      ],
      MAKE_ONE,
    );
  const parsed = SnapshotSchema.safeParse(data);
  if (!parsed.success) throw stop(parsed.error.issues.map((i) => problemOf(i, data)));
  const snap = parsed.data;
  const problems: JsonProblem[] = [];
  const first = new Map<string, number>();
  snap.addresses.forEach((a, i) => {
    const j = first.get(a.ifname);
    if (j === undefined) first.set(a.ifname, i);
    else {
      const message = `${said(a.ifname)} is also the name of addresses[${j}]: a machine's interface names are unique`;
      problems.push({ path: ['addresses', i, 'ifname'], message });
    }
  });
  if (problems.length) throw stop(problems);
  return snap;
}

/** Reads and checks the snapshot file FILE. */
export function readSnapshotFile(file: string): Snapshot {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new JsonFileError(file, [{ path: [], message: 'no such file' }], MAKE_ONE);
    const why = code ?? (e as Error).message;
    throw new JsonFileError(
      file,
      [{ path: [], message: `cannot read it (${why})` }],
      'check the path and its permissions',
    );
  }
  let data: unknown;
  // a byte-order mark, as some editors write, is no part of the JSON
  const json = text.replace(/^\uFEFF/, '');
  try {
    data = JSON.parse(json);
  } catch (e) {
    // where it stops, as an editor shows it
    const message = (e as Error).message.replace(/ at position (\d+)/, (m, at: string) => {
      const before = json.slice(0, Number(at)).split('\n');
      return `${m} (line ${before.length}, column ${before.at(-1)!.length + 1})`;
    });
    throw new JsonFileError(file, [{ path: [], message: `not JSON: ${message}` }], MAKE_ONE);
  }
  return checkSnapshot(data, file);
}

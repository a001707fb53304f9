// Turns zod issues into positioned, friendly problems. Messages here are
// golden-tested (test/fixtures/bad/*.err), so change them deliberately.
import type { z } from 'zod';
import type { Problem } from '../errors.js';
import type { LoadedFile, Path } from './load.js';
import {
  ApplySpec,
  Expect,
  InterfaceObject,
  LabSpec,
  LinkObject,
  NodeSpec,
  Probes,
  Service,
  StageSpec,
  TestSpec,
} from './schema.js';
import { suggest } from './suggest.js';

type Issue = z.core.$ZodIssue;

function valueAt(data: unknown, path: Path): unknown {
  let v: unknown = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[k] : undefined;
  return v;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v.length > 40 ? v.slice(0, 40) + '…' : v}'`;
  // what is left of parsed JSON or YAML: a number, a boolean (or undefined)
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}

/** What object sits at this path, for "unknown key" messages and their suggestions. */
function contextAt(path: Path): { what: string; keys: string[] } {
  const p = path.map(String);
  const last = p[p.length - 1];
  const n = p.length;
  if (n === 0) return { what: 'the lab', keys: Object.keys(LabSpec.shape) };
  if (p[0] === 'nodes' && n === 2) return { what: `node '${last}'`, keys: Object.keys(NodeSpec.shape) };
  if (p[0] === 'nodes' && p[2] === 'interfaces' && n === 4)
    return { what: `interface '${last}' of node '${p[1]}'`, keys: Object.keys(InterfaceObject.shape) };
  if (p[n - 2] === 'services' && n >= 4) return { what: 'a service', keys: Object.keys(Service.shape) };
  if (p[0] === 'links' && n === 2) return { what: `link ${Number(last) + 1}`, keys: Object.keys(LinkObject.shape) };
  if (p[0] === 'stages' && n === 2) return { what: `stage ${Number(last) + 1}`, keys: Object.keys(StageSpec.shape) };
  if (p[2] === 'apply' && n === 4) return { what: `the apply of node '${last}'`, keys: Object.keys(ApplySpec.shape) };
  if (p[2] === 'apply' && p[4] === 'interfaces' && n === 6)
    return { what: `interface '${last}'`, keys: Object.keys(InterfaceObject.shape) };
  if (p[2] === 'tests' && n === 4) return { what: `test ${Number(last) + 1}`, keys: Object.keys(TestSpec.shape) };
  if (p[2] === 'tests' && n === 5 && last === 'expect') return { what: 'expect', keys: Object.keys(Expect.shape) };
  if (p[2] === 'tests' && n === 5 && last && last in Probes)
    return { what: `the ${last} probe`, keys: Object.keys(Probes[last as keyof typeof Probes].shape) };
  return { what: `'${last}'`, keys: [] };
}

const TYPE_WORDS: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping',
  record: 'a mapping',
  tuple: 'a list',
};

export function schemaProblems(issues: readonly Issue[], loaded: LoadedFile): Problem[] {
  const out: Problem[] = [];
  const push = (path: Path, message: string, hint?: string, key = false) => {
    const at = loaded.locate(path, key);
    out.push({ file: loaded.file, line: at.line, col: at.col, message, hint });
  };
  const visit = (issue: Issue, base: Path) => {
    const path = [...base, ...(issue.path as Path)];
    const value = valueAt(loaded.data, path);
    const last = path[path.length - 1];
    const field = typeof last === 'string' ? `${last}: ` : '';
    if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
      push(path.slice(0, -1), `missing required key '${String(last)}'`, `add '${String(last)}:' here`);
      return;
    }
    switch (issue.code) {
      case 'unrecognized_keys': {
        const ctx = contextAt(path);
        for (const k of issue.keys)
          push([...path, k], `unknown key '${k}' in ${ctx.what}`, suggest(k, ctx.keys, 'keys'), true);
        return;
      }
      case 'invalid_type':
        push(path, `${field}expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, got ${describe(value)}`);
        return;
      case 'invalid_union': {
        // Where the value's shape picks one branch (a mapping for the object form),
        // its own problems are more useful than the union's summary.
        const isObj = value !== null && typeof value === 'object' && !Array.isArray(value);
        const branch = issue.errors.find(
          (errs) => errs.length > 0 && errs.every((e) => e.code !== 'invalid_type' || e.path.length > 0),
        );
        if (isObj && branch) {
          for (const e of branch) visit(e, path);
          return;
        }
        push(path, issue.message === 'Invalid input' ? `${field}${describe(value)} is not valid here` : issue.message);
        return;
      }
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? `at least ${issue.minimum}` : `at most ${issue.maximum}`;
        const unit = issue.origin === 'array' ? ' entries' : issue.origin === 'string' ? ' characters' : '';
        if (
          issue.code === 'too_small' &&
          Number(issue.minimum) === 1 &&
          (issue.origin === 'string' || issue.origin === 'array')
        )
          push(
            path,
            `${field || 'this '}must not be empty`,
            issue.origin === 'string' ? 'write a value' : 'list at least one entry',
          );
        else push(path, `${field}${describe(value)} is out of range: must be ${bound}${unit}`);
        return;
      }
      case 'invalid_key': {
        // a mapping's key its schema refuses (an http header name): the key's own rule says what it must be
        const why = issue.issues[0]?.message;
        push(path, `${String(last)}: not a valid key here${why ? `: ${why}` : ''}`, undefined, true);
        return;
      }
      case 'invalid_value':
        push(path, `${field}${describe(value)} is not allowed`, `use one of: ${issue.values.map(String).join(', ')}`);
        return;
      default:
        push(
          path,
          issue.message.startsWith('Invalid')
            ? `${field}${describe(value)} is not valid here`
            : // a refinement that asks for it (a payload's escape, a regex) is named by its key, and gives a hint
              `${issue.code === 'custom' && issue.params?.field === true ? field : ''}${issue.message}`,
          issue.code === 'custom' && typeof issue.params?.hint === 'string' ? issue.params.hint : undefined,
        );
    }
  };
  for (const issue of issues) visit(issue, []);
  return out;
}

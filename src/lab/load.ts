// Reads a lab file as YAML while keeping every value's position, so that each
// later problem can be reported as file:line:col.
//
// Two parsers: the `yaml` library keeps positions and words its errors well,
// but it takes ~60 ms to read a 200-node lab (~150 ms at 1000 nodes, plus
// ~20 ms to load); js-yaml reads the same file in ~7 ms. A plain file (no
// anchors, aliases, tags, directives, complex or null keys: see PLAIN_ONLY) is
// read with js-yaml under YAML 1.2's core schema, exactly as `yaml` reads it;
// `yaml` then parses it only if a position is asked for (a problem, a step's
// error message), which the resolver asks lazily. Anything else, and any file
// js-yaml refuses, is read by `yaml` as before, with its messages.
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import jsyaml from 'js-yaml';
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import type { Problem } from '../errors.js';

export type Path = (string | number)[];

export interface LoadedFile {
  file: string;
  data: unknown;
  /** Position of the value at `path` (or of its key, with `key`), falling back to the nearest parent. */
  locate: (path: Path, key?: boolean) => { line: number; col: number };
  problems: Problem[];
}

// `yaml` is loaded when first needed (not a static import: loading it costs ~20 ms)
const requireHere = createRequire(import.meta.url);
let yamlLib: typeof Yaml | undefined;
const yaml = () => (yamlLib ??= requireHere('yaml') as typeof Yaml);

// YAML 1.2 core schema scalars, with the `yaml` library's exact rules (js-yaml's own
// int and float also take 0b101, -0x1F, and read 1e400 as a string)
const coreInt = new jsyaml.Type('tag:yaml.org,2002:int', {
  kind: 'scalar',
  resolve: (s: string | null) => s !== null && /^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$/.test(s),
  construct: (s: string) =>
    s.startsWith('0o') ? parseInt(s.slice(2), 8) : s.startsWith('0x') ? parseInt(s.slice(2), 16) : parseInt(s, 10),
});
const coreFloat = new jsyaml.Type('tag:yaml.org,2002:float', {
  kind: 'scalar',
  resolve: (s: string | null) =>
    s !== null &&
    /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+|[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*))$/.test(
      s,
    ),
  construct: (s: string) =>
    /nan$/i.test(s) ? NaN : /inf$/i.test(s) ? (s[0] === '-' ? -Infinity : Infinity) : parseFloat(s),
});
// (js-yaml's core null and bool are YAML 1.2's; types of the same tag replace its int and float)
const CORE = jsyaml.CORE_SCHEMA.extend({ implicit: [coreInt, coreFloat] });
/**
 * What only `yaml` reads as the lab format means: anchors, aliases, tags,
 * directives, merge keys, complex keys (? and flow collections as keys), null
 * or empty keys (`yaml` makes them '', js-yaml 'null'), __proto__. A match
 * (also inside a string or comment) only means the slower parser is used.
 */
const PLAIN_ONLY = /[&*!?]|^%|<<|__proto__|[\]}][ \t]*:|(?:^|[\s{,-])(?:~|null|Null|NULL)?[ \t]*:(?:[ \t]|$)/m;

/** The data of a plain YAML mapping, read fast; undefined where `yaml` must read it. */
export function fastRead(text: string): Record<string, unknown> | undefined {
  if (PLAIN_ONLY.test(text)) return undefined;
  try {
    const data = jsyaml.load(text, { schema: CORE, json: false });
    return data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // its problems are reported by `yaml`, with its messages
  }
}

export function loadLabText(text: string, file: string): LoadedFile {
  const data = fastRead(text);
  if (data === undefined) return loadWithYaml(text, file);
  let precise: LoadedFile | undefined;
  return { file, data, problems: [], locate: (path, key) => (precise ??= loadWithYaml(text, file)).locate(path, key) };
}

/** The `yaml` library's reading, positions and problems included (the reference the fast reading must equal). */
export function loadWithYaml(text: string, file: string): LoadedFile {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  // logLevel: the yaml library would print its own warnings on stderr, lines without file:line:col
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  // nesting deep enough to exhaust the parser's stack fails at places that depend on the stack: one problem, at a fixed
  // place
  const tooDeep = doc.errors.some((e) => /Maximum call stack/.test(e.message));
  const problems: Problem[] = tooDeep
    ? [
        {
          file,
          line: 1,
          col: 1,
          message: 'YAML nests too deeply to read',
          hint: 'a lab file needs a few levels of nesting, not thousands',
        },
      ]
    : doc.errors.map((e) => {
        const at = e.linePos?.[0] ?? { line: 1, col: 1 };
        if (/multiple documents/.test(e.message))
          return {
            file,
            line: at.line,
            col: at.col,
            message: 'a lab file is one YAML document, and this one has more',
            hint: "remove the '---' and what follows, or split it into two lab files",
          };
        const message = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
        return { file, line: at.line, col: at.col, message: `YAML syntax: ${message}`, hint: yamlHint(e.code) };
      });
  const locate = (path: Path, key = false) => position(doc, lineCounter, path, key);
  let data: unknown;
  if (!problems.length) {
    // aliases are expanded here: a bomb, a dangling alias or a cycle is a located problem, never a crash
    const alias = firstAlias(doc);
    const at = alias?.range ? lineCounter.linePos(alias.range[0]) : { line: 1, col: 1 };
    try {
      data = doc.toJS({ maxAliasCount: 100 });
      if (isCyclic(data))
        problems.push({
          file,
          ...at,
          message: 'YAML alias refers to a node that contains it (a cycle)',
          hint: 'a lab file is a tree: copy the settings instead',
        });
    } catch (e) {
      const m = (e as Error).message;
      problems.push({
        file,
        ...at,
        message: /Excessive alias count/.test(m)
          ? 'YAML aliases expand to too much (more than 100 expansions)'
          : /Unresolved alias/.test(m)
            ? `YAML alias does not refer to an anchor defined before it${/: (\S+)$/.exec(m) ? ` (*${/: (\S+)$/.exec(m)![1]})` : ''}`
            : `YAML: ${m.split('\n')[0]}`,
        hint: 'define each anchor (&name) before its aliases (*name), and use aliases sparingly',
      });
    }
    if (problems.length) data = undefined;
  }
  return { file, data, locate, problems };
}

export function loadLabFile(file: string): LoadedFile {
  let text: string;
  try {
    const bytes = readFileSync(file);
    try {
      text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      // where the first byte that is not UTF-8 stands
      let ok = 0;
      for (let n = bytes.length; n > 0; n >>= 1)
        while (ok + n <= bytes.length && isUtf8(bytes.subarray(0, ok + n))) ok += n;
      const before = bytes.subarray(0, ok).toString('utf8').split('\n');
      return {
        file,
        data: undefined,
        locate: () => ({ line: 1, col: 1 }),
        problems: [
          {
            file,
            line: before.length,
            col: before.at(-1)!.length + 1,
            message: 'the file is not UTF-8 text',
            hint: 'save it as UTF-8',
          },
        ],
      };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      file,
      data: undefined,
      locate: () => ({ line: 1, col: 1 }),
      problems: [
        { file, line: 1, col: 1, message: `cannot read lab file (${code ?? String(e)})`, hint: 'check the path' },
      ],
    };
  }
  return loadLabText(text, file);
}

function firstAlias(doc: Document): YamlNode | undefined {
  let found: YamlNode | undefined;
  const { visit } = yaml();
  visit(doc, {
    Alias(_, node) {
      found = node;
      return visit.BREAK;
    },
  });
  return found;
}

function isCyclic(v: unknown, stack = new Set<object>()): boolean {
  if (!v || typeof v !== 'object') return false;
  if (stack.has(v)) return true;
  stack.add(v);
  const cyclic = Object.values(v).some((x) => isCyclic(x, stack));
  stack.delete(v);
  return cyclic;
}

function yamlHint(code: string): string | undefined {
  switch (code) {
    case 'DUPLICATE_KEY':
      return 'each key may appear once in a mapping; merge the two entries';
    case 'BAD_INDENT':
    case 'MISSING_CHAR':
      return 'check the indentation and the `:` after each key';
    case 'TAB_AS_INDENT':
      return 'indent with spaces, not tabs';
    default:
      return 'fix the YAML syntax at this place';
  }
}

function position(doc: Document, lc: LineCounter, path: Path, key: boolean): { line: number; col: number } {
  const { isMap, isPair, isScalar } = yaml();
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    let node: YamlNode | undefined;
    if (key && n === path.length && n > 0) {
      const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(sub[sub.length - 1]),
        );
        node = pair?.key as YamlNode | undefined;
      }
    }
    node ??= (n === 0 ? doc.contents : doc.getIn(sub, true)) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) {
      const lp = lc.linePos(node.range[0]);
      return { line: lp.line, col: lp.col };
    }
  }
  return { line: 1, col: 1 };
}

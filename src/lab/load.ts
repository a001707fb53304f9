// Reads a lab file as YAML while keeping every value's position, so that each
// later problem can be reported as file:line:col.
import { readFileSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { LineCounter, parseDocument, isMap, isPair, isScalar, visit, type Document, type Node as YamlNode } from 'yaml';
import type { Problem } from '../errors.js';

export type Path = (string | number)[];

export interface LoadedFile {
  file: string;
  data: unknown;
  /** Position of the value at `path` (or of its key, with `key`), falling back to the nearest parent. */
  locate(path: Path, key?: boolean): { line: number; col: number };
  problems: Problem[];
}

export function loadLabText(text: string, file: string): LoadedFile {
  const lineCounter = new LineCounter();
  // logLevel: the yaml library would print its own warnings on stderr, lines without file:line:col
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true, logLevel: 'error' });
  // nesting deep enough to exhaust the parser's stack fails at places that depend on the stack: one problem, at a fixed place
  const tooDeep = doc.errors.some((e) => /Maximum call stack/.test(e.message));
  const problems: Problem[] = tooDeep
    ? [{ file, line: 1, col: 1, message: 'YAML nests too deeply to read', hint: 'a lab file needs a few levels of nesting, not thousands' }]
    : doc.errors.map((e) => {
      const at = e.linePos?.[0] ?? { line: 1, col: 1 };
      if (/multiple documents/.test(e.message)) return { file, line: at.line, col: at.col, message: 'a lab file is one YAML document, and this one has more', hint: "remove the '---' and what follows, or split it into two lab files" };
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
      if (isCyclic(data)) problems.push({ file, ...at, message: 'YAML alias refers to a node that contains it (a cycle)', hint: 'a lab file is a tree: copy the settings instead' });
    } catch (e) {
      const m = (e as Error).message;
      problems.push({
        file, ...at,
        message: /Excessive alias count/.test(m) ? 'YAML aliases expand to too much (more than 100 expansions)' : /Unresolved alias/.test(m) ? `YAML alias does not refer to an anchor defined before it${/: (\S+)$/.exec(m) ? ` (*${/: (\S+)$/.exec(m)![1]})` : ''}` : `YAML: ${m.split('\n')[0]}`,
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
      for (let n = bytes.length; n > 0; n >>= 1) while (ok + n <= bytes.length && isUtf8(bytes.subarray(0, ok + n))) ok += n;
      const before = bytes.subarray(0, ok).toString('utf8').split('\n');
      return { file, data: undefined, locate: () => ({ line: 1, col: 1 }), problems: [{ file, line: before.length, col: before.at(-1)!.length + 1, message: 'the file is not UTF-8 text', hint: 'save it as UTF-8' }] };
    }
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return {
      file, data: undefined, locate: () => ({ line: 1, col: 1 }),
      problems: [{ file, line: 1, col: 1, message: `cannot read lab file (${code ?? String(e)})`, hint: 'check the path' }],
    };
  }
  return loadLabText(text, file);
}

function firstAlias(doc: Document): YamlNode | undefined {
  let found: YamlNode | undefined;
  visit(doc, { Alias(_, node) { found = node; return visit.BREAK; } });
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
    case 'DUPLICATE_KEY': return 'each key may appear once in a mapping; merge the two entries';
    case 'BAD_INDENT':
    case 'MISSING_CHAR': return 'check the indentation and the `:` after each key';
    case 'TAB_AS_INDENT': return 'indent with spaces, not tabs';
    default: return 'fix the YAML syntax at this place';
  }
}

function position(doc: Document, lc: LineCounter, path: Path, key: boolean): { line: number; col: number } {
  for (let n = path.length; n >= 0; n--) {
    const sub = path.slice(0, n);
    let node: YamlNode | undefined;
    if (key && n === path.length && n > 0) {
      const parent = sub.length > 1 ? doc.getIn(sub.slice(0, -1), true) : doc.contents;
      if (isMap(parent)) {
        const pair = parent.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(sub[sub.length - 1]));
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

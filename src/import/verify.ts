// What import writes must be a lab nslab accepts: the text is checked in
// memory as `nslab validate` would check the file. A problem there is nslab's
// own (a bug, or a construct import does not support yet), and the user can
// only act on the snapshot: each is said at the JSON path of the part of the
// snapshot that produced it (Origin), never at a place in a file that does
// not exist.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import type { Document, LineCounter, Node as YamlNode } from 'yaml';
import { JsonFileError, type JsonProblem, type Problem } from '../errors.js';
import { loadLabText } from '../lab/load.js';
import { checkLab } from '../lab/resolve.js';
import type { Imported, Path } from './to-lab.js';

const requireHere = createRequire(import.meta.url);
const REPORT =
  'not supported by nslab import yet, or a bug in it: please report it with the snapshot; ' +
  'meanwhile, leave this part out of the snapshot';

/** Throws JsonFileError if TEXT (the lab made of the snapshot FILE) is not a lab nslab accepts. */
export function verifyImported(text: string, imported: Imported, file: string): void {
  const { problems } = checkLab(loadLabText(text, 'the imported lab'));
  if (!problems.length) return;
  const pathAt = positions(text);
  const byAt = new Map(imported.origins.map((o) => [JSON.stringify(o.at), o]));
  const out: JsonProblem[] = problems.map((p) => {
    const at = pathAt(p);
    for (let n = at.length; n > 0; n--) {
      const o = byAt.get(JSON.stringify(at.slice(0, n)));
      if (o) return { path: o.from, message: `${o.what} cannot be imported: the lab made of it says: ${p.message}` };
    }
    const where = at.map(String).join('.') || 'the top';
    return {
      path: [],
      message: `nslab import made a lab nslab does not accept: ${p.message} (at ${where} of the lab)`,
    };
  });
  throw new JsonFileError(file, out, REPORT);
}

/**
 * The path in the lab of the value (or key) a problem is located at: the outermost one that starts there, else the last
 * before.
 */
function positions(text: string): (p: Problem) => Path {
  const { LineCounter, parseDocument, isMap, isSeq, isScalar, isPair } = requireHere('yaml') as typeof Yaml;
  const lc: LineCounter = new LineCounter();
  const doc: Document = parseDocument(text, { lineCounter: lc });
  const starts: { line: number; col: number; path: Path }[] = [];
  const seen = new Set<string>();
  const add = (node: YamlNode | null | undefined, path: Path) => {
    if (!node?.range) return;
    const { line, col } = lc.linePos(node.range[0]);
    const key = `${line}:${col}`;
    if (!seen.has(key)) {
      seen.add(key);
      starts.push({ line, col, path });
    }
  };
  const walk = (node: unknown, path: Path) => {
    if (isMap(node)) {
      add(node, path);
      for (const pair of node.items) {
        if (!isPair(pair) || !isScalar(pair.key)) continue;
        const p = [...path, String(pair.key.value)];
        add(pair.key, p);
        walk(pair.value, p);
      }
    } else if (isSeq(node)) {
      add(node, path);
      node.items.forEach((item, i) => walk(item, [...path, i]));
    } else add(node as YamlNode, path);
  };
  walk(doc.contents, []);
  return (p) => {
    let best: Path = [];
    for (const s of starts) {
      if (s.line === p.line && s.col === p.col) return s.path;
      if (s.line < p.line || (s.line === p.line && s.col < p.col)) best = s.path;
    }
    return best;
  };
}

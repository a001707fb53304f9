// The imported lab as the YAML file `nslab import` writes: the notes as comments on top, each note about a route or
// a rule also at the place in the node's list where it would have been, and the summary line last.
import type { YAMLSeq } from 'yaml';
import { oneLine } from '../errors.js';
import type { Imported } from './to-lab.js';

export async function renderImported(imp: Imported, from: string): Promise<string> {
  // in the bundle, yaml's classes sit under `default` (as in cli/common.ts)
  const yaml = await import('yaml');
  const { Document, isSeq, isMap } = yaml.Document ? yaml : (yaml as unknown as { default: typeof yaml }).default;
  // a comment is one line: what the snapshot holds is escaped (oneLine), never a line of the lab
  const head = [`# made by nslab import from ${oneLine(from)}`, ...imp.notes.map((n) => `# note: ${oneLine(n)}`)];
  const doc = new Document(imp.lab);
  for (const p of imp.placed) {
    const line = ` note: ${oneLine(p.note)}`;
    const add = (o: { commentBefore?: string | null; comment?: string | null }, k: 'commentBefore' | 'comment') => {
      o[k] = o[k] ? `${o[k]}\n${line}` : line;
    };
    const at = doc.getIn(p.at, true);
    if (isSeq(at)) {
      const item = (at as YAMLSeq<{ commentBefore?: string | null }>).items[p.index ?? Infinity];
      if (item && typeof item === 'object') add(item, 'commentBefore');
      else add(at, 'comment');
      continue;
    }
    // no such list (nothing of its kind was imported): on the map that would hold it
    const parent = doc.getIn(p.at.slice(0, -1), true);
    if (isMap(parent)) add(parent, 'comment');
    else add(doc, 'comment');
  }
  return [...head, doc.toString({ lineWidth: 0 }).trimEnd(), `# ${oneLine(imp.summary)}`, ''].join('\n');
}

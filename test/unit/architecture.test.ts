// docs/architecture.md is true to the code: every folder it names exists and
// every folder of src/ is named; every import between folders is one its row
// allows; the allowed imports have no cycle (each points down a floor); and its
// diagram is exactly the graph of the real imports between folders.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const doc = readFileSync('docs/architecture.md', 'utf8');

/** The table: folder -> the folders it may import. */
function rows(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^\|\s*`([a-z]+)(?:\/|\.ts)`\s*\|.*\|\s*([^|]*?)\s*\|$/.exec(line);
    if (!m) continue;
    const may = m[2]!.trim() === '(nothing)' ? [] : m[2]!.split(',').map((s) => s.trim());
    out.set(m[1]!, new Set(may));
  }
  return out;
}

/** The diagram's edges, as "from -> to". */
function diagram(text: string): Set<string> {
  const block = /```mermaid\n([\s\S]*?)```/.exec(text)?.[1] ?? '';
  return new Set([...block.matchAll(/^ {2}([a-z]+) --> ([a-z]+)$/gm)].map((m) => `${m[1]} -> ${m[2]}`));
}

/** The folder (or top-level module) of a path under src/. */
const unit = (p: string) => p.split('/')[0]!.replace(/\.(ts|js)$/, '');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Every import between two folders of src/, as "from -> to", with the file that makes it. */
function imports(): Map<string, string> {
  const out = new Map<string, string>();
  for (const f of files('src')) {
    const from = unit(relative('src', f));
    if (from === 'index') continue; // the package's entry re-exports from anywhere
    for (const m of readFileSync(f, 'utf8').matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)) {
      const to = unit(relative('src', normalize(join(dirname(f), m[1]!))));
      if (to !== from) out.set(`${from} -> ${to}`, f);
    }
  }
  return out;
}

describe('docs/architecture.md', () => {
  const table = rows(doc);
  const real = imports();

  it('names every folder of src/, and only folders that exist', () => {
    const present = readdirSync('src')
      .filter((f) => f !== 'index.ts')
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    expect([...table.keys()].sort()).toEqual(present);
  });

  it('every import between folders is one the table allows', () => {
    const against = [...real].filter(([edge]) => {
      const [from, to] = edge.split(' -> ') as [string, string];
      return !table.get(from)?.has(to);
    });
    expect(against.map(([edge, file]) => `${edge} (${file})`)).toEqual([]);
  });

  it('the allowed imports point down: no cycle among them', () => {
    const seen = new Set<string>();
    const onPath = new Set<string>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (onPath.has(n)) return void cycles.push([...path, n].join(' -> '));
      if (seen.has(n)) return;
      seen.add(n);
      onPath.add(n);
      for (const m of table.get(n) ?? []) visit(m, [...path, n]);
      onPath.delete(n);
    };
    for (const n of table.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it('the diagram is the graph of the real imports', () => {
    expect([...diagram(doc)].sort()).toEqual([...real.keys()].sort());
  });

  it('the twin: an import against the stated direction is caught', () => {
    const planted = new Map(real).set('lab -> engine', 'src/lab/planted.ts');
    const against = [...planted].filter(([edge]) => {
      const [from, to] = edge.split(' -> ') as [string, string];
      return !table.get(from)?.has(to);
    });
    expect(against.map(([e]) => e)).toEqual(['lab -> engine']);
  });
});

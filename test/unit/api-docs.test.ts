// docs/api.md teaches with files that the suite runs: every code example in it
// is a quoted file of examples/vitest, and must be that file as it is now.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const doc = readFileSync('docs/api.md', 'utf8');
const quotes = [...doc.matchAll(/<!-- quoted: (\S+) -->\n```\w+\n([\s\S]*?)```/g)].map((m) => ({
  file: m[1]!,
  text: m[2]!,
}));

describe('docs/api.md', () => {
  it('quotes each file exactly as it is', () => {
    expect(quotes.length).toBeGreaterThan(4);
    for (const q of quotes)
      expect(q.text, `docs/api.md quotes ${q.file}: copy the file in again`).toBe(readFileSync(q.file, 'utf8'));
  });

  it('quotes every test of the example project', () => {
    const tests = readdirSync('examples/vitest/test').map((f) => `examples/vitest/test/${f}`);
    expect(tests.filter((f) => !quotes.some((q) => q.file === f))).toEqual([]);
  });

  it('has no TypeScript example that is not a quoted file', () => {
    const blocks = [...doc.matchAll(/(<!-- quoted: \S+ -->\n)?```ts\n/g)];
    expect(blocks.filter((m) => !m[1]).length).toBe(0);
  });
});

// docs/ci.md's recipes as the tests read them: the code blocks, the docker
// recipes, a command line split into words as a shell would (quotes and
// variables), and the `apt-get install` lines. Shared by ci-docs.test.ts (the
// recipes' shapes and their nslab commands, on this machine) and
// container.test.ts (the checkout recipe itself, in a container).
import { readFileSync } from 'node:fs';

export const DOC = readFileSync('docs/ci.md', 'utf8');
export const blocks = (lang: string) =>
  [...DOC.matchAll(new RegExp('```' + lang + '\\n([\\s\\S]*?)```', 'g'))].map((m) => m[1]!);

/** The recipe that runs the README's main job from a checkout of nslab (one command line). */
export const checkoutRecipe = blocks('sh').find((b) => b.includes('docker run') && b.includes('./scripts/nslab'))!;
/** The recipe for a project with nslab as a dev dependency (npx nslab inside). */
export const projectRecipe = blocks('sh').find((b) => b.includes('docker run') && b.includes('npx nslab'))!;
/** The image the checkout recipe names: the one a test replaces with its own. */
export const RECIPE_IMAGE = 'node:20-bookworm-slim';

/**
 * A command line split into words as sh would: blanks separate, '...' and "..."
 * quote, $NAME and ${NAME} take `vars` (an unknown one is an error: the test
 * must know every value), a backslash-newline continues the line.
 */
export function shellWords(line: string, vars: Record<string, string> = {}): string[] {
  const out: string[] = [];
  let cur = '';
  let word = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else cur += c;
      continue;
    }
    if (c === '\\' && line[i + 1] === '\n') {
      i++;
      continue;
    }
    if (quote === '"' && c === '"') {
      quote = undefined;
      continue;
    }
    if (!quote && (c === '"' || c === "'")) {
      quote = c;
      word = true;
      continue;
    }
    if (!quote && /\s/.test(c)) {
      if (word) out.push(cur);
      cur = '';
      word = false;
      continue;
    }
    const v = c === '$' ? /^\$(?:(\w+)|\{(\w+)\})/.exec(line.slice(i)) : null;
    if (v) {
      const name = v[1] ?? v[2]!;
      if (!(name in vars)) throw new Error(`unknown variable $${name} in: ${line}`);
      cur += vars[name];
      i += v[0].length - 1;
      word = true;
      continue;
    }
    cur += c;
    word = true;
  }
  if (quote) throw new Error(`unterminated ${quote} in: ${line}`);
  if (word) out.push(cur);
  return out;
}

/** The packages of every `apt-get install` in a text, one list per command. */
export function aptInstalls(text: string): string[][] {
  return [...text.matchAll(/apt-get install((?:[ \t]+[-\w.+]+)+)/g)].map((m) =>
    m[1]!
      .trim()
      .split(/\s+/)
      .filter((w) => !w.startsWith('-')),
  );
}

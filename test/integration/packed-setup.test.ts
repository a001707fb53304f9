// docs/api.md's "Set up" as a new user follows it: its commands and files, taken from the page itself (so the page
// cannot drift from what this runs), in a new directory, with nslab from the packed tarball instead of the registry.
// Then what a user sees when nslab throws: stack frames that name files the installed package has.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, tempDir } from './helpers.js';
import { packNslab, shellIn } from './packed.js';

const doc = readFileSync('docs/api.md', 'utf8');
const setup = doc.slice(doc.indexOf('## Set up\n'), doc.indexOf('\n## ', doc.indexOf('## Set up\n') + 1));
const block = (mark: string) => {
  const m = new RegExp(`<!-- setup: ${mark} -->\\n\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(setup);
  if (!m) throw new Error(`docs/api.md's Set up has no <!-- setup: ${mark} --> sh block`);
  return m[1]!.split('\n').filter((l) => l.trim());
};
const EXAMPLE = 'examples/vitest/';
const quotes = [...doc.matchAll(/<!-- quoted: (\S+) -->\n```\w+\n([\s\S]*?)```/g)].map((m) => ({
  file: m[1]!,
  text: m[2]!,
  inSetup: setup.includes(m[0]),
}));
// the files Set up shows (the example's own package.json aside: it depends on the repository by path), and the
// page's first test
const files = [
  ...quotes.filter((q) => q.inSetup && q.file.startsWith(EXAMPLE) && !q.file.endsWith('/package.json')),
  quotes.find((q) => q.file.startsWith(`${EXAMPLE}test/`))!,
].map((q) => ({ path: q.file.slice(EXAMPLE.length), text: q.text }));
// what a user would worry about: Vite's "(!)" notices, npm's and node's warnings, deprecations
const WORRY = /\(!\)|\bwarn(ing)?\b|deprecat/i;

let dir: string, project: string, tarball: string;
const ran: { line: string; code: number | null; out: string }[] = [];
const run = (line: string, env?: Record<string, string>) => {
  const r = { line, ...shellIn(project, line, env) };
  ran.push(r);
  return r;
};

beforeAll(() => {
  dir = tempDir();
  project = join(dir, 'project');
  mkdirSync(project);
  tarball = packNslab(dir);
  for (const line of block('commands')) {
    // nslab from the tarball: the package as the registry would serve it
    const r = run(/^npm (install|i|add)\b/.test(line) ? line.replace(/ nslab(?= |$)/, ` ${tarball}`) : line);
    if (r.code !== 0) throw new Error(`${line}: exit ${r.code}\n${r.out}`);
  }
  for (const f of files) {
    mkdirSync(dirname(join(project, f.path)), { recursive: true });
    writeFileSync(join(project, f.path), f.text);
  }
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("docs/api.md's Set up, from npm init", () => {
  it('takes its commands and files from the page', () => {
    expect(block('commands')[0]).toBe('npm init -y');
    expect(block('commands').some((l) => / nslab( |$)/.test(l))).toBe(true);
    expect(files.map((f) => f.path)).toEqual(expect.arrayContaining(['vitest.config.ts', 'tsconfig.json']));
    expect(files.some((f) => f.path.startsWith('test/') && f.path.endsWith('.test.ts'))).toBe(true);
    expect(JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')).devDependencies.nslab).toMatch(/\.tgz$/);
  });

  it.skipIf(!isRoot)(
    'type-checks and runs its test as written, with nothing a user would worry about',
    () => {
      for (const line of block('run')) {
        // root already: sudo would only change the environment (and may be missing)
        const r = run(line.replace(/^sudo /, ''));
        expect(r.code, `${line}\n${r.out}`).toBe(0);
      }
      expect(ran.at(-1)!.out).toMatch(/Tests +\d+ passed/);
      expect(ran.at(-1)!.out).not.toMatch(/failed/);
      expect(ran.filter((r) => WORRY.test(r.out)).map((r) => `${r.line}\n${r.out}`)).toEqual([]);
    },
    240_000,
  );

  it('would warn as a CommonJS package, as npm init makes it (why the page sets type=module)', () => {
    // the twin of "nothing to worry about": the same check sees Vite's notice without that line
    const type = (t: string) => expect(run(`npm pkg set type=${t}`).code).toBe(0);
    type('commonjs');
    try {
      const r = run('npx vitest run --passWithNoTests no-such-test-file');
      expect(r.out).toMatch(WORRY);
      expect(r.out).toMatch(/ESM syntax in a file loaded as CommonJS/);
    } finally {
      type('module');
    }
  }, 120_000);
});

describe('stack traces from the installed package', () => {
  // defineLab throws a LabFileError for a misspelled key: an error thrown through the API, no root needed
  const THROWS = `import { defineLab } from 'nslab/vitest';
defineLab({ name: 'st', nodes: { a: { forwardng: true } } });
`;
  /** The files of the stack frames in output that lie inside the installed nslab. */
  const nslabFrames = (out: string) =>
    [...out.matchAll(/((?:\/[^\s()]*)?node_modules\/nslab\/[^\s():]+):\d+:\d+/g)].map((m) =>
      m[1]!.startsWith('/') ? m[1]! : join(project, m[1]!),
    );

  it('with node --enable-source-maps: frames name sources the package ships, and the message the caller', () => {
    writeFileSync(join(project, 'throws.mjs'), THROWS);
    const r = run('node --enable-source-maps throws.mjs');
    expect(r.code).not.toBe(0);
    const frames = nslabFrames(r.out);
    // mapped (a .ts source, not the compiled .js) and there
    expect(frames.filter((f) => f.endsWith('.ts')).length, r.out).toBeGreaterThan(0);
    expect(
      frames.filter((f) => !existsSync(f)),
      r.out,
    ).toEqual([]);
    // the twin: a file the package does not have is seen as missing
    expect(existsSync(join(project, 'node_modules/nslab/src/api/no-such-module.ts'))).toBe(false);
    // the problem is placed at the caller's line, not inside nslab's (mapped) sources
    expect(r.out).toContain(`${join(project, 'throws.mjs')}:2:`);
    expect(r.out).not.toMatch(/LabFileError: \S*node_modules\/nslab\//);
  }, 60_000);

  it('under vitest: the failure report names sources the package ships', () => {
    mkdirSync(join(project, 'stack'), { recursive: true });
    writeFileSync(
      join(project, 'stack/throws.test.ts'),
      `import { it } from 'vitest';\nit('throws through nslab', async () => {\n  await import('./throws.js');\n});\n`,
    );
    writeFileSync(join(project, 'stack/throws.js'), THROWS);
    writeFileSync(
      join(project, 'vitest.stack.config.mjs'),
      "export default { test: { include: ['stack/*.test.ts'] } };\n",
    );
    const r = run('npx vitest run --config vitest.stack.config.mjs');
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/unknown key 'forwardng'/);
    const frames = nslabFrames(r.out);
    expect(frames.filter((f) => f.endsWith('.ts')).length, r.out).toBeGreaterThan(0);
    expect(
      frames.filter((f) => !existsSync(f)),
      r.out,
    ).toEqual([]);
  }, 120_000);
});

describe("the package's entries (the bundled library)", () => {
  it("export what tsc's modules export, from the files package.json names", async () => {
    const { exports } = JSON.parse(readFileSync('package.json', 'utf8')) as {
      exports: Record<string, { types: string; import: string }>;
    };
    const names = async (file: string) => Object.keys(await import(join(process.cwd(), file))).sort();
    // tsc's module of each entry: its .d.ts's twin
    for (const entry of ['.', './vitest']) {
      const tsc = exports[entry]!.types.replace(/\.d\.ts$/, '.js');
      expect(exports[entry]!.import).not.toBe(tsc);
      expect(await names(exports[entry]!.import)).toEqual(await names(tsc));
    }
  });
});

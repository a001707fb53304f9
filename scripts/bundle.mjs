// Bundles the CLI with esbuild (called by scripts/build.sh after tsc):
//   dist/bin/main.js  the executable: a small CommonJS file (CommonJS starts
//                     ~7 ms sooner than an ES module) that prints --version and
//                     runs `down INSTANCE` itself, `up FILE` from
//   dist/bin/up.js    (CommonJS too: `up` without options), and otherwise loads
//   dist/bin/cli.mjs  the CLI, one chunk per verb (.mjs: ES modules, beside the
//                     CommonJS entry that dist/bin/package.json declares)
// zod's message translations (~360 KB of the bundle, ~10 ms to compile at every
// start) are left out: nslab reports its own messages, and zod's English is kept.
import { build } from 'esbuild';
import { readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const zodLocales = join(dirname(createRequire(import.meta.url).resolve('zod/v4/locales')), 'index.js');

const onlyEnglish = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      join(args.resolveDir, args.path) === zodLocales ? { path: zodLocales, namespace: 'zod-en' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-en' }, () => ({
      contents: 'export { default as en } from "./en.js";',
      resolveDir: dirname(zodLocales),
    }));
  },
};

const common = { bundle: true, platform: 'node', logLevel: 'warning', legalComments: 'none', plugins: [onlyEnglish] };
await build({
  ...common,
  entryPoints: { cli: 'dist/cli/main.js' },
  format: 'esm',
  splitting: true,
  outdir: 'dist/bin',
  outExtension: { '.js': '.mjs' },
  banner: {
    js: "import { createRequire as __nslabRequire } from 'node:module'; const require = __nslabRequire(import.meta.url);",
  },
});
await build({
  ...common,
  entryPoints: ['dist/cli/entry.js'],
  format: 'cjs',
  outfile: 'dist/bin/main.js',
  define: { NSLAB_VERSION: JSON.stringify(version) },
  banner: { js: '#!/usr/bin/env node' },
});
// `up FILE` without options, which the entry loads itself: CommonJS, whose import.meta.url is the file's URL
await build({
  ...common,
  entryPoints: { up: 'dist/cli/fast-up.js' },
  format: 'cjs',
  outdir: 'dist/bin',
  define: { 'import.meta.url': '__nslabUrl' },
  banner: { js: "var __nslabUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// V8's code cache of up.js (see loadCompiled in src/cli/entry.ts), made after its
// top level ran and a bundled lab was read, checked and planned: those functions
// are then in the cache already compiled
{
  const path = join(process.cwd(), 'dist/bin/up.js');
  const script = new Script(
    `(function (exports, require, module, __filename, __dirname) {${readFileSync(path, 'utf8')}\n})`,
    { filename: path },
  );
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(path), module, path, dirname(path));
  module.exports.warm('labs/dual-nic-reply-path.yaml');
  writeFileSync(`${path}.cache`, script.createCachedData());
}
writeFileSync('dist/bin/package.json', '{ "type": "commonjs" }\n');
chmodSync('dist/bin/main.js', 0o755);

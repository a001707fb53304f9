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
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

// ES module bundles with CommonJS dependencies inside need a require
const cjsRequire = {
  js: "import { createRequire as __nslabRequire } from 'node:module'; const require = __nslabRequire(import.meta.url);",
};
const common = { bundle: true, platform: 'node', logLevel: 'warning', legalComments: 'none', plugins: [onlyEnglish] };
await build({
  ...common,
  entryPoints: { cli: 'dist/cli/main.js' },
  format: 'esm',
  splitting: true,
  outdir: 'dist/bin',
  outExtension: { '.js': '.mjs' },
  banner: cjsRequire,
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
// The library (exports '.' and './vitest'): nslab's own modules in one ES module file per entry plus a shared chunk,
// and the two dependencies it imports at load time that are hundreds of files each (zod, execa) in one file each under
// dist/lib/vendor/; the rest stays in node_modules. Loading the ~380 module files of tsc's output and those packages
// took ~1.6x the CPU of loading the bundle (measured: docs/performance.md). dist/lib/ sits as deep as dist/api/, so the paths
// the modules find their files by (import.meta.url: labs/, dist/probes/helper.js, dist/bin/main.js) stay right. The
// library's source map chains tsc's maps (frames name src/*.ts, which the package ships); the vendor files have none
// (a map would name node_modules/zod/... files the package does not have: their frames name the vendor file).
const VENDORED = ['zod', 'execa'];
mkdirSync('dist/lib/vendor-src', { recursive: true });
for (const name of VENDORED) writeFileSync(`dist/lib/vendor-src/${name}.js`, `export * from '${name}';\n`);
const vendor = { ...common, format: 'esm', splitting: true, outdir: 'dist/lib/vendor', banner: cjsRequire };
await build({ ...vendor, entryPoints: VENDORED.map((name) => `dist/lib/vendor-src/${name}.js`) });
rmSync('dist/lib/vendor-src', { recursive: true });
const vendored = {
  name: 'vendored',
  setup(b) {
    b.onResolve({ filter: new RegExp(`^(${VENDORED.join('|')})$`) }, (args) => ({
      path: `./vendor/${args.path}.js`,
      external: true,
    }));
  },
};
await build({
  ...common,
  plugins: [vendored],
  entryPoints: { index: 'dist/index.js', vitest: 'dist/api/vitest.js' },
  format: 'esm',
  splitting: true,
  outdir: 'dist/lib',
  packages: 'external',
  sourcemap: true,
  sourcesContent: false,
});
writeFileSync('dist/bin/package.json', '{ "type": "commonjs" }\n');
chmodSync('dist/bin/main.js', 0o755);

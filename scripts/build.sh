#!/usr/bin/env bash
# Build: tsc (type check, the library API and its .d.ts in dist/), then the CLI
# bundled with esbuild into dist/bin/: resolving and compiling hundreds of
# small module files cost ~70 ms at every start.
#   dist/bin/main.js  the executable: a small CommonJS file (CommonJS starts
#                     ~7 ms sooner than an ES module) that prints --version and
#                     runs `down INSTANCE` itself, and otherwise loads
#   dist/bin/cli.mjs  the CLI, one chunk per verb (.mjs: ES modules, beside the
#                     CommonJS entry that dist/bin/package.json declares)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json
banner="--banner:js=import { createRequire as __nslabRequire } from 'node:module'; const require = __nslabRequire(import.meta.url);"
node_modules/.bin/esbuild cli=dist/cli/main.js --bundle --platform=node --format=esm --splitting --outdir=dist/bin \
  --out-extension:.js=.mjs --log-level=warning --legal-comments=none "$banner"
version=$(node -p 'require("./package.json").version')
node_modules/.bin/esbuild dist/cli/entry.js --bundle --platform=node --format=cjs --outfile=dist/bin/main.js \
  --log-level=warning --legal-comments=none "--define:NSLAB_VERSION=\"$version\"" '--banner:js=#!/usr/bin/env node'
echo '{ "type": "commonjs" }' > dist/bin/package.json
chmod +x dist/bin/main.js

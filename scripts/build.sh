#!/usr/bin/env bash
# Build: tsc (type check, the library API and its .d.ts in dist/), then the CLI
# bundled with esbuild into dist/bin/ (one file per verb): resolving and
# compiling hundreds of small module files cost ~70 ms at every start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json
node_modules/.bin/esbuild dist/cli/main.js --bundle --platform=node --format=esm --splitting --outdir=dist/bin \
  --log-level=warning --legal-comments=none \
  "--banner:js=import { createRequire as __nslabRequire } from 'node:module'; const require = __nslabRequire(import.meta.url);"
chmod +x dist/bin/main.js

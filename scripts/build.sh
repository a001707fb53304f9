#!/usr/bin/env bash
# Build: tsc (type check, the library API and its .d.ts in dist/), then the CLI
# bundled with esbuild into dist/bin/ (scripts/bundle.mjs): resolving and
# compiling hundreds of small module files cost ~70 ms at every start.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rm -rf dist
node_modules/.bin/tsc -p tsconfig.json
node scripts/bundle.mjs

#!/usr/bin/env bash
# Regenerates docs/img/report.png, the picture of an HTML report in the README:
# the workshop case of a bundled lab (dual-nic-reply-path brought up at its bug
# stage, graded against its fix stage's tests), so the report shows failures,
# the paths drawn and the why. Needs root (namespaces) and Debian's chromium.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
( nslab_bootstrap && nslab_need_debs chromium:chromium ) || exit 3
cd "$nslab_root"
instance="shot$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')"
out=$(mktemp -d "${TMPDIR:-/tmp}/nslab-shot.XXXXXX")
trap 'node dist/bin/main.js down "dual-nic-reply-path.$instance" >/dev/null 2>&1 || true; rm -rf "$out"' EXIT
node dist/bin/main.js up labs/dual-nic-reply-path.yaml --instance "$instance" --stage 'without policy routing' >/dev/null
node dist/bin/main.js check "dual-nic-reply-path.$instance" --stage 'with a routing table for eth1' \
  --reporter json --html "$out" --artifacts "$out/pcaps" >/dev/null || true
mkdir -p docs/img
node --input-type=module -e '
  import { openBrowser } from "./scripts/browser.mjs";
  const [page, png] = process.argv.slice(1);
  const b = await openBrowser({ width: 1100, height: 900 });
  const p = await b.context.newPage();
  await p.goto("file://" + page);
  // the summary and the first failure (checks, why, paths drawn); the lab topology folded, as a reader
  // would once past it: the picture of the failure shows the same topology with the paths
  await p.locator("details.topo").evaluateAll((ds) => ds.forEach((d) => { d.open = false; }));
  const box = await p.locator("article.failed").first().boundingBox();
  await p.screenshot({ path: png, fullPage: true, clip: { x: 0, y: 0, width: 1100, height: Math.ceil(box.y + box.height + 16) } });
  await b.close();
' "$out/report.html" docs/img/report.png
echo "wrote docs/img/report.png"

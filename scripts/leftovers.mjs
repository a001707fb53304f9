// After the suite: the network namespaces it left behind. A namespace counts
// only if it appeared during the run and is still there, and is not another's:
// on a shared machine other people's labs come and go meanwhile (a workshop,
// another CI job). A lab is this run's when its record, in the machine's state
// directory or in a private one under this run's temporary directory (tests
// that use NSLAB_STATE_DIR), names a lab file in this checkout or in this run's
// temporary directory. A namespace with no record found is named but not
// judged: another run may keep its records in a state directory of its own.
// Reads only; touches nothing.
// Usage: node scripts/leftovers.mjs BEFORE_FILE CHECKOUT RUN_TMPDIR
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx/core';

const [beforeFile, checkout, runTmp] = process.argv.slice(2);
const STATE = process.env.NSLAB_STATE_DIR || '/run/nslab';
// `ip netns list` prints "NAME (id: N)" for a namespace with an id, "NAME" otherwise
const list = async () =>
  (await $`ip netns list`).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith('nslab-'));

const before = new Set(readFileSync(beforeFile, 'utf8').split('\n').filter(Boolean));
const appeared = (await list()).filter((n) => !before.has(n));
if (!appeared.length) process.exit(0);

// the lab file each namespace's record names
const fileOf = new Map();
/** Lab records (`*.json` with namespaces) in dir, and in its subdirectories down to `depth`. */
function records(dir, depth) {
  let entries = [];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory() && depth > 0) records(p, depth - 1);
    else if (e.isFile() && e.name.endsWith('.json')) {
      try {
        const r = JSON.parse(readFileSync(p, 'utf8'));
        if (Array.isArray(r?.namespaces) && typeof r.file === 'string')
          for (const { ns } of r.namespaces) fileOf.set(ns, r.file);
      } catch {
        /* not a record, or one being written or removed right now */
      }
    }
  }
}
records(STATE, 0);
records(runTmp, 4);
// listed again after the records were read: a lab is removed namespaces first, record last,
// so a namespace still here had its record (if it ever had one) when they were read
const still = new Set(await list());
const dirs = [
  ...new Set(
    [checkout, runTmp].flatMap((d) => {
      try {
        return [d, realpathSync(d)];
      } catch {
        return [d];
      }
    }),
  ),
];
const ours = (file) => dirs.some((d) => file.startsWith(`${d}/`));
const present = appeared.filter((n) => still.has(n));
const unknown = present.filter((n) => !fileOf.has(n));
const others = present.filter((n) => fileOf.has(n) && !ours(fileOf.get(n)));
const left = present.filter((n) => fileOf.has(n) && ours(fileOf.get(n)));
if (others.length)
  console.error(`scripts/test: came up during the run, not this run's (not judged, not touched): ${others.join(' ')}`);
if (unknown.length)
  console.error(
    `scripts/test: came up during the run with no record found (another run's with a state directory of its own?), not judged: ${unknown.join(' ')}`,
  );
if (left.length) {
  console.error(`scripts/test: namespaces the suite left behind: ${left.join(' ')}`);
  process.exit(1);
}

#!/usr/bin/env node
// Benchmark (issue 21): a rootless lab against root's, side by side. The
// target: rootless `up` of the default lab (labs/dual-nic-reply-path.yaml)
// within 1.2x of root's `up`, rootless `exec` within 1.2x of root's `exec`.
// Runs are paired and interleaved (rootless, root, rootless, root ...) so that
// the machine's load drifts hit both sides, and the ratio is taken pair by
// pair; every figure printed is a median. Both sides are started the same way,
// through `runuser` (as a user this script creates, and as root) with the same
// small environment, and timed as whole commands (node start-up included):
//   up:    `nslab up LAB --instance ID` (rootless: the holder, the nslab inside)
//   down:  `nslab down INSTANCE`, timed too, not part of the target
//   exec:  `nslab exec INSTANCE pc1 -- true` on a lab left up
// Needs root and unprivileged user namespaces (the user is removed at the end,
// with every process of theirs). Prints a table and writes bench/results-rootless.json.
// Usage: node bench/rootless.mjs [pairs=8] [execPairs=15]
// NSLAB_BENCH_CLI=path/to/main.js measures another build (before/after).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx/core';

$.stdio = ['ignore', 'pipe', 'pipe'];
$.quiet = true;

const pairs = Number(process.argv[2] ?? 8);
const execPairs = Number(process.argv[3] ?? 15);
const cli = process.env.NSLAB_BENCH_CLI || new URL('../dist/bin/main.js', import.meta.url).pathname;
const lab = new URL('../labs/dual-nic-reply-path.yaml', import.meta.url).pathname;
if (process.getuid() !== 0) {
  console.error('bench: needs root (it creates a user to run the rootless side as)');
  process.exit(3);
}

const user = `nslabbench${Math.random().toString(36).slice(2, 7)}`;
execFileSync('useradd', ['-m', '-s', '/bin/sh', user]);
const uid = execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim();
const rootState = execFileSync('mktemp', ['-d', '/dev/shm/nslab-bench-state-XXXXXX'], { encoding: 'utf8' }).trim();

/** argv as a user (or root), through runuser, with the same small environment on both sides. */
const as = (who, args) => {
  const env = [`PATH=${process.env.PATH}`, `HOME=${who === 'root' ? '/root' : `/home/${who}`}`];
  if (who === 'root') env.push(`NSLAB_STATE_DIR=${rootState}`);
  return $`runuser -u ${who} -- env -i ${env} ${process.execPath} ${cli} ${args}`;
};

async function ms(run) {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function processesOf(id) {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] === id;
      } catch {
        return false;
      }
    });
}

async function cleanup() {
  await as('root', ['down', 'dual-nic-reply-path.benchr']).nothrow();
  for (const p of processesOf(uid))
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      /* gone */
    }
  for (let i = 0; i < 50 && processesOf(uid).length; i++) await sleep(100);
  spawnSync('userdel', ['-r', '-f', user]);
  spawnSync('rm', ['-rf', rootState]);
}
for (const s of ['SIGINT', 'SIGTERM'])
  process.on(s, () => {
    void cleanup().finally(() => process.exit(130));
  });

const m = {
  rootlessUp: [],
  rootUp: [],
  upRatio: [],
  rootlessDown: [],
  rootDown: [],
  rootlessExec: [],
  rootExec: [],
  execRatio: [],
};
try {
  for (let i = 0; i < pairs + 1; i++) {
    const a = await ms(() => as(user, ['up', lab, '--instance', 'benchu']));
    const ad = await ms(() => as(user, ['down', 'dual-nic-reply-path.benchu']));
    const b = await ms(() => as('root', ['up', lab, '--instance', 'benchr']));
    const bd = await ms(() => as('root', ['down', 'dual-nic-reply-path.benchr']));
    if (i === 0) continue; // warm-up
    m.rootlessUp.push(a);
    m.rootUp.push(b);
    m.upRatio.push(a / b);
    m.rootlessDown.push(ad);
    m.rootDown.push(bd);
  }
  await as(user, ['up', lab, '--instance', 'benchu']);
  await as('root', ['up', lab, '--instance', 'benchr']);
  for (let i = 0; i < execPairs + 1; i++) {
    const a = await ms(() => as(user, ['exec', 'dual-nic-reply-path.benchu', 'pc1', '--', 'true']));
    const b = await ms(() => as('root', ['exec', 'dual-nic-reply-path.benchr', 'pc1', '--', 'true']));
    if (i === 0) continue;
    m.rootlessExec.push(a);
    m.rootExec.push(b);
    m.execRatio.push(a / b);
  }
  await as(user, ['down', 'dual-nic-reply-path.benchu']);
} finally {
  await cleanup();
}

const out = {
  date: new Date().toISOString(),
  load: loadavg()
    .map((x) => x.toFixed(1))
    .join(' '),
  pairs,
  execPairs,
  upMs: { rootless: median(m.rootlessUp), root: median(m.rootUp), ratio: median(m.upRatio) },
  downMs: { rootless: median(m.rootlessDown), root: median(m.rootDown) },
  execMs: { rootless: median(m.rootlessExec), root: median(m.rootExec), ratio: median(m.execRatio) },
};
const f = (x) => x.toFixed(0).padStart(8);
console.log(
  `medians, ms (whole commands through runuser, node start-up included); load average at the end: ${out.load}`,
);
console.log('command                          rootless      root  ratio (median of pairs)  target');
console.log(
  `nslab up (${pairs} pairs)           ${f(out.upMs.rootless)}  ${f(out.upMs.root)}  ${out.upMs.ratio.toFixed(2)}  1.20`,
);
console.log(
  `nslab exec pc1 -- true (${execPairs} pairs)  ${f(out.execMs.rootless)}  ${f(out.execMs.root)}  ${out.execMs.ratio.toFixed(2)}  1.20`,
);
console.log(`nslab down (not a target)         ${f(out.downMs.rootless)}  ${f(out.downMs.root)}`);
writeFileSync(new URL('./results-rootless.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');

#!/usr/bin/env node
// Benchmark: `nslab up` / `nslab down` of generated chain labs against a
// hand-written floor doing the same kernel work, and the CLI's start-up against
// `node -e 0`; every figure beside its baseline from the same run, runs
// interleaved (baseline, nslab, baseline, ...) so that load drifts hit both.
//   up floor:   one `ip -batch` in the root namespace (namespaces + veths created
//               in place), then one `ip -n NS -batch` per namespace, two at a time
//   down floor: one `ip -batch` of `netns del`
//   start-up:   `node -e 0` beside `nslab --version`
// Peak RSS of `nslab up` is GNU time's %M (maximum resident set size of the
// process, in KiB), from Debian's `time` package; the wrapper is counted in
// nslab's wall time (conservative), and so is the shell zx starts each command
// from (the floor's pipelines run in one too). The start-up pair alone is timed
// without a shell: a shell's start, in both of two ~55 ms figures, would shrink
// their ratio. After every down the benchmark waits 500 ms + 5 ms per node: the
// kernel frees deleted namespaces in the background (seconds for 1000), and
// meanwhile a `netns del` took 10x as long (measured).
// Needs root; prints a table and writes bench/results-up-down.json.
// Usage: node bench/up-down.mjs [runs=5] [sizes=10,200,1000]
// NSLAB_BENCH_CLI=path/to/main.js measures another build (before/after).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx/core';

// the commands read nothing (stdin is /dev/null); what they print is captured, not shown
$.stdio = ['ignore', 'pipe', 'pipe'];
$.quiet = true;

const runs = Number(process.argv[2] ?? 5);
const sizes = (process.argv[3] ?? '10,200,1000').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
const cli = process.env.NSLAB_BENCH_CLI || new URL('../dist/bin/main.js', import.meta.url).pathname;
// a private state directory on tmpfs, as /run/nslab is (nslab's scratch files live there)
const env = { ...process.env, NSLAB_STATE_DIR: mkdtempSync('/dev/shm/nslab-bench-state-') };
const nslab = $({ env });
const addr = (i, host) => `10.${Math.floor(i / 250)}.${i % 250}.${host}`;
const GNU_TIME = '/usr/bin/time';
// installed through the bootstrap if missing (as root, with apt-get)
if (!existsSync(GNU_TIME)) {
  const bootstrap = new URL('../scripts/bootstrap.sh', import.meta.url).pathname;
  await $({ stdio: 'inherit', quiet: false, nothrow: true })`source ${bootstrap}; nslab_need_debs ${GNU_TIME}:time`;
}
if (!existsSync(GNU_TIME)) {
  console.error('bench: GNU time is missing (peak RSS): apt-get install time');
  process.exit(3);
}

function chain(n) {
  const name = `bench${n}`;
  const nodes = [],
    links = [];
  for (let i = 1; i <= n; i++) {
    const ifs = [i > 1 ? `l: ${addr(i - 1, 2)}/24` : '', i < n ? `r: ${addr(i, 1)}/24` : ''].filter(Boolean);
    nodes.push(`  n${i}: { interfaces: { ${ifs.join(', ')} } }`);
    if (i < n) links.push(`  - n${i}:r n${i + 1}:l`);
  }
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, `name: ${name}\nnodes:\n${nodes.join('\n')}\nlinks:\n${links.join('\n')}\n`);
  // the baseline: the same namespaces, veths, addresses and links, by hand
  const ns = (i) => `nslab-base${n}-n${i}`;
  const root = [];
  for (let i = 1; i <= n; i++) root.push(`netns add ${ns(i)}`);
  for (let i = 1; i < n; i++) root.push(`link add name r netns ${ns(i)} type veth peer name l netns ${ns(i + 1)}`);
  for (let i = 1; i <= n; i++) {
    const lines = ['link set dev lo up'];
    if (i > 1) lines.push(`addr add ${addr(i - 1, 2)}/24 dev l`);
    if (i < n) lines.push(`addr add ${addr(i, 1)}/24 dev r`);
    if (i > 1) lines.push('link set dev l up');
    if (i < n) lines.push('link set dev r up');
    writeFileSync(join(dir, `base${n}-${i}.batch`), lines.join('\n') + '\n');
  }
  writeFileSync(join(dir, `base${n}-root.batch`), root.join('\n') + '\n');
  // xargs puts each node's number in for {}: nslab-baseN-n{} and baseN-{}.batch
  const up = () =>
    $`ip -batch ${join(dir, `base${n}-root.batch`)} &&
      seq 1 ${n} | xargs -P2 -I{} ip -n ${ns('')}{} -batch ${join(dir, `base${n}-`)}{}.batch`;
  const down = () => $`seq 1 ${n} | sed ${`s/^/netns del ${ns('')}/`} | ip -batch -`;
  return { name, file, up, down };
}

/** Milliseconds from run() starting a command (zx's $) to its exit; a command that fails throws. */
async function ms(run) {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
function msSync(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const settle = (n) => sleep(500 + 5 * n);

const results = [];
for (const n of sizes) {
  const c = chain(n);
  const m = { nslabUp: [], nslabDown: [], baseUp: [], baseDown: [], rssKiB: [] };
  const rssFile = join(dir, 'rss');
  for (let r = 0; r < runs; r++) {
    m.baseUp.push(await ms(c.up));
    m.baseDown.push(await ms(c.down));
    await settle(n);
    m.nslabUp.push(await ms(() => nslab`${GNU_TIME} -f %M -o ${rssFile} node ${cli} up ${c.file}`));
    m.rssKiB.push(Number(readFileSync(rssFile, 'utf8').trim().split('\n').pop()));
    m.nslabDown.push(await ms(() => nslab`node ${cli} down ${c.name}`));
    await settle(n);
  }
  results.push({
    nodes: n,
    nslabUpMs: median(m.nslabUp),
    baselineUpMs: median(m.baseUp),
    ratio: median(m.nslabUp) / median(m.baseUp),
    peakRssMiB: median(m.rssKiB) / 1024,
    nslabDownMs: median(m.nslabDown),
    baselineDownMs: median(m.baseDown),
    samples: m,
  });
}
// start-up: interleaved, more runs (each is short); no shell (see the top)
const nodeE0 = [],
  version = [];
for (let r = 0; r < Math.max(runs, 9); r++) {
  nodeE0.push(msSync(() => execFileSync('node', ['-e', '0'])));
  version.push(msSync(() => execFileSync('node', [cli, '--version'])));
}
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const out = {
  date: new Date().toISOString(),
  load,
  runs,
  results,
  nodeE0Ms: median(nodeE0),
  versionMs: median(version),
  versionRatio: median(version) / median(nodeE0),
};
console.log(`medians of ${runs} runs, ms (CLI wall time incl. node start-up); load average at the end: ${load}`);
console.log('nodes  nslab up  floor up  ratio  peak RSS  nslab down  floor down');
for (const r of results)
  console.log(
    `${String(r.nodes).padStart(5)}  ${r.nslabUpMs.toFixed(0).padStart(8)}  ${r.baselineUpMs.toFixed(0).padStart(8)}  ${r.ratio.toFixed(2).padStart(5)}  ${(r.peakRssMiB.toFixed(0) + ' MB').padStart(8)}  ${r.nslabDownMs.toFixed(0).padStart(10)}  ${r.baselineDownMs.toFixed(0).padStart(10)}`,
  );
console.log(
  `start-up (medians of ${nodeE0.length}): nslab --version ${out.versionMs.toFixed(1)} ms, node -e 0 ${out.nodeE0Ms.toFixed(1)} ms, ratio ${out.versionRatio.toFixed(2)}`,
);
if (!process.env.NSLAB_BENCH_CLI)
  writeFileSync(new URL('./results-up-down.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
rmSync(env.NSLAB_STATE_DIR, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });

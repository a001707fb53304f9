#!/usr/bin/env node
// Benchmark: `nslab up` / `nslab down` of generated chain labs (10, 50, 200 nodes)
// against a hand-written bash baseline doing the same work: one `ip -batch` in
// the root namespace (namespaces + veths created in place), then one
// `ip -n NS -batch` per namespace, two at a time. Needs root; prints a table and
// writes bench/results-up-down.json. Usage: node bench/up-down.mjs [runs=3] [sizes=10,50,200]
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 3);
const sizes = (process.argv[3] ?? '10,50,200').split(',').map(Number);
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-'));
const cli = new URL('../dist/bin/main.js', import.meta.url).pathname;
// a private state directory on tmpfs, as /run/nslab is (nslab's scratch files live there)
const env = { ...process.env, NSLAB_STATE_DIR: mkdtempSync('/dev/shm/nslab-bench-state-') };
const addr = (i, host) => `10.${Math.floor(i / 250)}.${i % 250}.${host}`;

function chain(n) {
  const name = `bench${n}`;
  const nodes = [], links = [];
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
  const per = [];
  for (let i = 1; i <= n; i++) {
    const lines = ['link set dev lo up'];
    if (i > 1) lines.push(`addr add ${addr(i - 1, 2)}/24 dev l`);
    if (i < n) lines.push(`addr add ${addr(i, 1)}/24 dev r`);
    if (i > 1) lines.push('link set dev l up');
    if (i < n) lines.push('link set dev r up');
    writeFileSync(join(dir, `base${n}-${i}.batch`), lines.join('\n') + '\n');
    per.push(i);
  }
  writeFileSync(join(dir, `base${n}-root.batch`), root.join('\n') + '\n');
  const up = `ip -batch ${dir}/base${n}-root.batch && seq 1 ${n} | xargs -P2 -I{} ip -n nslab-base${n}-n{} -batch ${dir}/base${n}-{}.batch`;
  const down = `seq 1 ${n} | sed 's/^/netns del nslab-base${n}-n/' | ip -batch -`;
  return { name, file, up, down };
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
function ok(r, what) {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stderr}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = [];
for (const n of sizes) {
  const c = chain(n);
  const m = { nodes: n, nslabUp: [], nslabDown: [], baseUp: [], baseDown: [] };
  for (let r = 0; r < runs; r++) {
    m.baseUp.push(time(() => ok(spawnSync('bash', ['-c', c.up], { encoding: 'utf8' }), 'baseline up')));
    m.baseDown.push(time(() => ok(spawnSync('bash', ['-c', c.down], { encoding: 'utf8' }), 'baseline down')));
    m.nslabUp.push(time(() => ok(spawnSync('node', [cli, 'up', c.file], { env, encoding: 'utf8' }), 'nslab up')));
    m.nslabDown.push(time(() => ok(spawnSync('node', [cli, 'down', c.name], { env, encoding: 'utf8' }), 'nslab down')));
  }
  results.push({ nodes: n, nslabUpMs: median(m.nslabUp), baselineUpMs: median(m.baseUp), ratio: median(m.nslabUp) / median(m.baseUp), nslabDownMs: median(m.nslabDown), baselineDownMs: median(m.baseDown) });
}
const version = [];
for (let r = 0; r < 5; r++) version.push(time(() => execFileSync('node', [cli, '--version'])));
const out = { date: new Date().toISOString(), runs, results, versionMs: median(version) };
console.log('nodes  nslab up  baseline up  ratio  nslab down  baseline down   (medians of', runs, 'runs, ms; CLI wall time incl. node start-up)');
for (const r of results)
  console.log(`${String(r.nodes).padStart(5)}  ${r.nslabUpMs.toFixed(0).padStart(8)}  ${r.baselineUpMs.toFixed(0).padStart(11)}  ${r.ratio.toFixed(2).padStart(5)}  ${r.nslabDownMs.toFixed(0).padStart(10)}  ${r.baselineDownMs.toFixed(0).padStart(13)}`);
console.log(`nslab --version: ${out.versionMs.toFixed(0)} ms`);
writeFileSync(new URL('./results-up-down.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
rmSync(env.NSLAB_STATE_DIR, { recursive: true, force: true });

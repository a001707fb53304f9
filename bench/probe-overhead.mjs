#!/usr/bin/env node
// Benchmark: what a probe's evidence costs. A 3-ping probe on a 5-node chain lab
// with captures in every node (nslab's ping probe) versus the same ping run bare
// with nsenter; and the wall time of `nslab test` on the bundled labs.
// Needs root and a built dist/. Usage: node bench/probe-overhead.mjs [runs=5]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const runs = Number(process.argv[2] ?? 5);
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-probe-'));
// a private state directory on tmpfs, as /run/nslab is (nslab's scratch files live there)
process.env.NSLAB_STATE_DIR = mkdtempSync('/dev/shm/nslab-bench-state-');
const { loadLab } = await import(join(root, 'dist/lab/resolve.js'));
const { Lab } = await import(join(root, 'dist/engine/lab.js'));
const { PROBES } = await import(join(root, 'dist/probes/index.js'));

// chain n1 - n5: subnets to the right via the right neighbour, everything else via the left one
const nodes = [1, 2, 3, 4, 5].map((i) => {
  const ifs = [i > 1 ? `l: 10.0.${i - 1}.2/24` : '', i < 5 ? `r: 10.0.${i}.1/24` : ''].filter(Boolean).join(', ');
  const routes = [...[1, 2, 3, 4].filter((j) => j > i).map((j) => `10.0.${j}.0/24 via 10.0.${i}.2`), ...(i > 1 ? [`default via 10.0.${i - 1}.1`] : [])];
  return `  n${i}: { forwarding: true, interfaces: { ${ifs} }, routes: [${routes.join(', ')}] }`;
});
const file = join(dir, 'chain5.yaml');
writeFileSync(file, `name: chain5\nnodes:\n${nodes.join('\n')}\nlinks: [n1:r n2:l, n2:r n3:l, n3:r n4:l, n4:r n5:l]\n`);
const model = loadLab(file);
// n5 reaches n1 over its default routes; n1 reaches everything through n2
const lab = await Lab.up(model, { id: 'bench' });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const bare = [], probed = [];
try {
  const test = { name: 'b', probe: 'ping', spec: { from: 'n1', to: '10.0.4.2', count: 3 }, expect: { replies: 3 }, requires: [], at: { file, line: 1, col: 1 } };
  for (let r = 0; r < runs; r++) {
    let t = performance.now();
    const b = await lab.exec('n1', ['ping', '-n', '-c', '3', '-i', '0.2', '-W', '1', '10.0.4.2']);
    bare.push(performance.now() - t);
    if (b.exitCode !== 0) throw new Error(`bare ping failed: ${b.stdout}${b.stderr}`);
    t = performance.now();
    const out = await PROBES.ping({ lab, model, test });
    probed.push(performance.now() - t);
    if (!out.checks.every((c) => c.ok)) throw new Error('probe failed');
  }
} finally {
  await lab.down();
}
const labsWall = [];
for (let r = 0; r < Math.min(runs, 3); r++) {
  const t = performance.now();
  spawnSync('node', [join(root, 'dist/bin/main.js'), 'test', join(root, 'labs')], { stdio: 'ignore' });
  labsWall.push(performance.now() - t);
}
const out = { date: new Date().toISOString(), runs, barePingMs: median(bare), probePingMs: median(probed), overheadMs: median(probed) - median(bare), nslabTestLabsMs: median(labsWall) };
console.log(`3-ping probe on a 5-node lab: bare ${out.barePingMs.toFixed(0)} ms, with captures in all 5 nodes ${out.probePingMs.toFixed(0)} ms: overhead ${out.overheadMs.toFixed(0)} ms (medians of ${runs})`);
console.log(`nslab test labs/: ${out.nslabTestLabsMs.toFixed(0)} ms wall`);
writeFileSync(new URL('./results-probe-overhead.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
rmSync(process.env.NSLAB_STATE_DIR, { recursive: true, force: true });

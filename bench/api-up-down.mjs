#!/usr/bin/env node
// Benchmark: bringing a lab up and down through the vitest API (useLab) beside the CLI (`nslab up` + `nslab down`),
// the same lab in the same run, runs interleaved (CLI, API script, vitest, CLI, ...) so that load drifts hit all.
// The lab: a chain of 7 nodes, forwarding, with 2 services (TCP listeners that useLab and up wait for: ready tcp).
//   cli:     `node dist/bin/main.js up FILE` then `down NAME`, two whole processes (start-up included)
//   useLab:  a vitest file whose only test is empty: the time from a beforeAll registered before useLab's to an
//            afterAll that runs after useLab's (vitest runs after-hooks in reverse), read inside the worker: what
//            useLab adds to a test file (vitest's own start-up and the import of nslab/vitest are not in it)
//   script:  a node process that imports nslab's API ('nslab'), Lab.up(file), lab.down(), whole process
//            (start-up and the API's import included: the CLI figure's like)
// After every down the benchmark waits 500 ms + 5 ms per node (the kernel frees deleted namespaces in the
// background; see up-down.mjs). Target: useLab costs no more than 1.2x the CLI.
// Needs root and a built dist/; prints a table and writes bench/results-api-up-down.json.
// Usage: node bench/api-up-down.mjs [runs=7]
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { $ } from 'zx/core';

// the commands read nothing (stdin is /dev/null); what they print is captured, not shown
$.stdio = ['ignore', 'pipe', 'pipe'];
$.quiet = true;

const runs = Number(process.argv[2] ?? 7);
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-api-'));
const cli = join(root, 'dist/bin/main.js');
// the files the package's exports name ('nslab', 'nslab/vitest'): what a user's import loads
const { exports } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const entry = (name) => join(root, exports[name].import);
// a private state directory on tmpfs, as /run/nslab is (nslab's scratch files live there)
const env = { ...process.env, NSLAB_STATE_DIR: mkdtempSync('/dev/shm/nslab-bench-state-'), NO_COLOR: '1' };
const sh = $({ env, cwd: dir });
const N = 7;

// chain n1 - n7, each node routing to the far subnets through its neighbours; services in n1 and n7
const nodes = [];
for (let i = 1; i <= N; i++) {
  const ifs = [i > 1 ? `l: 10.77.${i - 1}.2/24` : '', i < N ? `r: 10.77.${i}.1/24` : ''].filter(Boolean);
  const routes = [
    ...Array.from({ length: N - 1 }, (_, j) => j + 1)
      .filter((j) => j > i)
      .map((j) => `10.77.${j}.0/24 via 10.77.${i}.2`),
    ...Array.from({ length: N - 1 }, (_, j) => j + 1)
      .filter((j) => j < i - 1)
      .map((j) => `10.77.${j}.0/24 via 10.77.${i - 1}.1`),
  ];
  const service =
    i === 1 || i === N
      ? `\n    services:\n      - name: listen${i}\n        command: [node, -e, "require('net').createServer((s) => s.on('error', () => {})).listen(7000)"]\n        ready: { tcp: 7000, timeout: 10s }`
      : '';
  nodes.push(
    `  n${i}:\n    forwarding: true\n    interfaces: { ${ifs.join(', ')} }\n    routes: [${routes.join(', ')}]${service}`,
  );
}
const links = Array.from({ length: N - 1 }, (_, j) => `  - n${j + 1}:r n${j + 2}:l`);
const file = join(dir, 'bench-api.yaml');
writeFileSync(file, `name: bench-api\nnodes:\n${nodes.join('\n')}\nlinks:\n${links.join('\n')}\n`);

// the vitest file: one empty test in a describe block with useLab; the timing hooks around useLab's
const timing = join(dir, 'timing');
writeFileSync(
  join(dir, 'lab.test.mjs'),
  `import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useLab } from ${JSON.stringify(entry('./vitest'))};
let t0, spent = 0;
describe('bench', () => {
  beforeAll(() => { t0 = performance.now(); });
  afterAll(() => { appendFileSync(${JSON.stringify(timing)}, (performance.now() - t0 - spent).toFixed(1) + '\\n'); });
  const lab = useLab(${JSON.stringify(file)}, { id: 'vitest' });
  it('is up', () => {
    const t = performance.now();
    expect(lab.instance).toBe('bench-api.vitest');
    spent += performance.now() - t;
  });
});
`,
);
writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { include: ['lab.test.mjs'] } };\n`);
// the script: the API as a plain node program
writeFileSync(
  join(dir, 'script.mjs'),
  `import { Lab } from ${JSON.stringify(entry('.'))};
const lab = await Lab.up(${JSON.stringify(file)}, { id: 'script' });
await lab.down();
`,
);
const vitest = join(root, 'node_modules/.bin/vitest');

/** Milliseconds from starting a command (zx's $) to its exit; a command that fails throws. */
async function ms(run) {
  const t0 = process.hrtime.bigint();
  await run();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const settle = () => sleep(500 + 5 * N);

const m = { cli: [], script: [], useLab: [], vitestWall: [] };
try {
  for (let r = -1; r < runs; r++) {
    // run -1 warms the page cache; not counted
    const c = (await ms(() => sh`node ${cli} up ${file}`)) + (await ms(() => sh`node ${cli} down bench-api`));
    await settle();
    const s = await ms(() => sh`node ${join(dir, 'script.mjs')}`);
    await settle();
    const w = await ms(() => sh`${vitest} run --config ${join(dir, 'vitest.config.mjs')} --root ${dir}`);
    await settle();
    if (r < 0) continue;
    m.cli.push(c);
    m.script.push(s);
    m.vitestWall.push(w);
  }
} catch (e) {
  // a failed command may leave its lab up: the state directory is this run's own, so --all takes only those
  await sh({ nothrow: true })`node ${cli} down --all`;
  rmSync(env.NSLAB_STATE_DIR, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
  throw e;
}
m.useLab = readFileSync(timing, 'utf8').trim().split('\n').map(Number).slice(1);

const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const out = {
  date: new Date().toISOString(),
  load,
  runs,
  nodes: N,
  services: 2,
  cliMs: median(m.cli),
  useLabMs: median(m.useLab),
  scriptMs: median(m.script),
  vitestWallMs: median(m.vitestWall),
  useLabRatio: median(m.useLab) / median(m.cli),
  scriptRatio: median(m.script) / median(m.cli),
  samples: m,
};
console.log(`medians of ${runs} runs, ms; ${N} nodes, 2 services; load average at the end: ${load}`);
console.log(`nslab up + nslab down (two processes)        ${out.cliMs.toFixed(0).padStart(6)}`);
console.log(
  `useLab up + down (inside the vitest worker)  ${out.useLabMs.toFixed(0).padStart(6)}  ratio ${out.useLabRatio.toFixed(2)}`,
);
console.log(
  `node script: import, Lab.up, down (process) ${out.scriptMs.toFixed(0).padStart(6)}  ratio ${out.scriptRatio.toFixed(2)}`,
);
console.log(`vitest run of the file (whole process)       ${out.vitestWallMs.toFixed(0).padStart(6)}`);
writeFileSync(new URL('./results-api-up-down.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
rmSync(env.NSLAB_STATE_DIR, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });

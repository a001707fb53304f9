#!/usr/bin/env node
// Benchmark: what a probe costs, and the bundled suite's wall time. Each probe
// figure is printed beside its baseline from the same run: the same traffic
// sent bare through nsenter (no captures, no agent), so the difference is what
// nslab's evidence costs. Probes run on a 5-node chain lab with captures in all
// 5 nodes, after one warm-up probe (the lab's captures and probe agents start
// once per lab, and that start is reported on its own line). Needs root and a
// built dist/. Usage: node bench/probes.mjs [runs=5] [suite-runs=5]
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx/core';

// the commands read nothing (stdin is /dev/null); what they print is captured
$.stdio = ['ignore', 'pipe', 'pipe'];

const runs = Number(process.argv[2] ?? 5);
const suiteRuns = Number(process.argv[3] ?? 5);
const root = new URL('..', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-probe-'));
// a private state directory on tmpfs, as /run/nslab is (nslab's scratch files live there)
process.env.NSLAB_STATE_DIR = mkdtempSync('/dev/shm/nslab-bench-state-');
const { loadLab } = await import(join(root, 'dist/lab/resolve.js'));
const { Lab } = await import(join(root, 'dist/engine/lab.js'));
const { PROBES, closeProbes } = await import(join(root, 'dist/probes/index.js'));
const { agentOf } = await import(join(root, 'dist/probes/agent.js'));
const { waitFor } = await import(join(root, 'dist/probes/wait.js'));

// chain n1 - n5: subnets to the right via the right neighbour, everything else via the left one
const nodes = [1, 2, 3, 4, 5].map((i) => {
  const ifs = [i > 1 ? `l: 10.0.${i - 1}.2/24` : '', i < 5 ? `r: 10.0.${i}.1/24` : ''].filter(Boolean).join(', ');
  const routes = [
    ...[1, 2, 3, 4].filter((j) => j > i).map((j) => `10.0.${j}.0/24 via 10.0.${i}.2`),
    ...(i > 1 ? [`default via 10.0.${i - 1}.1`] : []),
  ];
  return `  n${i}: { forwarding: true, interfaces: { ${ifs} }, routes: [${routes.join(', ')}] }`;
});
const file = join(dir, 'chain5.yaml');
writeFileSync(
  file,
  `name: benchprobe\nnodes:\n${nodes.join('\n')}\nlinks: [n1:r n2:l, n2:r n3:l, n3:r n4:l, n4:r n5:l]\n`,
);
const model = loadLab(file);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const at = { file, line: 1, col: 1 };
const test = (probe, spec, expect) => ({ name: probe, probe, spec, expect, requires: [], at });
const FAR = '10.0.4.2',
  NOBODY = '10.0.4.9'; // n5's address; one in n5's subnet that no node has

const lab = await Lab.up(model, { id: `b${process.pid}` });
const rows = [];
let firstProbeMs;
try {
  const timed = async (fn) => {
    const t = performance.now();
    const r = await fn();
    return [performance.now() - t, r];
  };
  const probe = async (t) => {
    const [ms, out] = await timed(() => PROBES[t.probe]({ lab, model, test: t }));
    if (!out.checks.every((c) => c.ok))
      throw new Error(`${t.probe} probe failed: ${JSON.stringify(out.checks)} ${JSON.stringify(out.facts)}`);
    return ms;
  };
  const bare = async (node, argv, ok = (r) => r.exitCode === 0) => {
    const [ms, r] = await timed(() => lab.exec(node, argv));
    if (!ok(r)) throw new Error(`bare ${argv.join(' ')}: ${r.stdout}${r.stderr}`);
    return ms;
  };
  [firstProbeMs] = await timed(() =>
    PROBES.ping({ lab, model, test: test('ping', { from: 'n1', to: FAR }, { replies: 3 }) }),
  );
  const wait = await waitFor(lab, model, 'n1', 'ping');
  const tcpPort = await (await agentOf(lab, 'n5')).defaultPort('tcp');
  const udpPort = await (await agentOf(lab, 'n5')).defaultPort('udp');
  const cases = [
    [
      'ping probe, 3 echoes answered',
      60,
      () => probe(test('ping', { from: 'n1', to: FAR }, { replies: 3, 'reply-via': 'n5:l' })),
      () => bare('n1', ['ping', '-n', '-q', '-c', '3', '-i', '0.002', FAR]),
    ],
    [
      `ping probe, unanswered (waits ${wait.ms} ms)`,
      300,
      () => probe(test('ping', { from: 'n1', to: NOBODY }, { replies: 0 })),
      () =>
        bare(
          'n1',
          ['ping', '-n', '-q', '-c', '3', '-i', '0.002', '-W', (wait.ms / 1000).toFixed(3), NOBODY],
          (r) => r.exitCode === 1,
        ),
    ],
    [
      'tcp probe, connected',
      60,
      () => probe(test('tcp', { from: 'n1', to: FAR }, { connected: true, 'reply-via': 'n5:l' })),
      () => bare('n1', ['bash', '-c', `exec 3<>/dev/tcp/${FAR}/${tcpPort}`]),
    ],
    [
      'udp probe, answered',
      60,
      () => probe(test('udp', { from: 'n1', to: FAR }, { replies: 1, 'reply-via': 'n5:l' })),
      () => bare('n1', ['bash', '-c', `exec 3<>/dev/udp/${FAR}/${udpPort}; printf x >&3; read -t 1 -N 1 <&3`]),
    ],
  ];
  for (const [name, target, run, base] of cases) {
    const p = [],
      b = [];
    for (let r = 0; r < runs; r++) {
      b.push(await base());
      p.push(await run());
    }
    rows.push({ name, ms: median(p), baselineMs: median(b), targetMs: target });
  }
} finally {
  await closeProbes(lab);
  await lab.down();
}

// the bundled suite, sequential and two labs at a time
/** What failed in a JSON report, so that a benchmark never hides a verdict that changed. */
function failures(json) {
  try {
    return JSON.parse(json)
      .labs.flatMap((l) => [
        ...(l.error ? [`${l.lab}: ${l.error}`] : []),
        ...l.tests
          .filter((t) => t.status === 'failed')
          .map(
            (t) =>
              `${t.lab} › ${t.stage} › ${t.name}: ${
                t.reason ??
                t.checks
                  .filter((c) => !c.ok)
                  .map((c) => `${c.name}: expected ${c.expected}, observed ${c.observed}`)
                  .join('; ')
              } ${JSON.stringify(t.facts)}`,
          ),
      ])
      .join('\n');
  } catch {
    return json.slice(0, 2000);
  }
}
const cli = join(root, 'dist/bin/main.js');
const labs = join(root, 'labs');
/** The median wall time of `nslab test labs/ ARGS`; its stderr shows as it runs. */
const suite = async (args) => {
  const xs = [];
  for (let r = 0; r < suiteRuns; r++) {
    const t = performance.now();
    const s = await $({ nothrow: true, quiet: false })`node ${cli} test ${labs} --reporter json ${args}`;
    xs.push(performance.now() - t);
    if (s.exitCode !== 0)
      throw new Error(`nslab test labs/ ${args.join(' ')} failed (${s.exitCode}):\n${failures(s.stdout)}`);
  }
  return median(xs);
};
const nodeStart = [];
for (let r = 0; r < suiteRuns; r++) {
  const t = performance.now();
  await $({ quiet: true })`node -e 0`;
  nodeStart.push(performance.now() - t);
}
rows.push({
  name: 'nslab test labs/, sequential',
  ms: await suite([]),
  baselineMs: median(nodeStart),
  targetMs: 4000,
  baseline: 'node -e 0',
});
rows.push({
  name: 'nslab test labs/ --jobs 2',
  ms: await suite(['--jobs', '2']),
  baselineMs: median(nodeStart),
  targetMs: 3000,
  baseline: 'node -e 0',
});

const pad = (s, n) => String(s).padEnd(n);
console.log(`${pad('work', 44)}${pad('nslab (ms)', 12)}${pad('baseline (ms)', 22)}${pad('target', 10)}met`);
for (const r of rows)
  console.log(
    `${pad(r.name, 44)}${pad(r.ms.toFixed(0), 12)}${pad(`${r.baselineMs.toFixed(0)}${r.baseline ? ` (${r.baseline})` : ''}`, 22)}${pad(`<= ${r.targetMs}`, 10)}${r.ms <= r.targetMs ? 'yes' : 'NO'}`,
  );
console.log(
  `first probe of the lab (starts 5 captures): ${firstProbeMs.toFixed(0)} ms; medians of ${runs} (probes) and ${suiteRuns} (suite); baselines: the same traffic bare through nsenter; load average ${loadavg()[0].toFixed(2)}`,
);
writeFileSync(
  new URL('./results-probes.json', import.meta.url),
  JSON.stringify(
    { date: new Date().toISOString(), runs, suiteRuns, firstProbeMs, loadavg: loadavg()[0], rows },
    null,
    2,
  ) + '\n',
);
rmSync(process.env.NSLAB_STATE_DIR, { recursive: true, force: true });
rmSync(dir, { recursive: true, force: true });

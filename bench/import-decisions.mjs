#!/usr/bin/env node
// Benchmark (root): the recorded decisions of `nslab snapshot` (issue 18) on a host with 100 rules. A namespace of its
// own (nslab-bench-decisions-PID) is built with plain `ip -batch`: two interfaces (eth0 10.0.0.2/24 with the default
// route, eth1 192.168.1.2/24 and 2001:db8:1::2/64), and 100 tables with a default route each and 100 rules, a fifth
// each of fwmark, from + dport + ipproto, uidrange, to, iif + tos. Then the whole snapshot and, alone, the one
// `ip -batch` process that asks the kernel every tuple: medians of RUNS, with the load average. The namespace is
// removed at the end, also after a failure. Needs a build (dist/). Usage: node bench/import-decisions.mjs [runs=5]
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { askKernel, decisionTuples } from '../dist/import/decisions.js';
import { takeSnapshot } from '../dist/import/snapshot.js';

const runs = Number(process.argv[2] ?? 5);
const ns = `nslab-bench-decisions-${process.pid}`;
const lines = [
  'link set lo up',
  'link add eth0 type veth peer name eth0p',
  'link add eth1 type veth peer name eth1p',
  'link set eth0 up',
  'link set eth1 up',
  'addr add 10.0.0.2/24 dev eth0',
  'addr add 192.168.1.2/24 dev eth1',
  'addr add 2001:db8:1::2/64 dev eth1 nodad',
  'route add default via 10.0.0.1',
];
for (let k = 1; k <= 100; k++) {
  const t = 1000 + k;
  lines.push(`route add default via 192.168.1.1 table ${t}`);
  const sel = [
    `fwmark ${k}`,
    `from 192.168.1.2 dport ${1000 + k} ipproto tcp`,
    `uidrange ${k * 10}-${k * 10 + 5}`,
    `to 172.16.${k}.0/24`,
    'iif eth1 tos 0x10',
  ][k % 5];
  lines.push(`rule add prio ${100 + k} ${sel} table ${t}`);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const before = loadavg()[0];
execFileSync('ip', ['netns', 'add', ns]);
try {
  execFileSync('ip', ['-n', ns, '-batch', '-'], { input: lines.join('\n') + '\n' });
  const whole = [];
  const ask = [];
  let tuples = [];
  for (let i = 0; i < runs; i++) {
    let t0 = performance.now();
    const s = await takeSnapshot({ ns, name: 'bench', source: 'bench' });
    whole.push(performance.now() - t0);
    tuples = decisionTuples(s);
    t0 = performance.now();
    await askKernel(tuples, ns);
    ask.push(performance.now() - t0);
  }
  console.log(
    `100 rules: ${tuples.length} tuples; ask (one ip -batch): median ${median(ask).toFixed(0)} ms; ` +
      `whole snapshot: median ${median(whole).toFixed(0)} ms; load ${before.toFixed(1)} -> ${loadavg()[0].toFixed(1)}`,
  );
} finally {
  execFileSync('ip', ['netns', 'del', ns]);
}

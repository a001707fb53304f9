#!/usr/bin/env node
// Soak test, not run in CI. Needs root. Safe on a shared machine: it only ever
// removes what this run created (namespaces of its own lab names, processes by
// pid and start time, its own directories), and every CLI it starts gets a
// private NSLAB_STATE_DIR and TMPDIR; cleanup is always scoped to the try's
// instances (`nslab cleanup '<lab>*'`).
//
//   node bench/soak.mjs [--tries N=30] [--verbs up,test] [--signals SIGINT,SIGTERM,SIGKILL] [--nodes 100]
//   node bench/soak.mjs --race [--cycles N=500]
//
// signals (default): for each verb (up, test) and signal, N tries of: start
//   `nslab up|test LAB` on a generated N-node chain lab (every 10th node runs the
//   service `sleep 86xxxxx`, unique to the run; the test variant has two stages of
//   ping and tcp tests), wait a random time between 0 and three quarters of the command's typical
//   duration (measured first), send the signal, wait for the exit, run
//   `nslab cleanup '<lab>*'`, `nslab down` a lab that was completely up, then count:
//     netns      namespaces nslab-<lab>.* and nslab-probe-<pid>-<start> of the try's CLIs
//     procs      processes still there 0.5 s later that carry the run's marker in their
//                environment (NSLAB_SOAK_RUN, inherited from every CLI this script
//                starts) or the run's sleep argument; processes in namespaces that are
//                deleted (neither there at the start nor mounted now) without either
//                are listed apart, not counted (on a shared machine they may be anyone's)
//     state      entries of the private state dir, except the empty logs/ and work/
//     work       entries of <statedir>/work/ (scratch directories)
//     artifacts  $TMPDIR/nslab-artifacts-* of a run that did not complete (interrupted),
//                and anything else in the private $TMPDIR
//     kept*      $TMPDIR/nslab-artifacts-* of a completed test run with a failed test
//                (pcaps kept on purpose; not counted in the exit status)
//   then removes what is left of the try, so tries are independent.
// --race: N cycles of `up` / `exec n1 -- ping n2` / `down` of a 3-node lab while a
//   second loop runs `nslab cleanup '<lab>*'` on the same state dir without pause;
//   counts the live lab damaged (up failing, namespaces missing right after up, the
//   ping failing, down failing, namespaces left after down, cleanup saying it removed it).
//
// Prints a table (kind x verb/signal), writes bench/results-soak.json (each mode its
//
// The parts, in bench/soak/: run.mjs (the run's identity, starting the CLI with zx),
// labs.mjs (the generated labs), machine.mjs (what a try left, and removing it),
// signals.mjs and race.mjs (the two modes). This file: arguments, results, teardown.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { killOurs, netnsList, probeNames, removeNamespaces, scanProcs } from './soak/machine.mjs';
import { raceMode } from './soak/race.mjs';
import { RUN, SLEEP, children, myClis, sleep, status, work } from './soak/run.mjs';
import { KINDS, printTable, signalsMode } from './soak/signals.mjs';

const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
const USAGE =
  'usage: node bench/soak.mjs [--tries N=30] [--verbs up,test] [--signals SIGINT,SIGTERM,SIGKILL] [--nodes 100]\n       node bench/soak.mjs --race [--cycles N=500]';
if (argv.includes('-h') || argv.includes('--help')) {
  console.log(USAGE);
  process.exit(0);
}
const RACE = argv.includes('--race');
const TRIES = Number(opt('--tries', 30));
const CYCLES = Number(opt('--cycles', 500));
const NODES = Number(opt('--nodes', 100));
const VERBS = opt('--verbs', 'up,test').split(',');
const SIGNALS = opt('--signals', 'SIGINT,SIGTERM,SIGKILL').split(',');
if (
  ![TRIES, CYCLES, NODES].every((n) => Number.isInteger(n) && n > 0) ||
  NODES < 4 ||
  TRIES > 99 ||
  !VERBS.every((v) => ['up', 'test'].includes(v)) ||
  !SIGNALS.every((s) => ['SIGINT', 'SIGTERM', 'SIGKILL'].includes(s))
) {
  console.error(`bad arguments\n${USAGE}`);
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('soak.mjs needs root (network namespaces)');
  process.exit(3);
}
const resultsFile = new URL('./results-soak.json', import.meta.url).pathname;

const onSignal = (sig) => {
  if (status.stopping) return;
  status.stopping = true;
  console.log(`\n${sig}: stopping after the current step, then removing what this run created`);
  for (const p of children) p.child?.kill('SIGTERM');
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

let failed = true;
let out = {};
try {
  out = JSON.parse(readFileSync(resultsFile, 'utf8'));
} catch {
  /* first run */
}
try {
  if (RACE) {
    console.log(
      `race: ${CYCLES} cycles of up / exec ping / down of a 3-node lab, 'cleanup ${RUN}-race*' looping on the same state dir`,
    );
    const r = (out.race = await raceMode({ cycles: CYCLES }));
    console.log(
      `\nrace: ${r.cycles} cycles in ${r.seconds} s, ${r.cleanups} cleanups ran meanwhile (${r.cleanupFailures} failed; ${r.removedWhileGoingDown} removed a lab 'down' was removing)`,
    );
    console.log(
      `live lab damaged: ${r.damaged} cycles; ${Object.entries(r.kinds)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')}`,
    );
    for (const e of r.events.slice(0, 5)) console.log(`  cycle ${e.cycle}: ${e.kind}: ${e.detail}`);
    failed = r.damaged > 0 || r.cleanupFailures > 0 || status.stopping;
  } else {
    console.log(`soak run ${RUN}: ${NODES}-node chain labs, services 'sleep ${SLEEP}', private dirs under ${work()}`);
    const r = (out.signals = await signalsMode({ verbs: VERBS, signals: SIGNALS, tries: TRIES, nodes: NODES }));
    if (Object.keys(r.cells).length) printTable(r);
    const total = Object.values(r.cells).reduce((a, c) => a + KINDS.reduce((b, k) => b + c.counts[k], 0), 0);
    const bad = Object.entries(r.cells)
      .filter(([, c]) => c.triesWithLeftovers)
      .map(([k, c]) => `${k} ${c.triesWithLeftovers}/${c.tries}`);
    console.log(
      `\nsummary: ${total} leftover items in ${r.seconds} s of tries${bad.length ? `; tries with leftovers: ${bad.join(', ')}` : ''}`,
    );
    failed = total > 0 || status.stopping;
  }
  writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  console.log(`results: ${resultsFile}`);
} finally {
  // nothing of this run may stay: its namespaces by name, its processes by pid
  const ns = (await netnsList()).filter((n) => n.startsWith(`nslab-${RUN}-`) || probeNames(myClis).has(n));
  await removeNamespaces(ns);
  killOurs();
  await sleep(200);
  const procs = scanProcs().filter((p) => p.ours);
  if (ns.length || procs.length) {
    console.log(
      `teardown: removed what was still there: ${[...ns, ...procs.map((p) => `pid ${p.pid} ${p.cmd}`)].join(', ')}; files kept in ${work()}`,
    );
    failed = true;
  } else {
    rmSync(work(), { recursive: true, force: true });
    console.log(`teardown: nothing of run ${RUN} is left (ip netns list, processes checked)`);
  }
  process.exitCode = failed ? 1 : 0;
}

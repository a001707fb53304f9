#!/usr/bin/env node
// Soak test, not run in CI. Needs root. Two modes:
//
//   signals (default): for each verb (up, test) and signal (SIGINT, SIGTERM, SIGKILL),
//     N tries of: start `nslab up|test LAB` on a generated 100-node chain lab (every
//     10th node runs a service `sleep 86xxxxx`, unique per soak run; the test variant
//     has stages of ping and tcp tests), wait a random time between 0 and the command's
//     typical duration (measured once first), send the signal, wait for the exit, run
//     `nslab cleanup`, `nslab down` a lab that was completely up, then count leftovers:
//       netns   namespaces of the try's lab (nslab-<lab> followed by - or .), and
//               nslab-probe-<pid> namespaces of the CLI processes this script started
//       procs   processes in a network namespace that neither existed at the start nor
//               is mounted under /run/netns now (it was deleted), or whose cmdline has
//               the run's sleep argument, or that carry the run's marker in their
//               environment (NSLAB_SOAK_RUN, inherited from every CLI this script
//               starts); a process is counted when still there 0.5 s later
//       state   what remains under the try's private NSLAB_STATE_DIR (an empty logs/
//               directory is part of the state dir and not counted)
//       shm     /dev/shm/nslab-* and
//       tmp     $TMPDIR/nslab-* entries that were not there at the start, still there
//               0.5 s later and named in no live process's argv; counted only when a
//               process of this run named them (watched every 100 ms): on a shared
//               machine other people's runs create them too (those are listed apart)
//     plus, not counted in the exit status, `artifacts`: $TMPDIR/nslab-artifacts/<the
//     try's instance> (pcaps a failing test keeps on purpose).
//     Each try's leftovers of this run are then removed, so tries are independent.
//   --race: N cycles of `up` / `exec n1 -- ping n2` / `down` of a 3-node lab while a
//     second loop runs `nslab cleanup` on the same state dir without pause; counts
//     live labs damaged (up failing, namespaces missing right after up, the ping
//     failing, down failing, namespaces left after down).
//
// Prints a table (kind x verb/signal) and writes bench/results-soak.json (each mode
// updates its own part). Exits 0 when every count is 0, 1 otherwise.
//
// Safety on a shared machine: `nslab cleanup` deletes every nslab- namespace that its
// state dir does not record, anyone's. Every CLI this script starts therefore finds on
// its PATH an `ip` wrapper whose `ip netns list` shows only this run's namespaces (and
// its own probe namespaces); that the wrapper works is checked first with a canary
// namespace of the run's own. The script never touches what is not its own, and at
// the end removes everything of its run it finds (down --all on its state dirs, then
// namespaces by name and processes by pid).
//
// Usage: node bench/soak.mjs [--tries N=30] [--verbs up,test] [--signals SIGINT,SIGTERM,SIGKILL] [--nodes 100]
//        node bench/soak.mjs --race [--cycles N=500]
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// ---------------------------------------------------------------- options
const argv = process.argv.slice(2);
const opt = (name, def) => {
  const i = argv.indexOf(name);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : def;
};
if (argv.includes('-h') || argv.includes('--help')) {
  console.log('usage: node bench/soak.mjs [--tries N=30] [--verbs up,test] [--signals SIGINT,SIGTERM,SIGKILL] [--nodes 100]\n       node bench/soak.mjs --race [--cycles N=500]');
  process.exit(0);
}
const RACE = argv.includes('--race');
const TRIES = Number(opt('--tries', 30));
const CYCLES = Number(opt('--cycles', 500));
const NODES = Number(opt('--nodes', 100));
const VERBS = opt('--verbs', 'up,test').split(',');
const SIGNALS = opt('--signals', 'SIGINT,SIGTERM,SIGKILL').split(',');
if (![TRIES, CYCLES, NODES].every((n) => Number.isInteger(n) && n > 0) || NODES < 4 ||
    !VERBS.every((v) => ['up', 'test'].includes(v)) || !SIGNALS.every((s) => ['SIGINT', 'SIGTERM', 'SIGKILL'].includes(s))) {
  console.error('bad arguments; see --help');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error('soak.mjs needs root (network namespaces)');
  process.exit(3);
}

// ---------------------------------------------------------------- the run's identity
const cli = new URL('../dist/bin/main.js', import.meta.url).pathname;
const resultsFile = new URL('./results-soak.json', import.meta.url).pathname;
const rand = (n, chars) => Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
const RUN = `soak${rand(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
const SLEEP = `86${rand(5, '0123456789')}`;
const MARK = `NSLAB_SOAK_RUN=${RUN}`;
const work = mkdtempSync(join(tmpdir(), 'soak-')); // not nslab-*: it is not a leftover candidate itself
const TMP = tmpdir();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const mine = (lab) => new RegExp(`^nslab-${lab}[-.]`);
const RUN_NS = new RegExp(`^nslab-${RUN}[a-z0-9]*[-.]`);
const myPids = new Set(); // every CLI process this script started (for nslab-probe-<pid>)
const myFiles = new Set(); // /dev/shm or $TMPDIR entries seen in the argv of this run's processes
let stopping = false;
const children = new Set();

// ---------------------------------------------------------------- the ip wrapper
const realIp = spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim();
if (!realIp) { console.error('ip not found'); process.exit(3); }
const binDir = join(work, 'bin');
const allowFile = join(work, 'netns-allow');
mkdirSync(binDir);
writeFileSync(allowFile, `^nslab-${RUN}[a-z0-9]*[-.]\n`);
writeFileSync(join(binDir, 'ip'), `#!/bin/sh
# soak.mjs: 'ip netns list' shows only the soak run's namespaces, so that 'nslab cleanup'
# never sees (and deletes) anyone else's; everything else goes to the real ip.
seen=; sub=; json=
for a in "$@"; do
  case $a in -j|-js*|-json) json=1 ;; esac
  if [ -n "$seen" ]; then sub=$a; break; fi
  [ "$a" = netns ] && seen=1
done
if [ -n "$seen" ] && case $sub in ''|l|li|lis|list|ls|show) true ;; *) false ;; esac; then
  out=$(${JSON.stringify(realIp)} "$@") || exit $?
  if [ -n "$json" ]; then
    printf '%s' "$out" | ${JSON.stringify(process.execPath)} -e 'const p=require("fs").readFileSync(${JSON.stringify(allowFile)},"utf8").split("\\n").filter(Boolean).map((l)=>new RegExp(l));let a=[];try{a=JSON.parse(require("fs").readFileSync(0,"utf8")||"[]")}catch{}process.stdout.write(JSON.stringify(a.filter((x)=>p.some((r)=>r.test(x.name))))+"\\n")'
  else
    printf '%s\\n' "$out" | grep -E -f ${JSON.stringify(allowFile)}
  fi
  exit 0
fi
exec ${JSON.stringify(realIp)} "$@"
`);
chmodSync(join(binDir, 'ip'), 0o755);
const envFor = (stateDir) => ({ ...process.env, NSLAB_STATE_DIR: stateDir, NSLAB_SOAK_RUN: RUN, PATH: `${binDir}:${process.env.PATH}` });

// ---------------------------------------------------------------- running the CLI
function start(args, env) {
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  if (child.pid) {
    myPids.add(child.pid);
    writeFileSync(allowFile, `^nslab-probe-${child.pid}( |$)\n`, { flag: 'a' });
  }
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const t0 = performance.now();
  const exited = new Promise((res) => child.on('close', (code, signal) => {
    children.delete(child);
    res({ code, signal, out, ms: performance.now() - t0 });
  }));
  return { child, exited, t0 };
}
async function nslab(args, stateDir, timeoutMs = 300_000) {
  const r = start(args, envFor(stateDir));
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  const res = await r.exited;
  clearTimeout(timer);
  return res;
}
const exitName = (r) => (r.signal ? r.signal : String(r.code));

// ---------------------------------------------------------------- labs
const addr = (i, host) => `10.${Math.floor(i / 250)}.${i % 250}.${host}`;
function labFile(name, n, { services = true, tests = false } = {}) {
  const nodes = [], links = [];
  for (let i = 1; i <= n; i++) {
    const ifs = [i > 1 ? `l: ${addr(i - 1, 2)}/24` : '', i < n ? `r: ${addr(i, 1)}/24` : ''].filter(Boolean);
    const svc = services && i % 10 === 0 ? `, services: [{ name: s1, command: sleep ${SLEEP} }]` : '';
    nodes.push(`  n${i}: { interfaces: { ${ifs.join(', ')} }${svc} }`);
    if (i < n) links.push(`  - n${i}:r n${i + 1}:l`);
  }
  let yaml = `name: ${name}\nnodes:\n${nodes.join('\n')}\nlinks:\n${links.join('\n')}\n`;
  if (tests) {
    const m = Math.floor(n / 2);
    yaml += `stages:
  - name: neighbours
    tests:
      - name: n1 pings n2
        ping: { from: n1, to: n2:l, count: 2 }
        expect: { replies: 2, path: [n1, n2] }
      - name: n${m} pings n${m + 1}
        ping: { from: n${m}, to: n${m + 1}:l, count: 2 }
        expect: { replies: 2, symmetric: true }
  - name: the far end
    tests:
      - name: n${n} pings n${n - 1}
        ping: { from: n${n}, to: n${n - 1}:r, count: 2 }
        expect: { replies: 2, reply-via: n${n - 1}:r }
      - name: n${n - 1} connects to n${n} over tcp
        tcp: { from: n${n - 1}, to: n${n}:l }
        expect: { connected: true }
`;
  }
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

// ---------------------------------------------------------------- looking at the machine
function netnsList() {
  const r = spawnSync(realIp, ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout.split('\n').map((l) => l.split(' ')[0]).filter(Boolean);
}
function mountedNsInodes() {
  const s = new Set();
  let names = [];
  try { names = readdirSync('/run/netns'); } catch { /* none */ }
  for (const n of names) try { s.add(String(statSync(join('/run/netns', n)).ino)); } catch { /* vanished */ }
  return s;
}
function startTime(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch { return undefined; }
}
function scanProcs() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let ino;
    try { ino = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/net`))?.[1]; } catch { continue; }
    let cmd = '', marked = false;
    try { cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' '); } catch { /* gone */ }
    try { marked = readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(MARK); } catch { /* gone */ }
    out.push({ pid: Number(d), start: startTime(d), ino, cmd, marked });
  }
  return out;
}
const startInodes = new Set(scanProcs().map((p) => p.ino));
const nslabEntries = (dir) => { try { return readdirSync(dir).filter((n) => n.startsWith('nslab-')); } catch { return []; } };
const startShm = new Set(nslabEntries('/dev/shm'));
const startTmp = new Set(nslabEntries(TMP));
const counted = { shm: new Set(), tmp: new Set() };

/** Remembers the /dev/shm and $TMPDIR entries that this run's processes name in their argv. */
function noteMyFiles() {
  for (const p of scanProcs()) {
    if (!p.marked) continue;
    for (const m of p.cmd.matchAll(/(\/[^\s]*?)\/(nslab-[A-Za-z0-9._-]+)/g))
      if (m[1] === '/dev/shm' || m[1] === TMP) myFiles.add(join(m[1], m[2]));
  }
}
// Whose is a new /dev/shm or $TMPDIR entry? Other people's nslab runs create them too on a
// shared machine. Every 100 ms, a new entry is looked up in the argv of this run's
// processes (nslab's batch worker names its directory in its argv) for up to 2 s.
const known = new Set([...startShm].map((n) => join('/dev/shm', n)).concat([...startTmp].map((n) => join(TMP, n))));
const pendingFiles = new Map();
const watcher = setInterval(() => {
  for (const dir of ['/dev/shm', TMP]) for (const n of nslabEntries(dir)) {
    const f = join(dir, n);
    if (!known.has(f)) { known.add(f); pendingFiles.set(f, 20); }
  }
  if (!pendingFiles.size) return;
  noteMyFiles();
  for (const [f, left] of pendingFiles) {
    if (myFiles.has(f) || left <= 1) pendingFiles.delete(f);
    else pendingFiles.set(f, left - 1);
  }
}, 100);

function stateLeaves(dir) {
  const out = [];
  const walk = (d, rel) => {
    let names;
    try { names = readdirSync(d); } catch { return; }
    if (!names.length && rel && rel !== 'logs') out.push(rel + '/');
    for (const n of names) {
      const p = join(d, n), r = rel ? `${rel}/${n}` : n;
      let dir = false;
      try { dir = statSync(p).isDirectory(); } catch { continue; }
      if (dir) walk(p, r); else out.push(r);
    }
  };
  walk(dir, '');
  return out;
}

/** Leftovers of a try: lab is the try's lab name, stateDir its state dir, pids the CLI processes of the try. */
async function leftovers(lab, stateDir, pids) {
  const re = mine(lab);
  const probeNs = new Set([...pids].map((p) => `nslab-probe-${p}`));
  const netns = netnsList().filter((n) => re.test(n) || probeNs.has(n));
  const suspect = (p, mounted) => (!startInodes.has(p.ino) && !mounted.has(p.ino)) || p.cmd.includes(SLEEP) || p.marked;
  let cand = scanProcs().filter((p) => suspect(p, mountedNsInodes()));
  let shm = nslabEntries('/dev/shm').filter((n) => !startShm.has(n) && !counted.shm.has(n));
  let tmp = nslabEntries(TMP).filter((n) => !startTmp.has(n) && !counted.tmp.has(n) && n !== 'nslab-artifacts');
  if (cand.length || shm.length || tmp.length) {
    await sleep(500);
    const mounted = mountedNsInodes();
    const now = scanProcs();
    const still = new Map(now.map((p) => [p.pid, p]));
    cand = cand.filter((p) => { const q = still.get(p.pid); return q && q.start === p.start && suspect(q, mounted); });
    const argvs = now.map((p) => p.cmd).join('\n');
    const live = (dir, n) => existsSync(join(dir, n)) && !argvs.includes(join(dir, n));
    shm = shm.filter((n) => live('/dev/shm', n));
    tmp = tmp.filter((n) => live(TMP, n));
  }
  for (const n of shm) counted.shm.add(n);
  for (const n of tmp) counted.tmp.add(n);
  const foreignFiles = [...shm.map((n) => join('/dev/shm', n)), ...tmp.map((n) => join(TMP, n))].filter((f) => !myFiles.has(f));
  shm = shm.filter((n) => myFiles.has(join('/dev/shm', n)));
  tmp = tmp.filter((n) => myFiles.has(join(TMP, n)));
  const ours = cand.filter((p) => p.marked || p.cmd.includes(SLEEP));
  const foreign = cand.filter((p) => !(p.marked || p.cmd.includes(SLEEP)));
  let artifacts = [];
  try { artifacts = readdirSync(join(TMP, 'nslab-artifacts')).filter((n) => n === lab || n.startsWith(`${lab}.`)).map((n) => `nslab-artifacts/${n}`); } catch { /* none */ }
  return {
    counts: { netns: netns.length, procs: ours.length, state: 0, shm: shm.length, tmp: tmp.length },
    netns, procs: ours.map((p) => `${p.pid} ${p.cmd}`.slice(0, 200)), foreign: foreign.map((p) => `${p.pid} ${p.cmd}`.slice(0, 200)), foreignFiles,
    state: stateDir ? stateLeaves(stateDir) : [], shm, tmp, artifacts,
  };
}

/** Removes everything of this run it finds (namespaces, processes, files); stateDirs are taken down first. */
async function sweep(stateDirs) {
  for (const d of stateDirs)
    if (existsSync(d) && readdirSync(d).some((n) => n.endsWith('.json'))) await nslab(['down', '--all'], d, 120_000);
  const probeNs = new Set([...myPids].map((p) => `nslab-probe-${p}`));
  const ns = netnsList().filter((n) => RUN_NS.test(n) || probeNs.has(n));
  if (ns.length) spawnSync(realIp, ['-force', '-batch', '-'], { input: ns.map((n) => `netns del ${n}\n`).join('') });
  for (const p of scanProcs()) {
    if (!(p.marked || p.cmd.includes(SLEEP))) continue;
    if (startTime(p.pid) === p.start) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
  }
  for (const f of myFiles) rmSync(f, { recursive: true, force: true });
  try {
    for (const n of readdirSync(join(TMP, 'nslab-artifacts'))) if (n.startsWith(RUN)) rmSync(join(TMP, 'nslab-artifacts', n), { recursive: true, force: true });
    if (!startTmp.has('nslab-artifacts') && !readdirSync(join(TMP, 'nslab-artifacts')).length) rmSync(join(TMP, 'nslab-artifacts'), { recursive: true });
  } catch { /* none */ }
}

// ---------------------------------------------------------------- safety check: the wrapper hides foreign namespaces from cleanup
async function checkWrapper() {
  const canary = `nslab-zz${RUN}canary-x`; // ours, but outside the wrapper's allow list, like a foreign namespace
  for (let t = 0; ; t++) {
    const foreign = netnsList().filter((n) => n.startsWith('nslab-') && !RUN_NS.test(n));
    if (!foreign.length) break;
    if (t === 0) console.log(`waiting until no other nslab namespace exists before the wrapper check (${foreign.slice(0, 3).join(' ')}...)`);
    if (t >= 120) { console.error('other nslab namespaces exist; not checking the cleanup wrapper while they do. Try later.'); return false; }
    await sleep(1000);
  }
  spawnSync(realIp, ['netns', 'add', canary]);
  const d = join(work, 'state-canary');
  const r = await nslab(['cleanup'], d);
  const survived = netnsList().includes(canary);
  spawnSync(realIp, ['netns', 'del', canary]);
  if (!survived || r.code !== 0) {
    console.error(`the ip wrapper does not hide other namespaces from 'nslab cleanup' (exit ${exitName(r)}): ${r.out.trim()}\n` +
      'refusing to run cleanup on a shared machine; adapt the wrapper in bench/soak.mjs to how cleanup lists namespaces');
    return false;
  }
  return true;
}

// ---------------------------------------------------------------- signals mode
const KINDS = ['netns', 'procs', 'state', 'shm', 'tmp'];
async function signalsMode() {
  const res = { date: new Date().toISOString(), commit: git(), run: RUN, sleep: SLEEP, nodes: NODES, tries: TRIES, typicalMs: {}, cells: {} };
  // the typical durations, uninterrupted
  for (const verb of VERBS) {
    const lab = `${RUN}${verb[0]}0`;
    const d = join(work, `state-${lab}`);
    const r = await nslab([verb, labFile(lab, NODES, { tests: verb === 'test' })], d);
    res.typicalMs[verb] = Math.round(r.ms);
    console.log(`typical ${verb}: ${(r.ms / 1000).toFixed(1)} s (exit ${exitName(r)})`);
    if (r.code !== 0) console.log(r.out.trim().split('\n').slice(-8).map((l) => `  | ${l}`).join('\n'));
    if (verb === 'up') await nslab(['down', lab], d);
    await sweep([d]);
    if (stopping) return res;
  }
  const t0 = performance.now();
  const perTry = VERBS.reduce((a, v) => a + res.typicalMs[v] + 2000, 0); // half to wait, about as much to unwind or take down, cleanup, checks
  console.log(`${TRIES} tries x ${SIGNALS.length} signals x ${VERBS.length} verbs: roughly ${Math.ceil(perTry * TRIES * SIGNALS.length / 60000)} min`);
  for (const verb of VERBS) for (const sig of SIGNALS) {
    const cell = { tries: 0, counts: Object.fromEntries([...KINDS, 'artifacts'].map((k) => [k, 0])), triesWithLeftovers: 0, exits: {}, completed: 0, notes: [], details: [] };
    res.cells[`${verb}/${sig}`] = cell;
    for (let k = 1; k <= TRIES && !stopping; k++) {
      const lab = `${RUN}${verb[0]}${sig[3].toLowerCase()}${k}`;
      const stateDir = join(work, `state-${lab}`);
      const file = labFile(lab, NODES, { tests: verb === 'test' });
      const delay = Math.random() * res.typicalMs[verb];
      const pids = new Set();
      const c = start([verb, file], envFor(stateDir));
      pids.add(c.child.pid);
      await Promise.race([sleep(delay), c.exited]);
      noteMyFiles();
      const running = c.child.exitCode === null && c.child.signalCode === null;
      c.child.kill(sig);
      if (sig === 'SIGKILL') noteMyFiles();
      const timer = setTimeout(() => { cell.notes.push(`try ${k}: no exit 180 s after ${sig}; killed`); c.child.kill('SIGKILL'); }, 180_000);
      const ex = await c.exited;
      clearTimeout(timer);
      const cl = start(['cleanup'], envFor(stateDir));
      pids.add(cl.child.pid);
      const clr = await cl.exited;
      if (clr.code !== 0) cell.notes.push(`try ${k}: cleanup exit ${exitName(clr)}: ${clr.out.trim().split('\n').pop()}`);
      // a lab that was completely up: `up` exited 0, or its state says up (killed after writing it)
      let upState = [];
      try { upState = readdirSync(stateDir).filter((n) => n.endsWith('.json')).map((n) => JSON.parse(readFileSync(join(stateDir, n), 'utf8'))).filter((s) => s.status === 'up'); } catch { /* none */ }
      const completed = verb === 'up' && (ex.code === 0 || upState.length > 0);
      if (completed) {
        cell.completed++;
        for (const s of upState.length ? upState : [{ instance: lab }]) {
          const dn = start(['down', s.instance], envFor(stateDir));
          pids.add(dn.child.pid);
          const dr = await dn.exited;
          if (dr.code !== 0) cell.notes.push(`try ${k}: down exit ${exitName(dr)}: ${dr.out.trim().split('\n').pop()}`);
        }
      }
      if (stopping) break; // this script was interrupted: the try's cleanup may have been cut short
      const e = running ? exitName(ex) : `${exitName(ex)} (done before ${sig})`;
      cell.exits[e] = (cell.exits[e] ?? 0) + 1;
      const left = await leftovers(lab, stateDir, pids);
      left.counts.state = left.state.length;
      cell.tries++;
      for (const kk of KINDS) cell.counts[kk] += left.counts[kk];
      cell.counts.artifacts += left.artifacts.length;
      const any = KINDS.some((kk) => left.counts[kk]);
      if (any) cell.triesWithLeftovers++;
      if (any || left.foreign.length || left.foreignFiles.length || left.artifacts.length)
        cell.details.push({ try: k, delayMs: Math.round(delay), exit: e, ...left });
      process.stdout.write(`${verb}/${sig} ${k}/${TRIES}: after ${(delay / 1000).toFixed(2)} s, exit ${e}` +
        `${any ? `; left: ${KINDS.filter((kk) => left.counts[kk]).map((kk) => `${kk} ${left.counts[kk]}`).join(', ')}` : ''}\n`);
      await sweep([stateDir]);
    }
  }
  res.seconds = Math.round((performance.now() - t0) / 1000);
  return res;
}

// ---------------------------------------------------------------- race mode
async function raceMode() {
  const lab = `${RUN}race`;
  const file = labFile(lab, 3, { services: false });
  const stateDir = join(work, 'state-race');
  const res = { date: new Date().toISOString(), commit: git(), run: RUN, cycles: 0, cleanups: 0, cleanupFailures: 0, damaged: 0,
    kinds: { 'up failed': 0, 'namespaces missing after up': 0, 'ping failed': 0, 'down failed': 0, 'namespaces left after down': 0 }, events: [] };
  let done = false;
  const cleanupLoop = (async () => {
    while (!done && !stopping) {
      const r = await nslab(['cleanup'], stateDir, 60_000);
      res.cleanups++;
      if (r.code !== 0) res.cleanupFailures++;
    }
  })();
  const damage = (i, kind, detail = '') => {
    res.kinds[kind]++;
    if (res.events.length < 50) res.events.push({ cycle: i, kind, detail: detail.trim().split('\n').slice(-2).join(' | ').slice(0, 300) });
  };
  const t0 = performance.now();
  for (let i = 1; i <= CYCLES && !stopping; i++) {
    let hurt = false;
    const up = await nslab(['up', file], stateDir, 60_000);
    if (up.code !== 0) { damage(i, 'up failed', up.out); hurt = true; }
    else {
      let expected = [];
      try { expected = JSON.parse(readFileSync(join(stateDir, `${lab}.json`), 'utf8')).namespaces.map((n) => n.ns); } catch { /* state gone */ }
      const have = netnsList().filter((n) => mine(lab).test(n));
      const missing = expected.length ? expected.filter((n) => !have.includes(n)) : ['(state file gone)'];
      if (missing.length || have.length !== 3) { damage(i, 'namespaces missing after up', `missing ${missing.join(' ')}; have ${have.join(' ')}`); hurt = true; }
      const ping = await nslab(['exec', lab, 'n1', '--', 'ping', '-c1', '-W2', addr(1, 2)], stateDir, 30_000);
      if (ping.code !== 0) { damage(i, 'ping failed', ping.out); hurt = true; }
      const down = await nslab(['down', lab], stateDir, 60_000);
      if (down.code !== 0) { damage(i, 'down failed', down.out); hurt = true; }
    }
    const left = netnsList().filter((n) => mine(lab).test(n));
    if (left.length) { damage(i, 'namespaces left after down', left.join(' ')); hurt = true; }
    if (hurt) {
      res.damaged++;
      // start the next cycle clean: what is left of this one goes (state file, namespaces)
      if (existsSync(join(stateDir, `${lab}.json`))) await nslab(['down', lab], stateDir);
      const rest = netnsList().filter((n) => mine(lab).test(n));
      if (rest.length) spawnSync(realIp, ['-force', '-batch', '-'], { input: rest.map((n) => `netns del ${n}\n`).join('') });
      rmSync(join(stateDir, `${lab}.json`), { force: true });
    }
    res.cycles = i;
    if (i % 25 === 0 || i === CYCLES) process.stdout.write(`race ${i}/${CYCLES}: ${res.damaged} damaged, ${res.cleanups} cleanups, ${((performance.now() - t0) / i).toFixed(0)} ms/cycle\n`);
  }
  done = true;
  await cleanupLoop;
  res.seconds = Math.round((performance.now() - t0) / 1000);
  await sweep([stateDir]);
  return res;
}

function git() {
  const r = spawnSync('git', ['-C', new URL('..', import.meta.url).pathname, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', new URL('..', import.meta.url).pathname, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
  return r.stdout.trim() + (dirty ? '+dirty' : '');
}

function printTable(res) {
  const cols = Object.keys(res.cells);
  const w = Math.max(12, ...cols.map((c) => c.length + 1));
  console.log(`\nleftovers after cleanup (and down), ${res.tries} tries each: items (tries with any)`);
  console.log('kind'.padEnd(11) + cols.map((c) => c.padStart(w)).join(''));
  for (const k of [...KINDS, 'artifacts']) {
    console.log((k === 'artifacts' ? 'artifacts*' : k).padEnd(11) + cols.map((c) => {
      const cell = res.cells[c];
      const n = cell.counts[k];
      const tries = cell.details.filter((d) => (k === 'artifacts' ? d.artifacts.length : d.counts[k])).length;
      return `${n} (${tries})`.padStart(w);
    }).join(''));
  }
  console.log('* pcaps kept for failed tests, on purpose; not counted in the exit status');
  for (const c of cols) {
    const cell = res.cells[c];
    console.log(`${c}: exits ${Object.entries(cell.exits).map(([e, n]) => `${e} x${n}`).join(', ')}; ${cell.completed} completed ups taken down`);
    for (const n of cell.notes.slice(0, 5)) console.log(`  note: ${n}`);
    const kinds = {};
    for (const d of cell.details) for (const k of KINDS) for (const item of (k === 'state' ? d.state : d[k]) ?? []) if (d.counts[k]) (kinds[k] ??= new Set()).add(k === 'procs' ? item.replace(/^\d+ /, '') : item.replace(new RegExp(RUN + '[a-z0-9]*', 'g'), '<lab>'));
    for (const [k, s] of Object.entries(kinds)) console.log(`  ${k}: ${[...s].slice(0, 6).join(' | ')}${s.size > 6 ? ` | ... (${s.size} distinct)` : ''}`);
    const foreign = cell.details.flatMap((d) => d.foreign);
    if (foreign.length) console.log(`  not counted (processes in deleted namespaces without this run's marker, not ours): ${foreign.slice(0, 3).join(' | ')}`);
    const ff = [...new Set(cell.details.flatMap((d) => d.foreignFiles))];
    if (ff.length) console.log(`  not counted (new nslab-* files no process of this run named, not ours): ${ff.slice(0, 4).join(' ')}${ff.length > 4 ? ' ...' : ''}`);
  }
}

// ---------------------------------------------------------------- main
const onSignal = (sig) => {
  if (stopping) return;
  stopping = true;
  console.log(`\n${sig}: stopping after the current step, then removing what this run created`);
  for (const c of children) c.kill('SIGTERM');
};
process.on('SIGINT', () => onSignal('SIGINT'));
process.on('SIGTERM', () => onSignal('SIGTERM'));

let failed = false;
let out = {};
try { out = JSON.parse(readFileSync(resultsFile, 'utf8')); } catch { /* first run */ }
try {
  if (!(await checkWrapper())) process.exitCode = 3;
  else if (RACE) {
    console.log(`race: ${CYCLES} cycles of up / exec ping / down of a 3-node lab, cleanup looping on the same state dir (run ${RUN})`);
    const r = await raceMode();
    out.race = r;
    console.log(`\nrace: ${r.cycles} cycles in ${r.seconds} s, ${r.cleanups} cleanups ran meanwhile (${r.cleanupFailures} failed)`);
    console.log(`live lab damaged: ${r.damaged} cycles; ${Object.entries(r.kinds).map(([k, n]) => `${k}: ${n}`).join(', ')}`);
    for (const e of r.events.slice(0, 5)) console.log(`  cycle ${e.cycle}: ${e.kind}: ${e.detail}`);
    failed = r.damaged > 0 || r.cleanupFailures > 0 || stopping;
  } else {
    console.log(`soak run ${RUN}: ${NODES}-node chain labs, services 'sleep ${SLEEP}', state dirs under ${work}`);
    const r = await signalsMode();
    out.signals = r;
    if (Object.keys(r.cells).length) printTable(r);
    const total = Object.values(r.cells).reduce((a, c) => a + KINDS.reduce((b, k) => b + c.counts[k], 0), 0);
    const bad = Object.entries(r.cells).filter(([, c]) => c.triesWithLeftovers).map(([k, c]) => `${k} ${c.triesWithLeftovers}/${c.tries}`);
    console.log(`\nsummary: ${total} leftover items in ${r.seconds} s of tries${bad.length ? `; tries with leftovers: ${bad.join(', ')}` : ''}`);
    failed = total > 0 || stopping;
  }
  writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  console.log(`results: ${resultsFile}`);
} finally {
  // nothing of this run may stay: take down and clean up every state dir, then anything by name or pid
  const dirs = readdirSync(work).filter((n) => n.startsWith('state-')).map((n) => join(work, n));
  await sweep(dirs);
  const ns = netnsList().filter((n) => RUN_NS.test(n) || n.includes(`${RUN}canary`));
  const procs = scanProcs().filter((p) => p.marked || p.cmd.includes(SLEEP));
  if (ns.length || procs.length) {
    console.log(`teardown: still there: ${[...ns, ...procs.map((p) => `pid ${p.pid} ${p.cmd}`)].join(', ')}; state dirs kept in ${work}`);
    failed = true;
  } else {
    rmSync(work, { recursive: true, force: true });
    console.log(`teardown: nothing of run ${RUN} is left (ip netns list, processes checked)`);
  }
  clearInterval(watcher);
  if (process.exitCode !== 3) process.exitCode = failed ? 1 : 0;
}

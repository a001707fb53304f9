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
// own part). Exit 0 when every count is 0, 1 otherwise.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

// ---------------------------------------------------------------- the run's identity
const cli = new URL('../dist/bin/main.js', import.meta.url).pathname;
const resultsFile = new URL('./results-soak.json', import.meta.url).pathname;
const rand = (n, chars) => Array.from({ length: n }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
const RUN = `soak${rand(6, 'abcdefghijklmnopqrstuvwxyz0123456789')}`;
const SLEEP = `86${rand(5, '0123456789')}`;
const MARK = `NSLAB_SOAK_RUN=${RUN}`;
const work = mkdtempSync(join(tmpdir(), 'soak-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const nsOf = (lab) => (n) => n.startsWith(`nslab-${lab}.`); // the lab's namespaces, by hand or as instances
const children = new Set();
const myClis = []; // { pid, start } of every CLI this script started: their probe namespaces are ours
let stopping = false;

// ---------------------------------------------------------------- running the CLI
function startTime(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return st.slice(st.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
function start(args, dirs) {
  const env = { ...process.env, NSLAB_STATE_DIR: dirs.state, TMPDIR: dirs.tmp, NSLAB_SOAK_RUN: RUN };
  const child = spawn(process.execPath, [cli, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const me = { pid: child.pid, start: startTime(child.pid) };
  if (child.pid) myClis.push(me);
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
  });
  child.stderr.on('data', (d) => {
    out += d;
  });
  const t0 = performance.now();
  const exited = new Promise((res) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      res({ code, signal, out, ms: performance.now() - t0 });
    }),
  );
  return { child, exited, me };
}
async function nslab(args, dirs, timeoutMs = 300_000) {
  const r = start(args, dirs);
  const timer = setTimeout(() => r.child.kill('SIGKILL'), timeoutMs);
  const res = await r.exited;
  clearTimeout(timer);
  return res;
}
const exitName = (r) => (r.signal ? r.signal : String(r.code));
const lastLine = (r) => r.out.trim().split('\n').pop();
const newDirs = () => ({ state: mkdtempSync(join(work, 'state-')), tmp: mkdtempSync(join(work, 'tmp-')) });

// ---------------------------------------------------------------- labs
const addr = (i, host) => `10.${Math.floor(i / 250)}.${i % 250}.${host}`;
function labFile(name, n, { services = true, tests = false } = {}) {
  const nodes = [],
    links = [];
  for (let i = 1; i <= n; i++) {
    const ifs = [i > 1 ? `l: ${addr(i - 1, 2)}/24` : '', i < n ? `r: ${addr(i, 1)}/24` : ''].filter(Boolean);
    const svc = services && i % 10 === 0 ? `, services: [{ name: s1, command: sleep ${SLEEP} }]` : '';
    nodes.push(`  n${i}: { interfaces: { ${ifs.join(', ')} }${svc} }`);
    if (i < n) links.push(`  - n${i}:r n${i + 1}:l`);
  }
  let yaml = `name: ${name}\nnodes:\n${nodes.join('\n')}\nlinks:\n${links.join('\n')}\n`;
  const m = Math.floor(n / 2);
  if (tests)
    yaml += `stages:
  - name: neighbours
    tests:
      - { name: n1 pings n2, ping: { from: n1, to: n2:l, count: 2 }, expect: { replies: 2, path: [n1, n2] } }
      - { name: n${m} pings n${m + 1}, ping: { from: n${m}, to: n${m + 1}:l, count: 2 }, expect: { replies: 2, symmetric: true } }
  - name: the far end
    tests:
      - { name: n${n} pings n${n - 1}, ping: { from: n${n}, to: n${n - 1}:r, count: 2 }, expect: { replies: 2, reply-via: n${n - 1}:r } }
      - { name: n${n - 1} connects to n${n} over tcp, tcp: { from: n${n - 1}, to: n${n}:l }, expect: { connected: true } }
`;
  const file = join(work, `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

// ---------------------------------------------------------------- looking at the machine
const netnsList = () =>
  spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .stdout.split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
const probeNames = (clis) => new Set(clis.filter((c) => c.start).map((c) => `nslab-probe-${c.pid}-${c.start}`));
const ls = (d) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
function mountedNsInodes() {
  const s = new Set();
  for (const n of ls('/run/netns'))
    try {
      s.add(String(statSync(join('/run/netns', n)).ino));
    } catch {
      /* vanished */
    }
  return s;
}
function scanProcs() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let ino,
      cmd = '',
      marked = false;
    try {
      ino = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/net`))?.[1];
    } catch {
      continue;
    }
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone */
    }
    try {
      marked = readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(MARK);
    } catch {
      /* gone */
    }
    out.push({ pid: Number(d), start: startTime(d), ino, cmd, marked, ours: marked || cmd.includes(SLEEP) });
  }
  return out;
}
const startInodes = new Set(scanProcs().map((p) => p.ino));

/**
 * What a try left: lab its lab name, dirs its private dirs, clis its CLI processes, completed whether the command ran
 * to its end.
 */
async function leftovers(lab, dirs, clis, completed) {
  const probes = probeNames(clis);
  const netns = netnsList().filter((n) => nsOf(lab)(n) || probes.has(n));
  const suspect = (p, mounted) => p.ours || (!startInodes.has(p.ino) && !mounted.has(p.ino));
  let procs = scanProcs().filter((p) => suspect(p, mountedNsInodes()));
  if (procs.length) {
    await sleep(500);
    const mounted = mountedNsInodes();
    const now = new Map(scanProcs().map((p) => [p.pid, p]));
    procs = procs.filter((p) => {
      const q = now.get(p.pid);
      return q && q.start === p.start && suspect(q, mounted);
    });
  }
  const state = ls(dirs.state)
    .filter((n) => !((n === 'logs' || n === 'work') && !ls(join(dirs.state, n)).length))
    .flatMap((n) => (n === 'logs' || n === 'work' ? ls(join(dirs.state, n)).map((m) => `${n}/${m}`) : [n]));
  const workDirs = state.filter((n) => n.startsWith('work/'));
  const tmp = ls(dirs.tmp);
  const arts = tmp.filter((n) => n.startsWith('nslab-artifacts-'));
  const show = (p) => `${p.pid} ${p.cmd}`.slice(0, 160);
  return {
    netns,
    procs: procs.filter((p) => p.ours).map(show),
    foreign: procs.filter((p) => !p.ours).map(show),
    state: state.filter((n) => !n.startsWith('work/')),
    work: workDirs,
    artifacts: completed ? tmp.filter((n) => !arts.includes(n)) : tmp,
    kept: completed ? arts.map((a) => `${a}: ${ls(join(dirs.tmp, a)).join(' ')}`) : [],
  };
}

/**
 * Removes what is left of a lab of this run: its records (down --all on its private state dir), namespaces by name,
 * processes by pid.
 */
async function sweep(lab, dirs, clis) {
  if (ls(dirs.state).some((n) => n.endsWith('.json'))) await nslab(['down', '--all'], dirs, 120_000);
  const probes = probeNames(clis);
  const ns = netnsList().filter((n) => nsOf(lab)(n) || probes.has(n));
  for (const p of scanProcs())
    if (p.ours && startTime(p.pid) === p.start)
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  if (ns.length) spawnSync('ip', ['-force', '-batch', '-'], { input: ns.map((n) => `netns del ${n}\n`).join('') });
  rmSync(dirs.state, { recursive: true, force: true });
  rmSync(dirs.tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------- signals mode
const KINDS = ['netns', 'procs', 'state', 'work', 'artifacts'];
async function signalsMode() {
  const res = {
    date: new Date().toISOString(),
    commit: git(),
    run: RUN,
    sleep: SLEEP,
    nodes: NODES,
    tries: TRIES,
    typicalMs: {},
    cells: {},
  };
  for (const verb of VERBS) {
    // the typical durations: the median of 3 uninterrupted runs (the first, cold, is slower)
    const ms = [];
    for (let i = 1; i <= 3 && !stopping; i++) {
      const lab = `${RUN}-${verb}-typical${i}`;
      const dirs = newDirs();
      const r = await nslab([verb, labFile(lab, NODES, { tests: verb === 'test' })], dirs);
      ms.push(r.ms);
      if (r.code !== 0)
        console.log(
          `${verb} exit ${exitName(r)}:\n${r.out
            .trim()
            .split('\n')
            .slice(-8)
            .map((l) => `  | ${l}`)
            .join('\n')}`,
        );
      await sweep(lab, dirs, myClis);
    }
    if (stopping) return res;
    res.typicalMs[verb] = Math.round([...ms].sort((a, b) => a - b)[1]);
    console.log(
      `typical ${verb}: ${(res.typicalMs[verb] / 1000).toFixed(1)} s (runs: ${ms.map((m) => (m / 1000).toFixed(1)).join(', ')} s)`,
    );
  }
  const t0 = performance.now();
  for (const verb of VERBS)
    for (const sig of SIGNALS) {
      const cell = {
        tries: 0,
        counts: Object.fromEntries([...KINDS, 'kept'].map((k) => [k, 0])),
        triesWithLeftovers: 0,
        exits: {},
        upsTakenDown: 0,
        notes: [],
        details: [],
      };
      res.cells[`${verb}/${sig}`] = cell;
      for (let k = 1; k <= TRIES && !stopping; k++) {
        // no lab name is a prefix of another
        const lab = `${RUN}-${verb}-${sig.slice(3).toLowerCase()}-k${String(k).padStart(2, '0')}`;
        const dirs = newDirs();
        const clis = [];
        const file = labFile(lab, NODES, { tests: verb === 'test' });
        const delay = Math.random() * 0.75 * res.typicalMs[verb]; // three quarters: most tries are really interrupted
        const c = start([verb, file], dirs);
        clis.push(c.me);
        await Promise.race([sleep(delay), c.exited]);
        const running = c.child.exitCode === null && c.child.signalCode === null;
        c.child.kill(sig);
        const timer = setTimeout(() => {
          cell.notes.push(`try ${k}: no exit 180 s after ${sig}; killed`);
          c.child.kill('SIGKILL');
        }, 180_000);
        const ex = await c.exited;
        clearTimeout(timer);
        const cl = start(['cleanup', `${lab}*`], dirs);
        clis.push(cl.me);
        const clr = await cl.exited;
        if (clr.code !== 0) cell.notes.push(`try ${k}: cleanup exit ${exitName(clr)}: ${lastLine(clr)}`);
        // a lab left up on purpose (`up` exited 0, or was killed after recording it up) is the user's: take it down
        const upState = ls(dirs.state)
          .filter((n) => n.endsWith('.json'))
          .flatMap((n) => {
            try {
              const s = JSON.parse(readFileSync(join(dirs.state, n), 'utf8'));
              return s.status === 'up' ? [s] : [];
            } catch {
              return [];
            }
          });
        if (verb === 'up' && (ex.code === 0 || upState.length)) {
          cell.upsTakenDown++;
          for (const s of upState.length ? upState : [{ instance: lab }]) {
            const dn = start(['down', s.instance], dirs);
            clis.push(dn.me);
            const dr = await dn.exited;
            if (dr.code !== 0) cell.notes.push(`try ${k}: down exit ${exitName(dr)}: ${lastLine(dr)}`);
          }
        }
        if (stopping) {
          await sweep(lab, dirs, clis);
          break;
        } // this script was interrupted: the try may have been cut short
        const e = running ? exitName(ex) : `${exitName(ex)} (done before ${sig})`;
        cell.exits[e] = (cell.exits[e] ?? 0) + 1;
        const completed = ex.signal === null && (ex.code === 0 || ex.code === 1);
        const left = await leftovers(lab, dirs, clis, completed);
        cell.tries++;
        for (const kk of [...KINDS, 'kept']) cell.counts[kk] += left[kk].length;
        const any = KINDS.filter((kk) => left[kk].length);
        if (any.length) cell.triesWithLeftovers++;
        if (any.length || left.foreign.length || left.kept.length)
          cell.details.push({ try: k, delayMs: Math.round(delay), exit: e, ...left });
        console.log(
          `${verb}/${sig} ${k}/${TRIES}: after ${(delay / 1000).toFixed(2)} s, exit ${e}` +
            `${any.length ? `; left: ${any.map((kk) => `${kk} ${left[kk].length}`).join(', ')}` : ''}${left.kept.length ? `; kept ${left.kept.length}` : ''}`,
        );
        await sweep(lab, dirs, clis);
      }
    }
  res.seconds = Math.round((performance.now() - t0) / 1000);
  return res;
}

function printTable(res) {
  const cols = Object.keys(res.cells);
  const w = Math.max(12, ...cols.map((c) => c.length + 1));
  console.log(`\nleftovers after cleanup (and down), ${res.tries} tries each: items (tries with any)`);
  console.log('kind'.padEnd(11) + cols.map((c) => c.padStart(w)).join(''));
  for (const k of [...KINDS, 'kept'])
    console.log(
      (k === 'kept' ? 'kept*' : k).padEnd(11) +
        cols
          .map((c) => {
            const cell = res.cells[c];
            return `${cell.counts[k]} (${cell.details.filter((d) => d[k].length).length})`.padStart(w);
          })
          .join(''),
    );
  console.log('* pcaps of failed tests of completed runs, kept on purpose; not counted in the exit status');
  for (const c of cols) {
    const cell = res.cells[c];
    console.log(
      `${c}: exits ${Object.entries(cell.exits)
        .map(([e, n]) => `${e} x${n}`)
        .join(', ')}; ${cell.upsTakenDown} completed ups taken down`,
    );
    for (const n of cell.notes.slice(0, 5)) console.log(`  note: ${n}`);
    for (const k of [...KINDS, 'kept', 'foreign']) {
      const s = new Set(
        cell.details.flatMap((d) =>
          d[k].map((x) =>
            (k === 'procs' || k === 'foreign' ? x.replace(/^\d+ /, '') : x)
              .replace(new RegExp(`${RUN}[a-z0-9-]*`, 'g'), '<lab>')
              .replace(/\d+-\d+-[A-Za-z0-9]+$/, '<pid>-<start>-XXXXXX'),
          ),
        ),
      );
      if (s.size)
        console.log(
          `  ${k === 'foreign' ? 'not counted (unmarked processes in deleted namespaces)' : k}: ${[...s].slice(0, 6).join(' | ')}${s.size > 6 ? ` | ... (${s.size} distinct)` : ''}`,
        );
    }
  }
}

// ---------------------------------------------------------------- race mode
async function raceMode() {
  const lab = `${RUN}-race`;
  const file = labFile(lab, 3, { services: false });
  const dirs = newDirs();
  const res = {
    date: new Date().toISOString(),
    commit: git(),
    run: RUN,
    cycles: 0,
    cleanups: 0,
    cleanupFailures: 0,
    removedWhileGoingDown: 0,
    damaged: 0,
    kinds: {
      'up failed': 0,
      'namespaces missing after up': 0,
      'ping failed': 0,
      'down failed': 0,
      'namespaces left after down': 0,
      'cleanup removed the lab': 0,
    },
    events: [],
  };
  const damage = (i, kind, detail = '') => {
    res.kinds[kind]++;
    if (res.events.length < 50)
      res.events.push({ cycle: i, kind, detail: detail.trim().split('\n').slice(-2).join(' | ').slice(0, 300) });
  };
  let done = false,
    cycle = 0;
  const cleanupLoop = (async () => {
    while (!done && !stopping) {
      const r = await nslab(['cleanup', `${lab}*`], dirs, 60_000);
      res.cleanups++;
      if (r.code !== 0) res.cleanupFailures++;
      // a lab being taken down ('removing', its `up` owner gone) may be removed by either; any other is damage
      for (const m of r.out.matchAll(/removed lab '[^']*' \((\w+)/g))
        if (m[1] === 'removing') res.removedWhileGoingDown++;
        else damage(cycle, 'cleanup removed the lab', r.out);
    }
  })();
  const t0 = performance.now();
  for (let i = 1; i <= CYCLES && !stopping; i++) {
    cycle = i;
    const before = Object.values(res.kinds).reduce((a, b) => a + b, 0);
    const up = await nslab(['up', file], dirs, 60_000);
    if (up.code !== 0) damage(i, 'up failed', up.out);
    else {
      let expected = [];
      try {
        expected = JSON.parse(readFileSync(join(dirs.state, `${lab}.json`), 'utf8')).namespaces.map((n) => n.ns);
      } catch {
        /* record gone */
      }
      const have = netnsList().filter(nsOf(lab));
      const missing = expected.length ? expected.filter((n) => !have.includes(n)) : ['(record gone)'];
      if (missing.length || have.length !== 3)
        damage(i, 'namespaces missing after up', `missing ${missing.join(' ')}; have ${have.join(' ')}`);
      const ping = await nslab(['exec', lab, 'n1', '--', 'ping', '-c1', '-W2', addr(1, 2)], dirs, 30_000);
      if (ping.code !== 0) damage(i, 'ping failed', ping.out);
      const down = await nslab(['down', lab], dirs, 60_000);
      if (down.code !== 0) damage(i, 'down failed', down.out);
    }
    const left = netnsList().filter(nsOf(lab));
    if (left.length) damage(i, 'namespaces left after down', left.join(' '));
    if (Object.values(res.kinds).reduce((a, b) => a + b, 0) > before) {
      res.damaged++;
      // the next cycle starts clean: this cycle's record and namespaces go
      if (existsSync(join(dirs.state, `${lab}.json`))) await nslab(['down', lab], dirs);
      const rest = netnsList().filter(nsOf(lab));
      if (rest.length)
        spawnSync('ip', ['-force', '-batch', '-'], { input: rest.map((n) => `netns del ${n}\n`).join('') });
      rmSync(join(dirs.state, `${lab}.json`), { force: true });
    }
    res.cycles = i;
    if (i % 25 === 0 || i === CYCLES)
      console.log(
        `race ${i}/${CYCLES}: ${res.damaged} damaged, ${res.cleanups} cleanups, ${((performance.now() - t0) / i).toFixed(0)} ms/cycle`,
      );
  }
  done = true;
  await cleanupLoop;
  res.seconds = Math.round((performance.now() - t0) / 1000);
  await sweep(lab, dirs, myClis);
  return res;
}

function git() {
  const dir = new URL('..', import.meta.url).pathname;
  const r = spawnSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
  const dirty = spawnSync('git', ['-C', dir, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).stdout.trim();
  return r.stdout.trim() + (dirty ? '+dirty' : '');
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
    const r = (out.race = await raceMode());
    console.log(
      `\nrace: ${r.cycles} cycles in ${r.seconds} s, ${r.cleanups} cleanups ran meanwhile (${r.cleanupFailures} failed; ${r.removedWhileGoingDown} removed a lab 'down' was removing)`,
    );
    console.log(
      `live lab damaged: ${r.damaged} cycles; ${Object.entries(r.kinds)
        .map(([k, n]) => `${k}: ${n}`)
        .join(', ')}`,
    );
    for (const e of r.events.slice(0, 5)) console.log(`  cycle ${e.cycle}: ${e.kind}: ${e.detail}`);
    failed = r.damaged > 0 || r.cleanupFailures > 0 || stopping;
  } else {
    console.log(`soak run ${RUN}: ${NODES}-node chain labs, services 'sleep ${SLEEP}', private dirs under ${work}`);
    const r = (out.signals = await signalsMode());
    if (Object.keys(r.cells).length) printTable(r);
    const total = Object.values(r.cells).reduce((a, c) => a + KINDS.reduce((b, k) => b + c.counts[k], 0), 0);
    const bad = Object.entries(r.cells)
      .filter(([, c]) => c.triesWithLeftovers)
      .map(([k, c]) => `${k} ${c.triesWithLeftovers}/${c.tries}`);
    console.log(
      `\nsummary: ${total} leftover items in ${r.seconds} s of tries${bad.length ? `; tries with leftovers: ${bad.join(', ')}` : ''}`,
    );
    failed = total > 0 || stopping;
  }
  writeFileSync(resultsFile, JSON.stringify(out, null, 2) + '\n');
  console.log(`results: ${resultsFile}`);
} finally {
  // nothing of this run may stay: its namespaces by name, its processes by pid
  const ns = netnsList().filter((n) => n.startsWith(`nslab-${RUN}-`) || probeNames(myClis).has(n));
  if (ns.length) spawnSync('ip', ['-force', '-batch', '-'], { input: ns.map((n) => `netns del ${n}\n`).join('') });
  for (const p of scanProcs())
    if (p.ours && startTime(p.pid) === p.start)
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
  await sleep(200);
  const procs = scanProcs().filter((p) => p.ours);
  if (ns.length || procs.length) {
    console.log(
      `teardown: removed what was still there: ${[...ns, ...procs.map((p) => `pid ${p.pid} ${p.cmd}`)].join(', ')}; files kept in ${work}`,
    );
    failed = true;
  } else {
    rmSync(work, { recursive: true, force: true });
    console.log(`teardown: nothing of run ${RUN} is left (ip netns list, processes checked)`);
  }
  process.exitCode = failed ? 1 : 0;
}

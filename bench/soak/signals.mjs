// The signals mode: for each verb and signal, tries of `nslab up|test LAB`
// interrupted at a random moment, then `nslab cleanup '<lab>*'` (and `down` of
// a lab left up on purpose), then a count of what is left, per kind.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { labFile } from './labs.mjs';
import { leftovers, ls, sweep } from './machine.mjs';
import { RUN, SLEEP, commit, exitName, lastLine, myClis, newDirs, nslab, sleep, start, status } from './run.mjs';

/** The kinds of leftovers counted in the exit status ('kept', pcaps kept on purpose, is not). */
export const KINDS = ['netns', 'procs', 'state', 'work', 'artifacts'];

/** The typical duration of `nslab VERB` on the lab: the median of 3 uninterrupted runs (the first, cold, is slower). */
async function typicalMs(verb, nodes) {
  const ms = [];
  for (let i = 1; i <= 3 && !status.stopping; i++) {
    const lab = `${RUN}-${verb}-typical${i}`;
    const dirs = newDirs();
    const r = await nslab([verb, labFile(lab, nodes, { tests: verb === 'test' })], dirs);
    ms.push(r.ms);
    if (r.code !== 0) {
      const tail = r.out.trim().split('\n').slice(-8);
      console.log(`${verb} exit ${exitName(r)}:\n${tail.map((l) => `  | ${l}`).join('\n')}`);
    }
    await sweep(lab, dirs, myClis);
  }
  if (status.stopping) return undefined;
  const typical = Math.round([...ms].sort((a, b) => a - b)[1]);
  const runs = ms.map((m) => (m / 1000).toFixed(1)).join(', ');
  console.log(`typical ${verb}: ${(typical / 1000).toFixed(1)} s (runs: ${runs} s)`);
  return typical;
}

/** The records of labs left up in the try's state dir (a lab `up` brought up on purpose is the user's). */
function labsUp(dirs) {
  return ls(dirs.state)
    .filter((n) => n.endsWith('.json'))
    .flatMap((n) => {
      try {
        const s = JSON.parse(readFileSync(join(dirs.state, n), 'utf8'));
        return s.status === 'up' ? [s] : [];
      } catch {
        return [];
      }
    });
}

/**
 * Try k of VERB interrupted by SIG after a random delay: cleanup, down of a lab left up, then what is left,
 * added to the cell. Returns false when this script was interrupted meanwhile.
 */
async function oneTry({ verb, sig, k, tries, nodes, typical, cell }) {
  // no lab name is a prefix of another
  const lab = `${RUN}-${verb}-${sig.slice(3).toLowerCase()}-k${String(k).padStart(2, '0')}`;
  const dirs = newDirs();
  const clis = [];
  const file = labFile(lab, nodes, { tests: verb === 'test' });
  const delay = Math.random() * 0.75 * typical; // three quarters: most tries are really interrupted
  const c = start([verb, file], dirs);
  clis.push(c.me);
  await Promise.race([sleep(delay), c.exited]);
  const running = c.p.child.exitCode === null && c.p.child.signalCode === null;
  c.p.child.kill(sig);
  const watchdog = setTimeout(() => {
    cell.notes.push(`try ${k}: no exit 180 s after ${sig}; killed`);
    c.p.child.kill('SIGKILL');
  }, 180_000);
  const ex = await c.exited;
  clearTimeout(watchdog);
  const cl = start(['cleanup', `${lab}*`], dirs);
  clis.push(cl.me);
  const clr = await cl.exited;
  if (clr.code !== 0) cell.notes.push(`try ${k}: cleanup exit ${exitName(clr)}: ${lastLine(clr)}`);
  // a lab left up on purpose (`up` exited 0, or was killed after recording it up) is the user's: take it down
  const upState = labsUp(dirs);
  if (verb === 'up' && (ex.code === 0 || upState.length)) {
    cell.upsTakenDown++;
    for (const s of upState.length ? upState : [{ instance: lab }]) {
      const dn = start(['down', s.instance], dirs);
      clis.push(dn.me);
      const dr = await dn.exited;
      if (dr.code !== 0) cell.notes.push(`try ${k}: down exit ${exitName(dr)}: ${lastLine(dr)}`);
    }
  }
  if (status.stopping) {
    // this script was interrupted: the try may have been cut short
    await sweep(lab, dirs, clis);
    return false;
  }
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
    `${verb}/${sig} ${k}/${tries}: after ${(delay / 1000).toFixed(2)} s, exit ${e}` +
      `${any.length ? `; left: ${any.map((kk) => `${kk} ${left[kk].length}`).join(', ')}` : ''}${left.kept.length ? `; kept ${left.kept.length}` : ''}`,
  );
  await sweep(lab, dirs, clis);
  return true;
}

export async function signalsMode({ verbs, signals, tries, nodes }) {
  const res = {
    date: new Date().toISOString(),
    commit: await commit(),
    run: RUN,
    sleep: SLEEP,
    nodes,
    tries,
    typicalMs: {},
    cells: {},
  };
  for (const verb of verbs) {
    const typical = await typicalMs(verb, nodes);
    if (typical === undefined) return res;
    res.typicalMs[verb] = typical;
  }
  const t0 = performance.now();
  for (const verb of verbs)
    for (const sig of signals) {
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
      for (let k = 1; k <= tries && !status.stopping; k++)
        if (!(await oneTry({ verb, sig, k, tries, nodes, typical: res.typicalMs[verb], cell }))) break;
    }
  res.seconds = Math.round((performance.now() - t0) / 1000);
  return res;
}

export function printTable(res) {
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

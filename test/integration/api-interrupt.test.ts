// Ctrl-C at any moment of a vitest run leaves nothing. A vitest run of a
// multi-node lab (test/fixtures/interrupt: a service, table names) gets SIGINT
// or SIGTERM, sent to its whole process group as a terminal or a CI runner
// does, at a random moment of the lab's bring-up, of its tests or of its
// teardown; afterwards nothing of that run may be left: no namespace, no
// /etc/netns entry, no record, no process, and nothing printed once vitest has
// exited. Moments are drawn from the phase timings of an uninterrupted run,
// counted from the moment each phase begins in the run being interrupted (a
// loaded machine stretches them). Every run has an instance id of its own and
// a private state directory: labs of anyone else are never looked at.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, etcNetns, isRoot, sleep, tempDir, uid } from './helpers.js';

const VITEST = join(process.cwd(), 'node_modules/.bin/vitest');
const LAB = 'api-interrupt';
const TRIES = 50;
const AT_ONCE = 4;
const PHASES = ['bring-up', 'tests', 'teardown'] as const;
/** Where each phase begins, as the fixture notes it. */
const BEGINS = { 'bring-up': 'loaded', tests: 'up', teardown: 'tested' } as const;

const state = isRoot ? tempDir() : ''; // mkdtemp: 0700, as a state directory must be
const scratch = isRoot ? tempDir() : ''; // where each run notes its phases
const run = uid();
const idOf = (k: number | string) => `i${run}${k}`;
const instanceOf = (id: string) => `${LAB}.${id}`;

interface Run {
  id: string;
  marks: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  closed: Promise<number>;
  pgid: number;
  output: () => string;
}

function start(id: string): Run {
  const marks = join(scratch, `${id}.marks`);
  const child = spawn(VITEST, ['run', '--root', 'test/fixtures/interrupt'], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NSLAB_STATE_DIR: state, NSLAB_TRY_ID: id, NSLAB_MARKS: marks, FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (b) => {
    output += b;
  });
  child.stderr.on('data', (b) => {
    output += b;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal, at: Date.now() })),
  );
  // 'close': the process has exited and every copy of its output's write end is closed: nothing can print any more
  const closed = new Promise<number>((res) => child.on('close', () => res(Date.now())));
  return { id, marks, exited, closed, pgid: child.pid!, output: () => output };
}

function marksOf(file: string): Record<string, number> {
  try {
    return Object.fromEntries(
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [k, t] = l.split(' ');
          return [k!, Number(t)];
        }),
    );
  } catch {
    return {};
  }
}

const statusOf = (id: string): string => {
  try {
    return JSON.parse(readFileSync(join(state, `${instanceOf(id)}.json`), 'utf8')).status;
  } catch {
    return 'none';
  }
};

function alive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Processes whose command line names this run: the lab's reaper (its instance), the lab's service (its tag). */
function processesOf(id: string): string[] {
  const marks = [instanceOf(id), `nslab-try-${id}`];
  const out: string[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    if (marks.some((m) => cmd.split(' ').includes(m))) out.push(`${d} ${cmd.slice(0, 100)}`);
  }
  return out;
}

/**
 * What is left of one run: its namespaces (/run/netns, half-made ones too), /etc/netns entries, records and logs,
 * processes.
 */
function leftOf(r: Run) {
  const prefix = `nslab-${instanceOf(r.id)}.`;
  let netns: string[] = [];
  try {
    netns = readdirSync('/run/netns').filter((n) => n.startsWith(prefix));
  } catch {
    /* none at all */
  }
  const records = readdirSync(state).filter((f) => f.startsWith(`${instanceOf(r.id)}.`));
  const logs = existsSync(join(state, 'logs', instanceOf(r.id))) ? [`logs/${instanceOf(r.id)}`] : [];
  return {
    netns,
    etc: etcNetns(prefix),
    records: [...records, ...logs],
    processes: [...processesOf(r.id), ...(alive(r.pgid) ? [`process group ${r.pgid}`] : [])],
  };
}

const nothing = { netns: [], etc: [], records: [], processes: [] };

/** Waits for the run's own unwinding or, where vitest cut it short, its lab's reaper; then says what is left. */
async function settled(r: Run) {
  let left = leftOf(r);
  for (let i = 0; i < 200 && JSON.stringify(left) !== JSON.stringify(nothing); i++) {
    await sleep(100);
    left = leftOf(r);
  }
  return left;
}

const runs: Run[] = [];

afterAll(() => {
  if (!isRoot) return;
  // whatever a failed try left, it is this test's own: its records (private state directory), its ids
  spawnSync('node', [CLI, 'cleanup'], { env: { ...process.env, NSLAB_STATE_DIR: state }, stdio: 'ignore' });
  for (const r of runs) {
    const left = leftOf(r);
    for (const p of processesOf(r.id))
      try {
        process.kill(Number(p.split(' ')[0]), 'SIGKILL');
      } catch {
        /* gone */
      }
    for (const ns of left.netns) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    for (const e of left.etc) rmSync(join('/etc/netns', e), { recursive: true, force: true });
  }
  // nslab made /etc/netns for one of these labs (its marker is in this state directory): removed if now empty, as nslab
  // would
  if (existsSync(join(state, 'etc-netns-made')))
    try {
      rmdirSync('/etc/netns');
    } catch {
      /* another lab's names are there */
    }
  rmSync(state, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('a vitest run interrupted at any moment leaves nothing', () => {
  it(`SIGINT and SIGTERM to the run's process group, ${TRIES} times, across bring-up, tests and teardown`, async () => {
    // the phases' lengths, from a run left alone (which passes, and leaves nothing either)
    const calm = start(idOf('c'));
    runs.push(calm);
    const done = await calm.exited;
    expect(done.code, calm.output()).toBe(0);
    const m = marksOf(calm.marks);
    const length = { 'bring-up': m.up! - m.loaded!, tests: m.tested! - m.up!, teardown: done.at - m.tested! };
    expect(await settled(calm)).toEqual(nothing);

    const tries: {
      id: string;
      phase: string;
      signal: string;
      status: string;
      late: boolean;
      left: ReturnType<typeof leftOf>;
      output: string;
    }[] = [];
    let k = 0;
    let missed = 0; // runs that ended before their moment came: no try, another run takes their place
    const t0 = Date.now();
    await Promise.all(
      Array.from({ length: AT_ONCE }, async () => {
        while (k - missed < TRIES && missed < TRIES) {
          const n = k++;
          const phase = PHASES[n % 3]!;
          const signal = n % 2 ? 'SIGTERM' : 'SIGINT';
          const r = start(idOf(n));
          runs.push(r);
          let ended = false;
          void r.exited.then(() => {
            ended = true;
          });
          // the moment: a random time into the phase, counted from when it began in this run
          while (!ended && marksOf(r.marks)[BEGINS[phase]] === undefined) await sleep(5);
          await sleep(Math.random() * length[phase]);
          if (ended) {
            missed++;
            expect(await settled(r)).toEqual(nothing);
            continue;
          }
          const status = statusOf(r.id);
          process.kill(-r.pgid, signal);
          const exit = await r.exited;
          // nothing printed after exit: every write end of its output closes with it (a process left holding one could
          // still print)
          const closedAt = await Promise.race([r.closed, sleep(3000).then(() => Infinity)]);
          tries.push({
            id: r.id,
            phase,
            signal,
            status,
            late: closedAt - exit.at > 2000,
            left: await settled(r),
            output: r.output(),
          });
        }
      }),
    );
    const wall = Date.now() - t0;

    const bad = tries.filter((r) => r.late || JSON.stringify(r.left) !== JSON.stringify(nothing));
    const seen = (s: string) => tries.filter((r) => r.status === s).length;
    console.log(
      `${tries.length} runs interrupted (${missed} more ended before their moment) in ${(wall / 1000).toFixed(1)} s (${AT_ONCE} at a time): ` +
        `${seen('none')} before the lab's record, ${seen('creating')} creating, ${seen('testing')} testing, ${seen('removing')} removing; ${bad.length} left something`,
    );
    expect(bad.map(({ output, ...r }) => ({ ...r, output: output.slice(-2000) }))).toEqual([]);
    expect(tries).toHaveLength(TRIES);
    // the moments reached the lab while it was being created and while it was up (the status its record had then)
    expect(seen('creating')).toBeGreaterThan(0);
    expect(seen('testing')).toBeGreaterThan(0);
    // and nothing of any run is left in the state directory: no record, no log, no scratch space
    // (the marker that nslab made /etc/netns stays while other labs' names are there)
    const stray = readdirSync(state).filter((f) => !['logs', 'work', 'etc-netns-made'].includes(f));
    expect([
      ...stray,
      ...(existsSync(join(state, 'work')) ? readdirSync(join(state, 'work')) : []),
      ...(existsSync(join(state, 'logs')) ? readdirSync(join(state, 'logs')) : []),
    ]).toEqual([]);
  }, 600_000);
});

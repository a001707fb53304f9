// A lab brought up by the API never outlives its test: not when the test
// throws, not when the run is interrupted (Ctrl-C reaches the whole process
// group, a cancelled CI job sends SIGTERM). Each case runs vitest on a fixture
// in its own process group and checks that nothing of its lab is left.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, sleep, STATE_DIR, tempDir } from './helpers.js';

const VITEST = join(process.cwd(), 'node_modules/.bin/vitest');

function runFixture(file: string, out: string) {
  const child = spawn(VITEST, ['run', '--root', 'test/fixtures/api', file], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NSLAB_FIXTURE_OUT: out, FORCE_COLOR: '0' },
  });
  let output = '';
  child.stdout.on('data', (b) => {
    output += b;
  });
  child.stderr.on('data', (b) => {
    output += b;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  return { child, exited, output: () => output };
}

async function instanceIn(out: string): Promise<string> {
  for (let i = 0; i < 300 && !existsSync(out); i++) await sleep(100);
  return readFileSync(out, 'utf8');
}

const leftOf = (instance: string) => ({
  namespaces: namespaces(`nslab-${instance}.`),
  state: existsSync(join(STATE_DIR, `${instance}.json`)),
});

describe.skipIf(!isRoot)('labs of the API never outlive their test', () => {
  it('a test that throws midway leaves no lab behind', async () => {
    const out = join(tempDir(), 'instance');
    const run = runFixture('throws-midway.fixture.ts', out);
    const { code } = await run.exited;
    expect(run.output()).toMatch(/boom, midway/);
    expect(code).toBe(1);
    const instance = readFileSync(out, 'utf8');
    expect(instance).toMatch(/^api-multipath\./);
    expect(leftOf(instance)).toEqual({ namespaces: [], state: false });
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const)
    it(`${sig} to the run's process group takes the lab down`, async () => {
      const out = join(tempDir(), 'instance');
      const run = runFixture('interrupted.fixture.ts', out);
      const instance = await instanceIn(out);
      expect(namespaces(`nslab-${instance}.`)).toHaveLength(5); // up, and the test is waiting
      process.kill(-run.child.pid!, sig);
      await run.exited;
      // vitest's main process exits at once on a signal, and kills its workers 500 ms later:
      // the worker's own unwinding or, where it was cut short, the lab's reaper takes the lab down
      for (let i = 0; i < 150 && leftOf(instance).state; i++) await sleep(100);
      expect(leftOf(instance), run.output()).toEqual({ namespaces: [], state: false });
    });

  it('a process killed outright (SIGKILL) cannot unwind: its lab is its own, and its reaper removes it', async () => {
    const dir = tempDir();
    const script = join(dir, 'owner.mjs');
    writeFileSync(
      script,
      `import { Lab } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
const lab = await Lab.up(${JSON.stringify(join(process.cwd(), 'labs/dual-nic-reply-path.yaml'))});
console.log(lab.instance);
setInterval(() => {}, 1000);`,
    );
    const child = spawn('node', [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    const instance = await new Promise<string>((res) => child.stdout.once('data', (b) => res(String(b).trim())));
    const exited = new Promise((res) => child.on('exit', res));
    const state = JSON.parse(readFileSync(join(STATE_DIR, `${instance}.json`), 'utf8'));
    expect(state.status).toBe('testing');
    expect(state.owner.pid).toBe(child.pid);
    // while its owner lives, cleanup leaves it alone
    expect(cli(['cleanup', instance]).stdout).toMatch(/nothing to clean up/);
    expect(namespaces(`nslab-${instance}.`)).toHaveLength(5);
    child.kill('SIGKILL');
    await exited;
    for (let i = 0; i < 150 && leftOf(instance).state; i++) await sleep(100);
    expect(leftOf(instance)).toEqual({ namespaces: [], state: false });
  });

  it("a process that ends itself (process.exit, as vitest ends a worker) after its lab's reaper died starts a new one: the lab is removed", async () => {
    // a signal to the run's process group ends a reaper still between fork and setsid; the owner's exit starts another
    const dir = tempDir();
    const script = join(dir, 'owner.mjs');
    writeFileSync(
      script,
      `import { Lab } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
const lab = await Lab.up(${JSON.stringify(join(process.cwd(), 'labs/dual-nic-reply-path.yaml'))});
console.log(lab.instance);
process.stdin.once('data', () => process.exit(1));`,
    );
    const child = spawn('node', [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const instance = await new Promise<string>((res) => child.stdout.once('data', (b) => res(String(b).trim())));
    const exited = new Promise((res) => child.on('exit', res));
    const reapers = () =>
      readdirSync('/proc').filter((d) => {
        try {
          return /^\d+$/.test(d) && readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(instance);
        } catch {
          return false;
        }
      });
    const [first] = reapers();
    expect(first).toBeDefined();
    process.kill(Number(first), 'SIGKILL'); // the lab's reaper, started by the child this test started
    for (let i = 0; i < 100 && reapers().includes(first!); i++) await sleep(20);
    expect(reapers()).toEqual([]);
    child.stdin.write('exit\n');
    await exited;
    for (let i = 0; i < 150 && leftOf(instance).state; i++) await sleep(100);
    const left = leftOf(instance);
    if (left.state) cli(['cleanup', instance]); // its owner is gone: this removes only that lab
    expect(left).toEqual({ namespaces: [], state: false });
  });

  it('SIGTERM while the lab is still coming up unwinds what was created, and the process ends by the signal', async () => {
    const dir = tempDir();
    const script = join(dir, 'early.mjs');
    const id = `e${Math.random().toString(36).slice(2, 8)}`;
    const instance = `dual-nic-reply-path.${id}`;
    writeFileSync(
      script,
      `import { Lab } from ${JSON.stringify(join(process.cwd(), 'dist/index.js'))};
await Lab.up(${JSON.stringify(join(process.cwd(), 'labs/dual-nic-reply-path.yaml'))}, { id: '${id}' });
console.log('up');`,
    );
    const child = spawn('node', [script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b) => {
      out += b;
    });
    child.stderr.on('data', (b) => {
      out += b;
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
      child.on('exit', (code, signal) => res({ code, signal })),
    );
    // the record is written before anything is created: from then on, the lab is being created
    for (let i = 0; i < 1000 && !existsSync(join(STATE_DIR, `${instance}.json`)); i++) await sleep(5);
    expect(JSON.parse(readFileSync(join(STATE_DIR, `${instance}.json`), 'utf8')).status).toBe('creating');
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(out).not.toMatch(/^up$/m);
    expect(leftOf(instance)).toEqual({ namespaces: [], state: false });
  });
});

// The engine's batching, ordering and undo, with a recording runner (no root needed).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { batchesOf } from '../../src/engine/apply.js';
import { Lab } from '../../src/engine/lab.js';
import { RecordingRunner } from '../../src/engine/runner.js';
import { listStates } from '../../src/engine/state.js';
import { CommandError } from '../../src/errors.js';
import { loadLab } from '../../src/lab/resolve.js';
import { buildPlan } from '../../src/plan/build.js';

const lab = loadLab('test/fixtures/labs/product-example.yaml');

beforeEach(() => {
  process.env.NSLAB_STATE_DIR = mkdtempSync(join(tmpdir(), 'nslab-state-'));
});

describe('batching', () => {
  it('one root batch, and per namespace one batch per run of ip / tc lines', () => {
    const { root, perNs } = batchesOf(buildPlan(lab).steps);
    expect(root).toHaveLength(1);
    expect(root[0]!.argv).toEqual(['ip', '-batch', '-']);
    expect(root[0]!.input!.split('\n').filter(Boolean)).toHaveLength(6); // 3 netns add + 3 veths
    const router = perNs.get('nslab-product-example.router')!;
    expect(router.map((b) => b.argv.slice(0, 3))).toEqual([
      ['sysctl', '-q', '-w'],
      ['ip', '-n', 'nslab-product-example.router'],
      ['tc', '-n', 'nslab-product-example.router'],
    ]);
  });
});

describe('Lab.up with a recording runner', () => {
  it('runs the root batch first and records state until down', async () => {
    const runner = new RecordingRunner();
    const up = await Lab.up(lab, { runner, id: 'r1' });
    expect(runner.calls[0]!.argv).toEqual(['ip', '-batch', '-']);
    expect(runner.calls[0]!.input).toMatch(/^netns add nslab-product-example.r1.pc2\n/);
    expect(listStates().map((s) => [s.instance, s.status])).toEqual([['product-example.r1', 'up']]);
    await up.down();
    expect(runner.calls.at(-1)!.input).toBe(
      ['pc2', 'router', 'server'].map((n) => `netns del nslab-product-example.r1.${n}\n`).join(''),
    );
    expect(listStates()).toEqual([]);
  });

  it('unwinds when a step fails half-way, and names the failing line and its source', async () => {
    const runner = new RecordingRunner((cmd) =>
      cmd.argv.includes('nslab-product-example.r2.server') && cmd.argv[0] === 'ip'
        ? {
            exitCode: 1,
            stderr: 'Error: Nexthop has invalid gateway.\nCommand failed /run/nslab/work/1234-5678-AbCdEf/3.in:7\n',
          }
        : {},
    );
    const err = await Lab.up(lab, { runner, id: 'r2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandError);
    expect((err as Error).message).toMatch(/in node 'server'/);
    expect((err as Error).message).toMatch(
      /while running: ip -n nslab-product-example.r2.server route add default via 10.0.0.1/,
    );
    expect((err as Error).message).toMatch(/declared at: test\/fixtures\/labs\/product-example.yaml:17:/);
    expect(runner.calls.at(-1)!.argv).toEqual(['ip', '-force', '-batch', '-']);
    expect(runner.calls.at(-1)!.input).toMatch(/netns del nslab-product-example.r2.server/);
    expect(listStates()).toEqual([]);
  });

  it('calls claimed once the record exists and before anything is made (the API starts the reaper there)', async () => {
    const runner = new RecordingRunner();
    const seen: { status?: string; calls: number }[] = [];
    const up = await Lab.up(lab, {
      runner,
      id: 'r3',
      claimed: (s) =>
        seen.push({ status: listStates().find((x) => x.instance === s.instance)?.status, calls: runner.calls.length }),
    });
    expect(seen).toEqual([{ status: 'creating', calls: 0 }]);
    await up.down();
    // not when the bring-up was interrupted before its record was written: nothing to reap
    const ac = new AbortController();
    ac.abort(new Error('interrupted'));
    const never: string[] = [];
    await expect(
      Lab.up(lab, {
        runner: new RecordingRunner(),
        id: 'r4',
        signal: ac.signal,
        claimed: (s) => never.push(s.instance),
      }),
    ).rejects.toThrow(/interrupted/);
    expect(never).toEqual([]);
    expect(listStates()).toEqual([]);
  });

  it('refuses a second copy under the same instance name', async () => {
    const runner = new RecordingRunner();
    await Lab.up(lab, { runner });
    await expect(Lab.up(lab, { runner })).rejects.toThrow(/already up/);
  });
});

describe('a process that exits in the middle of a bring-up (vitest ends a worker so)', () => {
  /** Live processes (not zombies) whose command line is exactly this. */
  const running = (cmdline: string) =>
    readdirSync('/proc').filter((d) => {
      try {
        return (
          /^\d+$/.test(d) &&
          readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim() === cmdline &&
          !/\) Z /.test(readFileSync(`/proc/${d}/stat`, 'utf8'))
        );
      } catch {
        return false;
      }
    });

  it("ends the commands that may still create things; unwinding's own commands finish", async () => {
    const tag = String(Math.random()).slice(2, 10);
    const creating = `sleep 30 0.${tag}`;
    const removing = `sleep 3 0.${tag}`;
    const script = `import { runArgv } from ${JSON.stringify(join(process.cwd(), 'dist/engine/runner.js'))};
void runArgv(${JSON.stringify(creating.split(' '))});
void runArgv(${JSON.stringify(removing.split(' '))}, { uninterruptible: true });
setTimeout(() => process.exit(1), 300);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(1);
    for (let i = 0; i < 50 && running(creating).length; i++) await new Promise((res) => setTimeout(res, 20));
    const ended = running(creating);
    const left = running(removing);
    for (const pid of [...ended, ...left]) process.kill(Number(pid), 'SIGKILL'); // started by this test
    expect(ended).toEqual([]);
    expect(left).toHaveLength(1);
  });
});

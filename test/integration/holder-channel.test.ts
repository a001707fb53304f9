// The channel to a holder's PID 1 (src/engine/holder-channel.ts, holder.ts's HOLDER_PL), through which a rootless
// `nslab up` of a lab without services runs every program of the bring-up. Its answers must be the program's own,
// byte for byte, however many run at once, and the holder's life must follow the channel: `release` leaves it
// running, an end without it (nslab killed mid-up) ends it and everything in it. The holders here are the test's
// own (started as root, which may also make user namespaces); none is ever recorded, and each is ended.
import { readlinkSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { holderAlive, killHolder, startHolder, type Holder } from '../../src/engine/holder.js';
import type { HolderChannel } from '../../src/engine/holder-channel.js';
import { isRoot, NOT_ROOT, sleep } from './helpers.js';

const started: Holder[] = [];
async function holder(): Promise<{ holder: Holder; channel: HolderChannel }> {
  const h = await startHolder(`channel-test-${process.pid}`);
  started.push(h.holder);
  return h;
}
afterAll(async () => {
  for (const h of started) await killHolder(h);
});

async function gone(h: Holder): Promise<boolean> {
  for (let i = 0; i < 100 && holderAlive(h); i++) await sleep(50);
  return !holderAlive(h);
}

describe.skipIf(!isRoot)(`a holder's channel (${NOT_ROOT})`, () => {
  it("runs programs in the holder's namespaces, with their exit status, output and errors as they were", async () => {
    const { channel } = await holder();
    const run = channel.runner();
    const net = await run.run({ argv: ['readlink', '/proc/self/ns/net'] });
    expect(net.exitCode).toBe(0);
    expect(net.stdout.trim()).toMatch(/^net:\[\d+\]$/);
    // is not: the test's own network namespace
    expect(net.stdout.trim()).not.toBe(readlinkSync('/proc/self/ns/net'));
    const pid = await run.run({ argv: ['sh', '-c', 'echo $$'] });
    expect(Number(pid.stdout)).toBeGreaterThan(1); // a child of the holder's PID 1, in its PID namespace
    expect(Number(pid.stdout)).toBeLessThan(100);
    const failed = await run.run({ argv: ['sh', '-c', 'echo out; echo err >&2; exit 7'] });
    expect(failed).toMatchObject({ exitCode: 7, stdout: 'out\n', stderr: 'err\n' });
    const ok = await run.run({ argv: ['true'] });
    expect(ok).toMatchObject({ exitCode: 0, stdout: '', stderr: '' });
    const missing = await run.run({ argv: ['no-such-program-nslab'] });
    expect(missing.exitCode).toBe(127);
    expect(missing.stderr).toContain('cannot run no-such-program-nslab');
    channel.abandon();
  });

  it('carries argv, input and output byte for byte: spaces, newlines, empty words, UTF-8, a megabyte', async () => {
    const { channel } = await holder();
    const run = channel.runner();
    const words = ['a b', 'line1\nline2', '', 'ü→✓', ' ', 'X 1 2 3', 'E 1 0 0 0'];
    const echoed = await run.run({ argv: ['sh', '-c', 'for w; do printf "[%s]" "$w"; done', 'sh', ...words] });
    expect(echoed.stdout).toBe(words.map((w) => `[${w}]`).join(''));
    const input = 'first line\n\nD\nK 1 9\nX 9 9 9\n' + 'ü'.repeat(1000) + '\nno newline at the end';
    const cat = await run.run({ argv: ['cat'], input });
    expect(cat.stdout).toBe(input);
    const big = await run.run({
      argv: ['sh', '-c', 'head -c 1048576 /dev/zero | tr "\\0" x; head -c 70000 /dev/zero | tr "\\0" y >&2'],
    });
    expect(big.stdout).toBe('x'.repeat(1048576));
    expect(big.stderr).toBe('y'.repeat(70000));
    channel.abandon();
  });

  it('answers 60 programs at once, each with its own answer', async () => {
    const { channel } = await holder();
    const run = channel.runner();
    const all = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        run.run({ argv: ['sh', '-c', `sleep 0.0${i % 10}; echo ${i}; exit ${i % 5}`], input: String(i) }),
      ),
    );
    all.forEach((r, i) => expect({ out: r.stdout, code: r.exitCode }).toEqual({ out: `${i}\n`, code: i % 5 }));
    channel.abandon();
  });

  it('stops a program on abort and on its timeout (SIGTERM, status 143); an uninterruptible one runs on', async () => {
    const { channel } = await holder();
    const ac = new AbortController();
    const run = channel.runner(ac.signal);
    const t0 = performance.now();
    const long = run.run({ argv: ['sleep', '30'] });
    const kept = run.run({ argv: ['sh', '-c', 'sleep 0.5; echo done'], uninterruptible: true });
    await sleep(200);
    ac.abort();
    expect((await long).exitCode).toBe(143);
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(await kept).toMatchObject({ exitCode: 0, stdout: 'done\n' });
    const timed = await channel.runner().run({ argv: ['sleep', '30'], timeoutMs: 200 });
    expect(timed.exitCode).toBe(143);
    // is not: a program that ends within its timeout keeps its status
    expect((await channel.runner().run({ argv: ['true'], timeoutMs: 5000 })).exitCode).toBe(0);
    channel.abandon();
  });

  it('many programs at once under one signal add one abort listener, not one each (Node warns past ten)', async () => {
    const { channel } = await holder();
    const warnings: string[] = [];
    const on = (w: Error) => warnings.push(`${w.name}: ${w.message}`);
    process.on('warning', on);
    try {
      // is not: eleven listeners on one signal do warn, so the check below can fail
      const probe = new AbortController();
      for (let i = 0; i < 11; i++) probe.signal.addEventListener('abort', () => {});
      await sleep(20);
      expect(warnings.some((w) => /abort listeners/.test(w))).toBe(true);
      warnings.length = 0;
      const run = channel.runner(new AbortController().signal);
      const all = await Promise.all(Array.from({ length: 30 }, () => run.run({ argv: ['sleep', '0.1'] })));
      expect(all.every((r) => r.exitCode === 0)).toBe(true);
      await sleep(20);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', on);
      channel.abandon();
    }
  });

  it('released, the holder lives on; closed without release (nslab died mid-up), it ends with what it ran', async () => {
    const kept = await holder();
    await kept.channel.runner().run({ argv: ['true'] });
    kept.channel.release();
    await sleep(300);
    expect(holderAlive(kept.holder)).toBe(true);
    // the channel is closed: a program asked for now fails as one that could not run
    const late = await kept.channel.runner().run({ argv: ['true'] });
    expect(late.exitCode).toBe(127);
    expect(late.stderr).toContain('holder has ended');

    const dropped = await holder();
    const sleeper = dropped.channel.runner().run({ argv: ['sleep', '30'] });
    await sleep(100);
    dropped.channel.abandon();
    expect(await gone(dropped.holder)).toBe(true);
    expect((await sleeper).exitCode).toBe(127);
  });

  it('a holder killed while a program runs fails the program, and every later one', async () => {
    const { holder: h, channel } = await holder();
    const run = channel.runner();
    const sleeper = run.run({ argv: ['sleep', '30'] });
    await sleep(100);
    process.kill(h.pid, 'SIGKILL');
    const r = await sleeper;
    expect(r.exitCode).toBe(127);
    expect(r.stderr).toContain('holder has ended');
    expect((await run.run({ argv: ['true'] })).exitCode).toBe(127);
    expect(await gone(h)).toBe(true);
  });
});

// Liveness without root: real child processes, watched as the engine watches its services.
import { spawn } from 'node:child_process';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { deathLine, Liveness } from '../../src/engine/liveness.js';
import { startTime } from '../../src/engine/proc.js';
import type { ServiceState } from '../../src/engine/state.js';

function started(argv: string[]) {
  const child = spawn(argv[0]!, argv.slice(1), { stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  const log = join(mkdtempSync(join(tmpdir(), 'liveness-')), 'a-svc.log');
  writeFileSync(log, '');
  const s: ServiceState = { node: 'a', name: 'svc', pid: child.pid!, start: startTime(child.pid!), log };
  return { child, exited, s };
}

describe('liveness', () => {
  it('a service that exited is dead, with its exit status and when; reported once after it is gone', async () => {
    const l = new Liveness();
    const { exited, s } = started(['sh', '-c', 'exit 3']);
    l.watch(s.pid, exited);
    await exited;
    const [d] = await l.dead([s]);
    expect(d).toMatchObject({ node: 'a', service: 'svc', exit: { code: 3, signal: null } });
    expect(deathLine(d!)).toMatch(/^service 'svc' of node 'a' exited \(exit status 3\) at \d{4}-.*Z$/);
    // found at a stage boundary, then restarted (no longer in the list): the next test still reports it, once
    expect(await l.forTest([])).toEqual([d]);
    expect(await l.forTest([])).toEqual([]);
  });

  it('a running service is not dead; one stopped on purpose is not dead either; killed: the signal', async () => {
    const l = new Liveness();
    const { child, exited, s } = started(['sleep', '30']);
    l.watch(s.pid, exited);
    expect(await l.dead([s])).toEqual([]);
    s.stopped = true;
    child.kill('SIGTERM');
    await exited;
    expect(await l.dead([s])).toEqual([]);
    delete s.stopped;
    expect(deathLine((await l.forTest([s]))[0]!)).toMatch(/exited \(killed by SIGTERM\)/);
  });

  it('a service another process started: gone is all that is known', async () => {
    const { exited, s } = started(['true']);
    await exited;
    const [d] = await new Liveness().dead([s]);
    expect(deathLine(d!)).toMatch(/is no longer running \(another nslab process started it\)/);
  });
});

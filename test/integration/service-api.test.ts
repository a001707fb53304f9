// lab.node(n).service(name) through the API, with a real shell daemon in a
// real namespace: alive (and its twin, once killed), logs(), signal(),
// restart() (a new process, started as declared), stop(); unknown names throw.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../src/api/index.js';
import { isRoot, namespaces, sleep, tempDir, uid } from './helpers.js';

function labFile(name: string): string {
  const daemon = 'echo "web: start $$"; trap "echo web: hup" HUP; while :; do sleep 0.05; done';
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.74.0.1/24 }
    services:
      - { name: web, command: ${JSON.stringify(['sh', '-c', daemon])}, ready: { log: 'web: start' } }
  b: { interfaces: { eth0: 10.74.0.2/24 } }
links: [a:eth0 b:eth0]
`,
  );
  return file;
}

async function until(f: () => boolean, ms = 3000): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(20)) if (f()) return true;
  return f();
}

describe.skipIf(!isRoot)('lab.node(n).service(name)', () => {
  it('alive, logs, signal, restart, stop; a killed service is not alive; unknown names throw', async () => {
    const name = `svcapi${uid()}`;
    await using lab = await Lab.up(labFile(name), { artifacts: tempDir() });
    const web = lab.node('a').service('web');
    expect(web.alive).toBe(true);
    const first = web.pid;
    expect(web.logs()).toBe(`web: start ${first}\n`);

    web.signal('SIGHUP');
    expect(await until(() => web.logs().endsWith('web: hup\n'))).toBe(true);

    await web.restart();
    expect(web.pid).not.toBe(first);
    expect(web.alive).toBe(true);
    expect(web.logs()).toBe(`web: start ${first}\nweb: hup\nweb: start ${web.pid}\n`);

    // the twin of alive: killed from outside (by its pid), it is not
    process.kill(web.pid, 'SIGKILL');
    expect(await until(() => !web.alive)).toBe(true);
    await web.restart();
    expect(web.alive).toBe(true);
    await web.stop();
    expect(web.alive).toBe(false);
    expect(() => web.signal('SIGHUP')).toThrow(/cannot send SIGHUP to service 'web' of node 'a': it is not running/);

    expect(() => lab.node('a').service('wbe')).toThrow(
      /node 'a' of lab '.*' has no service 'wbe'\n {4}hint: its services: web/,
    );
    expect(() => lab.node('b').service('web')).toThrow(/hint: it runs no services/);
    await lab.down();
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });
});

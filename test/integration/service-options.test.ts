// A service's env, cwd, user and ready, through the shipped CLI with real
// processes in real namespaces; each with its twin.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, STATE_DIR, tempDir, uid } from './helpers.js';

/** A two-node lab; node a runs the service given as YAML (a flow mapping), node b none. */
function labWith(name: string, service: string, tests = '', dir = tempDir()): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.72.0.1/24 }
    services:
      - ${service}
  b: { interfaces: { eth0: 10.72.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: base
    tests:
      - { name: b reaches a, ping: { from: b, to: a, count: 1 }, expect: { replies: 1 } }
${tests}`,
  );
  return file;
}

const left = (name: string) => ({
  namespaces: namespaces(`nslab-${name}.`).concat(namespaces(`nslab-${name}-`)),
  records: existsSync(STATE_DIR) ? readdirSync(STATE_DIR).filter((f) => f.startsWith(`${name}.`)) : [],
});
const nothing = { namespaces: [], records: [] };
const logOf = (name: string) => readFileSync(join(STATE_DIR, 'logs', name, 'a-web.log'), 'utf8');
const cmd = (argv: string[]) => JSON.stringify(argv);
const SAYS = 'echo "env=$GREETING cwd=$(pwd) user=$(id -un) group=$(id -gn)"; exec sleep 600';

describe.skipIf(!isRoot)('service env, cwd, user', () => {
  it('the service sees its env, runs in its cwd (relative to the lab file) as its user', () => {
    const name = `svcopts${uid()}`;
    const dir = tempDir();
    mkdirSync(join(dir, 'work'));
    const file = labWith(
      name,
      `{ name: web, command: ${cmd(['sh', '-c', SAYS])}, env: { GREETING: hello }, cwd: work, user: nobody }`,
      '',
      dir,
    );
    const up = cli(['up', file]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(logOf(name)).toBe(`env=hello cwd=${dir}/work user=nobody group=nogroup\n`);
    } finally {
      cli(['down', name]);
    }
    expect(left(name)).toEqual(nothing);
  });

  it('the twin: without them, nslab environment, folder and root', () => {
    const name = `svcopts${uid()}`;
    const up = cli(['up', labWith(name, `{ name: web, command: ${cmd(['sh', '-c', SAYS])} }`)]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(logOf(name)).toBe(`env= cwd=${process.cwd()} user=root group=root\n`);
    } finally {
      cli(['down', name]);
    }
  });

  it('a user that does not exist, or a cwd that does not: a located error, exit 2, nothing created', () => {
    const name = `svcopts${uid()}`;
    const user = `nosuch${uid()}`;
    const file = labWith(name, `{ name: web, command: [sleep, '600'], user: ${user}, cwd: /nonexistent-${user} }`);
    const r = cli(['up', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(`${file}:6:9: service 'web' of node 'a': user '${user}' does not exist on this machine`);
    expect(r.stderr).toContain(`${file}:6:9: service 'web' of node 'a': cwd /nonexistent-${user} does not exist`);
    expect(left(name)).toEqual(nothing);
    // a bad variable name is the lab file's error, found without root
    const bad = cli(['validate', labWith(name, `{ name: web, command: [sleep, '600'], env: { 1X: y } }`)]);
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(/:6:\d+: .1X' is not an environment variable name/);
  });
});

describe.skipIf(!isRoot)('service ready', () => {
  const late = (s: number, then: string) => cmd(['sh', '-c', `sleep ${s}; ${then}`]);
  const tcpd = `exec node -e "require('net').createServer((s) => s.end()).listen(7300)"`;
  const udpd = `exec node -e "require('dgram').createSocket('udp4').bind(7301)"`;

  it('tcp: up waits until the port listens, and says how long it waited; a test of it then passes', () => {
    const name = `svcready${uid()}`;
    const file = labWith(
      name,
      `{ name: web, command: ${late(0.8, tcpd)}, ready: { tcp: 7300 } }`,
      `      - { name: web answers, tcp: { from: b, to: a, port: 7300, listen: false }, expect: { connected: true } }\n`,
    );
    const up = cli(['up', file]);
    try {
      expect(up.code, up.stderr).toBe(0);
      const ms = Number(/service web of node a ready in (\d+) ms \(tcp port 7300 listening\)/.exec(up.stdout)?.[1]);
      expect(ms).toBeGreaterThanOrEqual(600);
      expect(ms).toBeLessThan(10_000);
    } finally {
      cli(['down', name]);
    }
    const t = cli(['test', file, '--artifacts', tempDir()]);
    expect(t.code, t.stdout + t.stderr).toBe(0);
    expect(t.stdout).toMatch(
      new RegExp(`${name}: service web of node a ready in \\d+ ms \\(tcp port 7300 listening\\)`),
    );
  });

  it('the twin: not ready in time fails the bring-up, with what it waited for and its log; nothing left', () => {
    const name = `svcready${uid()}`;
    const r = cli([
      'up',
      labWith(name, `{ name: web, command: ${late(5, tcpd)}, ready: { tcp: 7300, timeout: 400ms } }`),
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /service 'web' of node 'a' was not ready within 400 ms \(waited for tcp port 7300 listening\): sh -c /,
    );
    expect(r.stderr).toMatch(/its log is kept in /);
    expect(left(name)).toEqual(nothing);
  });

  it('udp: waits until the port is bound', () => {
    const name = `svcready${uid()}`;
    const up = cli(['up', labWith(name, `{ name: web, command: ${late(0.5, udpd)}, ready: { udp: 7301 } }`)]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(Number(/ready in (\d+) ms \(udp port 7301 bound\)/.exec(up.stdout)?.[1])).toBeGreaterThanOrEqual(300);
    } finally {
      cli(['down', name]);
    }
  });

  it('log: waits for a matching line; the twin, a service that exits first, fails with its exit status', () => {
    const name = `svcready${uid()}`;
    const says = late(0.5, 'echo "web: starting"; echo "web: accepting connections"; exec sleep 600');
    const up = cli(['up', labWith(name, `{ name: web, command: ${says}, ready: { log: 'accepting conn\\w+$' } }`)]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(
        Number(/ready in (\d+) ms \(a log line matching \/accepting conn\\w\+\$\/\)/.exec(up.stdout)?.[1]),
      ).toBeGreaterThanOrEqual(300);
    } finally {
      cli(['down', name]);
    }
    const name2 = `svcready${uid()}`;
    const dies = late(0.5, 'echo "web: no config"; exit 3');
    const r = cli(['up', labWith(name2, `{ name: web, command: ${dies}, ready: { log: accepting } }`)]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/service 'web' of node 'a' exited before it was ready \(exit status 3\)/);
    expect(r.stderr).toContain('      web: no config\n');
    expect(left(name2)).toEqual(nothing);
  });

  it('command: waits until it exits 0 in the node', () => {
    const name = `svcready${uid()}`;
    const flag = join(tempDir(), 'ready');
    const up = cli([
      'up',
      labWith(
        name,
        `{ name: web, command: ${late(0.5, `touch ${flag}; exec sleep 600`)}, ready: { command: [test, -e, ${flag}] } }`,
      ),
    ]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(Number(/ready in (\d+) ms \('test -e \S+' exiting 0\)/.exec(up.stdout)?.[1])).toBeGreaterThanOrEqual(300);
    } finally {
      cli(['down', name]);
    }
  });
});

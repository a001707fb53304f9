// A service that dies mid-run fails the next test, which names it: its node,
// how it ended (exit status), when, and how its log ends, in every reporter
// (console, JSON, JUnit, TAP, HTML), with a copy of its log kept in the run's
// artifacts and linked. The twin: the same lab with a daemon that keeps
// running passes. Through the shipped CLI, with real processes in real
// namespaces.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, tempDir, uid } from './helpers.js';

/**
 * A TCP daemon on server:7000. `dies`: it exits (1) on its first connection, as a daemon without an error handler
 * dies of the reset that ends nslab's tcp probe.
 */
function labFile(name: string, dies: boolean): string {
  const onConn = dies
    ? `console.log('svcd: connection from ' + s.remoteAddress); console.error('svcd: fatal: giving up'); process.exit(1);`
    : `s.on('error', () => {}); s.end();`;
  const daemon = `const net = require('net'); net.createServer((s) => { ${onConn} }).listen(7000, '0.0.0.0', () => console.log('svcd: listening on 7000'));`;
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  client: { interfaces: { eth0: 10.71.0.1/24 } }
  server:
    interfaces: { eth0: 10.71.0.2/24 }
    services:
      - { name: svcd, command: ${JSON.stringify(['node', '-e', daemon])} }
links: [client:eth0 server:eth0]
stages:
  - name: base
    tests:
      - { name: connects, tcp: { from: client, to: server, port: 7000, listen: false }, expect: { connected: true } }
  - name: later
    tests:
      - { name: pings, ping: { from: client, to: server, count: 1 }, expect: { replies: 1 } }
`,
  );
  return file;
}

const DEATH = /service 'svcd' of node 'server' exited \(exit status 1\) at (\d{4}-\d\d-\d\dT[\d:.]+Z)/;

describe.skipIf(!isRoot)('a service that dies mid-run', () => {
  it('console, JSON, JUnit and HTML: the tests that ran after its death fail naming it, its exit, when and its log', () => {
    const name = `svcgone${uid()}`;
    const dir = tempDir();
    const t0 = Date.now();
    const r = cli(['test', labFile(name, true), '--artifacts', dir]);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(1);
    // console: the test after its death fails naming it (the one that killed it too, if it died before that ended)
    expect(out).toMatch(new RegExp(`✗ ${name} › later › pings[^\\n]*\\n {4}${DEATH.source}`));
    const when = Date.parse(DEATH.exec(out)![1]!);
    expect(when).toBeGreaterThanOrEqual(t0);
    expect(when).toBeLessThanOrEqual(Date.now());
    expect(out).toContain(
      "    service 'svcd' of node 'server': its log ends with:\n      svcd: listening on 7000\n      svcd: connection from 10.71.0.1\n      svcd: fatal: giving up\n",
    );
    const kept = /service 'svcd' of node 'server': its log is kept in (\S+)/.exec(out)![1]!;
    expect(kept.startsWith(`${dir}/${name}.`)).toBe(true);
    expect(readFileSync(kept, 'utf8')).toBe(
      'svcd: listening on 7000\nsvcd: connection from 10.71.0.1\nsvcd: fatal: giving up\n',
    );
    expect(out).toMatch(/[01] passed, [12] failed/);

    // JSON: the service, its exit, when, its tail and the kept log, on each test
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    const tests = json.labs[0].tests;
    expect(tests[1].status).toBe('failed');
    for (const t of tests.filter((x: { status: string }) => x.status === 'failed')) {
      expect(t.services).toEqual([
        {
          node: 'server',
          service: 'svcd',
          exit: 'exit status 1',
          at: expect.stringMatching(/Z$/),
          tail: ['svcd: listening on 7000', 'svcd: connection from 10.71.0.1', 'svcd: fatal: giving up'],
          log: kept,
        },
      ]);
    }
    // JUnit: the failure's text says the same
    const junit = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(
      /<failure message="service &apos;svcd&apos; of node &apos;server&apos; exited \(exit status 1\)/,
    );
    expect(junit).toContain('  svcd: fatal: giving up');
    expect(junit).toContain(`its log is kept in ${kept}`);
    // HTML: the service, its exit and a link to its log, relative to the report
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    expect(html).toContain('<b>service svcd of node server</b>: exit status 1 at ');
    expect(html).toMatch(new RegExp(`<a href="${name}\\.[a-z0-9]+/server-svcd\\.log"[^>]*>its log</a>`));
    expect(html).toContain('svcd: fatal: giving up');
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('TAP: the same, in its YAML block', () => {
    const name = `svcgone${uid()}`;
    const r = cli(['test', labFile(name, true), '--reporter', 'tap', '--artifacts', tempDir()]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /not ok 2 - .* › later › pings\n {2}---\n {2}message: "service 'svcd' of node 'server' exited \(exit status 1\) at /,
    );
    expect(r.stdout).toMatch(
      / {2}service: \{ node: "server", name: "svcd", exit: "exit status 1", at: "[^"]+Z", log: "[^"]+server-svcd\.log", tail: \[.*"svcd: fatal: giving up"\] \}/,
    );
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });

  it('the twin: a daemon that keeps running, the same tests pass and nothing names it', () => {
    const name = `svclive${uid()}`;
    const dir = tempDir();
    const r = cli(['test', labFile(name, false), '--artifacts', dir]);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(0);
    expect(out).toMatch(/2 passed, 0 failed/);
    expect(out).not.toMatch(/svcd/);
    const json = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8'));
    expect(json.labs[0].tests.map((t: { services?: unknown }) => t.services)).toEqual([undefined, undefined]);
    expect(existsSync(join(dir, json.labs[0].instance, 'server-svcd.log'))).toBe(false);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
  });
});

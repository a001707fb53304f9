// A stage's signal, stop, start and restart of a named service, through the
// shipped CLI: a real shell daemon in a real namespace writes what happens to
// it (started with its pid, HUP, TERM) to a file that exec tests read. The
// twin: without the stage's action, its test fails. Bad names: a located error,
// exit 2, nothing created.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, STATE_DIR, tempDir, uid } from './helpers.js';

function labFile(name: string, events: string, hup = 'signal: { web: HUP }', extra = ''): string {
  const daemon = `echo "start $$" >> ${events}; trap "echo hup >> ${events}" HUP; trap "echo term >> ${events}; exit 0" TERM; while :; do sleep 0.05; done`;
  const reads = (re: string, wait = '') =>
    `exec: { node: a, command: [sh, -c, '${wait}cat ${events}'] }, expect: { stdout: ${JSON.stringify(`/${re}\\n$/`)} }`;
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.73.0.1/24 }
    services:
      - { name: web, command: ${JSON.stringify(['sh', '-c', daemon])}, ready: { command: [test, -s, ${events}] } }
  b: { interfaces: { eth0: 10.73.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: base
    tests:
      - { name: started once, ${reads('^start \\d+')} }
  - name: hup
    apply: { a: { ${hup} } }
    tests:
      - { name: got HUP, ${reads('^start \\d+\\nhup', 'sleep 0.3; ')} }
  - name: stopped
    apply: { a: { stop: [web] } }
    tests:
      - { name: got TERM, ${reads('hup\\nterm')} }
      - { name: b still reaches a, ping: { from: b, to: a, count: 1 }, expect: { replies: 1 } }
  - name: started
    apply: { a: { start: [web] } }
    tests:
      - { name: started again, ${reads('term\\nstart \\d+')} }
  - name: restarted
    apply: { a: { restart: [web] } }
    tests:
      - { name: stopped and started, ${reads('term\\nstart \\d+\\nterm\\nstart \\d+')} }
${extra}`,
  );
  return file;
}

const left = (name: string) => ({
  namespaces: namespaces(`nslab-${name}.`),
  records: existsSync(STATE_DIR) ? readdirSync(STATE_DIR).filter((f) => f.startsWith(`${name}.`)) : [],
});

describe.skipIf(!isRoot)("a stage's service actions", () => {
  it('signal HUP, stop (not reported dead), start, restart: each seen by the daemon', () => {
    const name = `svcact${uid()}`;
    const events = join(tempDir(), 'events');
    const r = cli(['test', labFile(name, events), '--artifacts', tempDir()]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/6 passed, 0 failed/);
    expect(r.stdout).not.toMatch(/service 'web' of node 'a'/);
    expect(left(name)).toEqual({ namespaces: [], records: [] });
  });

  it('the twin: without the signal, the HUP test fails', () => {
    const name = `svcact${uid()}`;
    const events = join(tempDir(), 'events');
    const r = cli(['test', labFile(name, events, 'forwarding: false'), '--artifacts', tempDir(), '--stage', 'hup']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/✗ .* › hup › got HUP/);
  });

  it('bad service names and signals: located errors, exit 2, nothing created', () => {
    const name = `svcact${uid()}`;
    const file = labFile(
      name,
      '/nonexistent',
      'signal: { web: HUPP }',
      `  - name: typo
    apply: { a: { restart: [wbe] }, b: { stop: [web] } }
`,
    );
    const r = cli(['up', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}:14:\\d+: 'HUPP' is not a signal`));
    expect(r.stderr).toMatch(
      /:31:\d+: node 'a' has no service 'wbe' declared before this stage\n {4}hint: did you mean 'web'\?/,
    );
    expect(r.stderr).toMatch(/:31:\d+: node 'b' has no service 'web' declared before this stage/);
    expect(left(name)).toEqual({ namespaces: [], records: [] });
  });

  it('examples/services/echod.yaml (docs/lab-format.md): passes; the twin, without its HUP handler, dies of the HUP', () => {
    const ok = cli(['test', 'examples/services/echod.yaml', '--artifacts', tempDir()]);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/4 passed, 0 failed/);
    expect(ok.stdout).toMatch(/service echod of node server ready in \d+ ms \(tcp port 7000 listening\)/);
    const text = readFileSync('examples/services/echod.yaml', 'utf8');
    const handler = /^ *process\.on\('SIGHUP'.*\n/m;
    expect(text).toMatch(handler);
    const twin = join(tempDir(), 'echod.yaml');
    writeFileSync(twin, text.replace(handler, ''));
    const r = cli(['test', twin, '--artifacts', tempDir()]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(
      /✗ echod › reload › echod still answers[^\n]*\n {4}service 'echod' of node 'server' exited \(killed by SIGHUP\) at /,
    );
    expect(r.stdout).toContain(
      "service 'echod' of node 'server': its log ends with:\n      echod: listening in / as uid 65534\n",
    );
  });
});

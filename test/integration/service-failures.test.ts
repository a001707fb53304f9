// A service that exits as its lab comes up fails the run with its cause: how it
// ended (exit status or signal), the last lines of its log, and a copy of the
// log kept where the run keeps its artifacts, a path that exists afterwards
// (the lab's own log directory goes with the lab). Through the shipped CLI.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, STATE_DIR, tempDir, uid } from './helpers.js';

/** A two-node lab whose node a runs one service; the lab file's path. */
function labWith(name: string, command: string[]): string {
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}
nodes:
  a:
    interfaces: { eth0: 10.64.0.1/24 }
    services:
      - { name: web, command: ${JSON.stringify(command)} }
  b: { interfaces: { eth0: 10.64.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: base
    tests:
      - { name: a reaches b, ping: { from: a, to: b, count: 1 }, expect: { replies: 1 } }
`,
  );
  return file;
}

/** The copy the message names, which must exist. */
function keptLog(output: string): string {
  const m = /^ {4}its log is kept in (\S+)$/m.exec(output);
  expect(m, output).not.toBeNull();
  return m![1]!;
}

const leftOf = (name: string) => ({
  namespaces: namespaces(`nslab-${name}.`),
  records: existsSync(STATE_DIR) ? readdirSync(STATE_DIR).filter((f) => f.startsWith(`${name}.`)) : [],
  logs: existsSync(join(STATE_DIR, 'logs')) ? readdirSync(join(STATE_DIR, 'logs')).filter((f) => f === name) : [],
});
const nothing = { namespaces: [], records: [], logs: [] };

describe.skipIf(!isRoot)('a service that exits at once', () => {
  const missing = `/nonexistent-${uid()}/web.conf`;
  // a program that reads its config file first, as daemons do
  const web = ['sh', '-c', `echo "web: reading ${missing}"; exec cat ${missing}`];

  it('test --artifacts DIR: the failure shows the exit status and the end of its log, and the log is kept in DIR', () => {
    const name = `svcdies${uid()}`;
    const artifacts = join(tempDir(), 'artifacts');
    const r = cli(['test', labWith(name, web), '--artifacts', artifacts]);
    const out = r.stdout + r.stderr;
    expect(r.code, out).toBe(1);
    expect(out).toMatch(/service 'web' of node 'a' exited at once \(exit status 1\): sh -c /);
    expect(out).toContain(
      `    its log ends with:\n      web: reading ${missing}\n      cat: ${missing}: No such file or directory\n`,
    );
    const kept = keptLog(out);
    expect(dirname(kept)).toMatch(new RegExp(`^${artifacts}/${name}\\.[a-z0-9]+$`));
    expect(readFileSync(kept, 'utf8')).toBe(`web: reading ${missing}\ncat: ${missing}: No such file or directory\n`);
    expect(statSync(kept).mode & 0o777).toBe(0o600);
    expect(statSync(dirname(kept)).mode & 0o777).toBe(0o700);
    // the test the lab was for is reported as not run, with the first line of the cause
    expect(out).toMatch(
      /not run: the lab could not be brought up: service 'web' of node 'a' exited at once \(exit status 1\)/,
    );
    expect(out).not.toMatch(/\/run\/nslab\/logs/); // never the lab's own log, which is gone
    expect(leftOf(name)).toEqual(nothing);
  });

  it('up: the same, with the log kept in a private artifacts folder', () => {
    const name = `svcdies${uid()}`;
    const r = cli(['up', labWith(name, web)]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/^nslab: service 'web' of node 'a' exited at once \(exit status 1\)/);
    expect(r.stderr).toContain(`      cat: ${missing}: No such file or directory\n`);
    const kept = keptLog(r.stderr);
    expect(kept).toMatch(/\/nslab-artifacts-[A-Za-z0-9]+\//);
    expect(readFileSync(kept, 'utf8')).toContain(`cat: ${missing}: No such file or directory`);
    expect(statSync(dirname(dirname(kept))).mode & 0o777).toBe(0o700); // mkdtemp
    rmSync(dirname(dirname(kept)), { recursive: true, force: true });
    expect(leftOf(name)).toEqual(nothing);
  });

  it('a service killed by a signal says so; what its log holds is shown escaped, one line per line', () => {
    const name = `svcdies${uid()}`;
    const r = cli(['up', labWith(name, ['sh', '-c', String.raw`printf '\033[31mred\033[0m\rback\n'; kill -SEGV $$`])]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(/exited at once \(killed by SIGSEGV\)/);
    expect(r.stderr).toContain(String.raw`      \u001b[31mred\u001b[0m\u000dback` + '\n');
    expect(r.stderr).not.toContain('\u001b');
    rmSync(dirname(dirname(keptLog(r.stderr))), { recursive: true, force: true });
    expect(leftOf(name)).toEqual(nothing);
  });
});

describe.skipIf(!isRoot)('a service that keeps running (the twin)', () => {
  const web = ['sh', '-c', 'echo "web: listening"; exec sleep 600'];

  it('up succeeds; ls names the log folder while the lab is up, the log is there; down removes it', () => {
    const name = `svcruns${uid()}`;
    const up = cli(['up', labWith(name, web)]);
    try {
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout + up.stderr).not.toMatch(/exited at once|its log/);
      const logs = join(STATE_DIR, 'logs', name);
      expect(up.stdout).toContain(`service logs: ${logs}`);
      expect(
        cli(['ls'])
          .stdout.split('\n')
          .find((l) => l.startsWith(`${name} `)),
      ).toMatch(new RegExp(`${logs}$`));
      const [state] = JSON.parse(cli(['ls', '--json']).stdout).filter((s: { instance: string }) => s.instance === name);
      expect(state.services.map((s: { log: string }) => s.log)).toEqual([join(logs, 'a-web.log')]);
      expect(readFileSync(join(logs, 'a-web.log'), 'utf8')).toBe('web: listening\n');
    } finally {
      cli(['down', name]);
    }
    expect(leftOf(name)).toEqual(nothing);
  });

  it('test passes, and keeps no log (nothing failed)', () => {
    const name = `svcruns${uid()}`;
    const artifacts = join(tempDir(), 'artifacts');
    const r = cli(['test', labWith(name, web), '--artifacts', artifacts]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toMatch(/exited at once|its log/);
    expect(readdirSync(artifacts).filter((f) => !/^(report\.json|junit\.xml|report\.html)$/.test(f))).toEqual([]);
    expect(leftOf(name)).toEqual(nothing);
  });
});

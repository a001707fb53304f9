// Application probes (issue 20), through the shipped CLI on real namespaces: tcp and udp with a payload and a
// response regex, http with status, body and headers, against a real daemon (test/fixtures/app/server.mjs) run as
// the lab's services. Each "pass: ..." passes; each "fail: ..." twin fails on its assertion, saying what was
// received; each "dies: ..." (the same claim where the router drops the packets) fails too. IPv4 and IPv6.
// Bad input is refused with located messages, exit 2, nothing created.
import { describe, expect, it } from 'vitest';
import { useLab } from '../../src/api/vitest.js';
import { loadLab } from '../../src/lab/resolve.js';
import { cli, isRoot, namespaces, NOT_ROOT, tempDir } from './helpers.js';

const FIXTURE = 'test/fixtures/labs/app-probes.yaml';

interface Check {
  name: string;
  ok: boolean;
  expected: string;
  observed: string;
}
interface Test {
  stage: string;
  name: string;
  status: string;
  reason?: string;
  checks: Check[];
  facts: Record<string, string>;
}

describe.skipIf(!isRoot)('application probes against a real daemon, through the CLI', () => {
  let tests: Test[] = [];
  let run: ReturnType<typeof cli>;
  const byName = (n: string) => tests.find((t) => t.name === n)!;
  const failed = (n: string) => byName(n).checks.filter((c) => !c.ok);

  it('runs the lab: every test reported, exit 1 (the twins fail), nothing left behind', () => {
    run = cli(['test', FIXTURE, '--reporter', 'json']);
    tests = (JSON.parse(run.stdout) as { labs: { tests: Test[] }[] }).labs[0]!.tests;
    const lab = loadLab(FIXTURE);
    expect(tests).toHaveLength(lab.stages.reduce((n, s) => n + s.tests.length, 0));
    expect(run.code, run.stderr).toBe(1);
    expect(namespaces('nslab-app-probes.')).toEqual([]);
  }, 180_000);

  for (const stage of loadLab(FIXTURE).stages)
    for (const t of stage.tests)
      it(`${stage.name} › ${t.name}`, () => {
        const r = byName(t.name);
        const want = t.name.startsWith('pass') ? 'passed' : 'failed';
        expect(
          r.status,
          `${r.reason ?? ''} ${failed(t.name)
            .map((c) => `${c.name}: ${c.observed}`)
            .join('; ')}`,
        ).toBe(want);
        expect(r.reason, 'judged on its assertions, not failed on an error').toBeUndefined();
      });

  it('a response mismatch says what was received, printable', () => {
    expect(failed('fail: tcp response')).toEqual([
      { name: 'response', ok: false, expected: '/^PANG/', observed: '"PONG s\\r\\n"' },
    ]);
    expect(failed('fail: udp response')).toEqual([
      { name: 'response', ok: false, expected: '/^PANG/', observed: '"PONG s"' },
    ]);
    expect(failed('fail: v6 tcp response')[0]!.observed).toBe('"PONG s\\r\\n"');
    expect(byName("pass: udp bytes echoed by nslab's responder").facts.received).toBe('"hello\\x00\\xff"');
    expect(byName('pass: tcp escapes').facts.received).toBe('"ECHO say A\\tB\\\\\\r\\n"');
  });

  it('a response that never came fails as nothing received, with the outcome; the path claims as not observed', () => {
    for (const n of ['dies: tcp response', 'dies: v6 tcp response', 'dies: udp response', 'dies: v6 udp response'])
      expect(failed(n).find((c) => c.name === 'response')?.observed, n).toBe('nothing received (timeout)');
    expect(failed('dies: http').map((c) => [c.name, c.observed])).toEqual([
      ['status', 'no response (timeout)'],
      ['source', 'not observed at s: the request never arrived there (last seen at r)'],
    ]);
  });

  it('an http twin fails on the part that differs: status, body, header, a header not sent, the source', () => {
    expect(failed('fail: http status').map((c) => [c.name, c.observed])).toEqual([['status', '200']]);
    expect(failed('fail: http body').map((c) => [c.name, c.observed])).toEqual([['body', '"hello from s\\n"']]);
    expect(failed('fail: http header').map((c) => [c.name, c.observed])).toEqual([['header x-served-by', '"s"']]);
    expect(failed('fail: http missing header')[0]!.observed).toMatch(
      /^no such header \(the response has: .*x-served-by/,
    );
    expect(failed('fail: http source').map((c) => c.name)).toEqual(['source']);
    expect(byName('pass: http').facts).toMatchObject({ status: '200', body: '"hello from s\\n"' });
  });
});

describe.skipIf(!isRoot)('application probes through the API', () => {
  const lab = useLab(FIXTURE, { artifacts: tempDir() });

  it('tcp and udp send a payload and judge the answer; judge() gives the twin on the same exchange', async () => {
    const t = await lab.tcp(
      { from: 'c', to: 's', port: 7000, listen: false, send: 'PING\\n' },
      { response: '^PONG s' },
    );
    expect(t.ok).toBe(true);
    expect(t.judge({ response: '^PANG' })).toEqual([
      { name: 'response', ok: false, expected: '/^PANG/', observed: '"PONG s\\r\\n"' },
    ]);
    await expect(t).toMeet({ response: '^PONG', 'reply-via': 'r:lan' });
    const u = await lab.udp(
      { from: 'c', to: 's', port: 7000, listen: false, send: 'x\\x41' },
      { response: '^ECHO xA$' },
    );
    expect(u.ok, JSON.stringify(u.checks)).toBe(true);
  });

  it('http judges status, body and headers, beside the path checks', async () => {
    const h = await lab.http(
      { from: 'c', url: 'http://s:8080/', ipv6: true },
      { status: 200, header: { 'X-Served-By': '^s$' }, source: '2001:db8:40:1::2' },
    );
    expect(h.ok, JSON.stringify(h.checks)).toBe(true);
    expect(h.judge({ status: 404 })[0]).toMatchObject({ ok: false, observed: '200' });
    await expect(lab.http({ from: 'c', url: 'http://s:8080/' }, { response: 'x' })).rejects.toThrow(
      /the http probe cannot judge 'response'/,
    );
  });
});

describe('bad application probes', () => {
  it('are refused with located messages, exit 2, before anything is created', () => {
    const r = cli(['validate', 'test/fixtures/bad/app-probes.yaml']);
    expect(r.code).toBe(2);
    const at = (line: number) => new RegExp(`^test/fixtures/bad/app-probes\\.yaml:${line}:\\d+: `, 'm');
    expect(r.stderr).toMatch(at(9));
    expect(r.stderr).toContain("response: '^PONG (' is not a regular expression: Unterminated group");
    expect(r.stderr).toContain("unknown key 'send' in the ping probe");
    expect(r.stderr).toContain('status: 700 is out of range: must be at most 599');
    expect(r.stderr).not.toMatch(/\n\s+at .*\.js:\d+/); // no stack trace
    if (isRoot) expect(namespaces('nslab-bad-app-probes.')).toEqual([]);
  });
});

if (!isRoot) describe('application probes (skipped)', () => it.skip(`application probes: ${NOT_ROOT}`, () => {}));

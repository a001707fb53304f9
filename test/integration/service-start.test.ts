// A lab's own services may still be starting when their first test runs (a busy
// machine, a container running the suite): tests of them (listen: false) wait
// until the port is bound (src/probes/service-ready.ts). The fixture's services
// bind a second after they start; without the wait, its first two tests fail
// (refused, no reply). A port no service takes is still refused, without waiting
// for the whole allowance.
import { describe, expect, it } from 'vitest';
import { START_MS } from '../../src/probes/service-ready.js';
import { cli, isRoot, NOT_ROOT } from './helpers.js';

type Report = { labs: { tests: { name: string; status: string; durationMs: number; reason?: string }[] }[] };

describe.skipIf(!isRoot)('tests of a lab service that starts slowly', () => {
  it('wait for its port; a port nobody takes is refused without waiting the whole allowance', () => {
    const r = cli(['test', 'test/fixtures/labs/service-start.yaml', '--reporter', 'json']);
    const tests = (JSON.parse(r.stdout) as Report).labs[0]!.tests;
    expect(tests.map((t) => [t.name, t.status])).toEqual([
      ['tcp to a service that binds late connects', 'passed'],
      ['udp to a service that binds late is answered', 'passed'],
      ['a port no service takes is refused', 'passed'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(tests[2]!.durationMs).toBeLessThan(START_MS);
  });
});

if (!isRoot) describe('service start (skipped)', () => it.skip(`service start: ${NOT_ROOT}`, () => {}));

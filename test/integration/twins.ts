// A fixture lab's twins, registered in the describe that calls it: the lab is run
// once, and each of its tests is checked by its name: "pass: ..." must pass, any
// other ("fail: ...", "dies: ...") must fail, and on its assertion, never on an error.
import { beforeAll, expect, it } from 'vitest';
import type { TestModel } from '../../src/lab/model.js';
import { loadLab } from '../../src/lab/resolve.js';
import type { LabRun, TestResult } from '../../src/run/results.js';
import { runLab } from '../../src/run/suite.js';
import { namespaces, tempDir } from './helpers.js';

/**
 * Returns the run's result of a test by name, for the describe's own further checks; `each` adds checks to every
 * test's.
 */
export function fixtureTwins(
  fixture: string,
  each?: (t: TestModel, r: TestResult) => void,
): (name: string) => TestResult {
  let run: LabRun;
  beforeAll(async () => {
    run = await runLab(loadLab(fixture), { artifacts: tempDir() });
  }, 60_000);
  const lab = loadLab(fixture);
  it('ran every test, and left nothing', () => {
    expect(run.error).toBeUndefined();
    expect(run.tests).toHaveLength(lab.stages.reduce((n, s) => n + s.tests.length, 0));
    expect(namespaces(`nslab-${run.instance}.`)).toEqual([]);
  });
  for (const stage of lab.stages)
    for (const t of stage.tests)
      it(`${stage.name} › ${t.name}`, () => {
        const r = run.tests.find((x) => x.stage === stage.name && x.name === t.name)!;
        expect(r.status, `${r.reason ?? ''} ${r.checks.map((c) => `${c.name}: ${c.observed}`).join('; ')}`).toBe(
          t.name.startsWith('pass') ? 'passed' : 'failed',
        );
        expect(r.reason, 'judged on its assertion, not failed on an error').toBeUndefined();
        each?.(t, r);
      });
  return (name) => run.tests.find((x) => x.name === name)!;
}

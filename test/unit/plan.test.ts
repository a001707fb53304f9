// Plan snapshots for every bundled lab: the exact commands `up` runs.
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadLab } from '../../src/lab/resolve.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderScript } from '../../src/plan/render.js';

const labs = readdirSync('labs')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('plans of the bundled labs', () => {
  for (const f of labs) {
    const lab = loadLab(`labs/${f}`);
    it(`${f} (base)`, async () => {
      await expect(renderScript(buildPlan(lab))).toMatchFileSnapshot(`__snapshots__/plan-${lab.name}.sh`);
    });
    const last = lab.stages[lab.stages.length - 1];
    if (last)
      it(`${f} (all stages)`, async () => {
        await expect(renderScript(buildPlan(lab, { stage: last.name }))).toMatchFileSnapshot(
          `__snapshots__/plan-${lab.name}-stages.sh`,
        );
      });
  }
});

describe('planning rules', () => {
  const lab = loadLab('test/fixtures/labs/features.yaml');
  const plan = buildPlan(lab, { instance: 'features.t1' });
  it('touches the root namespace only to create namespaces and veths inside them', () => {
    for (const s of plan.steps.filter((x) => x.ns === null)) {
      expect(s.tool).toBe('ip');
      if (s.args[0] === 'link') expect(s.args).toEqual(expect.arrayContaining(['netns', 'peer']));
      else expect(s.args.slice(0, 2)).toEqual(['netns', 'add']);
    }
  });
  it('names every interface after dev (names like "up" are not misread)', () => {
    for (const s of plan.steps.filter((x) => x.tool === 'ip' && x.args[0] === 'link' && x.args[1] === 'set'))
      expect(s.args[2]).toBe('dev');
  });
  it('adds IPv6 addresses without DAD and prefixes namespaces with the instance', () => {
    expect(plan.steps.some((s) => s.args.includes('2001:db8:10::1/64') && s.args.includes('nodad'))).toBe(true);
    expect(plan.namespaces.every((n) => n.ns.startsWith('nslab-features.t1.'))).toBe(true);
  });
  it('rejects an unknown stage with the list of stages', () => {
    expect(() => buildPlan(lab, { stage: 'nope' })).toThrow(/has no stage 'nope'/);
  });
});

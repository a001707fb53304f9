// Property, on real namespaces: a mutated bundled lab either fails validation
// with located one-line problems (never a throw), or it comes up for real, with
// every stage applied, and its `down` leaves no namespace and no state of its
// instance. "Validation said ok but up failed" is a failure of the property,
// printed with the mutated lab and the error, unless it is exactly one of the
// known gaps in test/fuzz/known-gaps.ts (to be fixed in src/lab).
//
// Most random mutants fail validation; three samples in four are therefore
// drawn among mutants that validate, so that ~45 of the 60 runs bring a lab up.
// The up test never mutates nftables text or service commands and runs every
// service as `sleep 3600` (test/fuzz/up.ts): nothing but sleep, nft with the
// bundled rulesets, ip, tc and sysctl inside the lab's own namespaces ever runs.
// FUZZ_UP_RUNS=N and FUZZ_SEED=S extend or reproduce a run; fast-check prints
// the seed and the shrunk counterexample of a failure.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError } from '../../src/errors.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';
import { knownUpGap } from '../fuzz/known-gaps.js';
import { applyMutant, badProblems, describeSample, LABS, mutantArb, type Mutant } from '../fuzz/lab-mutations.js';
import { FROZEN_KEYS, frozen, namespacesOf, onlyKnownPrograms, prepareForUp, upAndDown } from '../fuzz/up.js';
import { isRoot } from './helpers.js';

const RUNS = Number(process.env.FUZZ_UP_RUNS ?? 60);
// A fixed seed by default, so that the suite (and CI) gives the same verdict on the same code;
// FUZZ_SEED=random explores new samples, FUZZ_SEED=N reproduces a run.
const SEED = process.env.FUZZ_SEED === 'random' ? undefined : Number(process.env.FUZZ_SEED ?? 20261122);
/** 60 runs take ~12 s; the rest is for shrinking a failure (each step is an up), which stops in time to print it. */
const TIMEOUT = Math.max(120_000, RUNS * 2_000);

const applyOpts = { frozen, prepare: prepareForUp };
const rulesets = new Set<string>();
JSON.stringify(LABS, (k, v) => {
  if (k === 'nftables' && typeof v === 'string') rulesets.add(v);
  return v;
});

function check(m: Mutant) {
  const applied = applyMutant(m, applyOpts);
  try {
    return { applied, result: checkLab(loadLabText(applied.text, 'fuzz.yaml')) };
  } catch (e) {
    return { applied, threw: e as Error };
  }
}

const mutants = mutantArb({ upBias: true, forbiddenKeys: FROZEN_KEYS });
const arbitrary = fc.oneof(
  { weight: 1, arbitrary: mutants },
  {
    weight: 3,
    arbitrary: mutants.filter((m) => {
      const c = check(m);
      return !!c.threw || !!c.result?.model;
    }),
  },
);

const stats = { samples: 0, invalid: 0, up: 0, environment: 0, tolerated: new Map<string, number>() };
const tolerate = (id: string) => stats.tolerated.set(id, (stats.tolerated.get(id) ?? 0) + 1);

describe.skipIf(!isRoot)('fuzz: a mutated lab fails validation cleanly, or comes up and goes down', () => {
  const instances: string[] = [];
  afterAll(() => {
    console.info(
      `fuzz up: ${stats.samples} samples, ${stats.invalid} refused by validation, ${stats.up} brought up` +
        `${stats.environment ? `, ${stats.environment} needing a missing kernel feature` : ''}` +
        `${stats.tolerated.size ? `; known gaps tolerated: ${[...stats.tolerated].map(([g, n]) => `${g} x${n}`).join(', ')}` : ''}`,
    );
    expect(instances.flatMap(namespacesOf)).toEqual([]);
  });

  it(
    `validate, then up with every stage and down (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(arbitrary, async (m) => {
          stats.samples++;
          const { applied, result, threw } = check(m);
          if (threw) throw new Error(`validation threw: ${threw.stack}\n${describeSample(applied)}`);
          const { model, problems } = result;
          if (!model) {
            stats.invalid++;
            const { bad, tolerated } = badProblems(applied.text, problems);
            tolerated.forEach(tolerate);
            if (bad) throw new Error(`${bad}\n${describeSample(applied)}`);
            return;
          }
          // safety, not a filter: the frozen places make this always true
          if (!onlyKnownPrograms(model, rulesets))
            throw new Error(
              `internal: the mutant would run a program or ruleset of its own\n${describeSample(applied)}`,
            );
          stats.up++;
          const out = await upAndDown(model);
          instances.push(out.instance);
          if (out.leftover)
            throw new Error(
              `${out.leftover} (instance ${out.instance})${out.error ? `\nup failed: ${(out.error as Error).message}` : ''}\n${describeSample(applied)}`,
            );
          if (out.environment) {
            stats.environment++;
            return;
          }
          if (out.error === undefined) return;
          const e = out.error as Error;
          const gap = knownUpGap({ model, node: e instanceof CommandError ? e.node : undefined, message: e.message });
          if (gap) {
            tolerate(gap.id);
            return;
          }
          throw new Error(`validation said ok, but up failed: ${e.message}\n${describeSample(applied)}`);
        }),
        { numRuns: RUNS, seed: SEED, interruptAfterTimeLimit: TIMEOUT - 15_000 },
      );
    },
    TIMEOUT,
  );
});

if (!isRoot) describe('fuzz: mutated labs come up', () => it.skip('needs root (network namespaces)', () => {}));

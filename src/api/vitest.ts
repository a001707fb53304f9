// nslab/vitest: the matchers registered with vitest's expect, and useLab, a
// lab for a test file or a describe block that always comes down.
import { afterAll, beforeAll, expect } from 'vitest';
import { Lab, type LabOptions, type LabSource } from './lab.js';
import { matchers, type NslabMatchers } from './matchers.js';

expect.extend(matchers);

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends NslabMatchers<T> {}
}

/**
 * A lab for the enclosing describe block (or the whole file, at top level):
 * up before its first test, down after its last, also when a test throws or
 * the run is interrupted. The value is usable inside tests and hooks.
 */
export function useLab(source: LabSource, opts: LabOptions = {}): Lab {
  let lab: Lab | undefined;
  beforeAll(async () => { lab = await Lab.up(source, opts); });
  afterAll(async () => { await lab?.down(); lab = undefined; });
  return new Proxy({} as Lab, {
    get(_, key) {
      if (!lab) throw new Error(`useLab: the lab is up only inside tests and hooks of the describe block that called useLab (asked for '${String(key)}')`);
      const v = Reflect.get(lab, key, lab) as unknown;
      return typeof v === 'function' ? v.bind(lab) : v;
    },
  });
}

export { Lab, defineLab, bundledLab } from './index.js';
export type { LabOptions, LabSource };

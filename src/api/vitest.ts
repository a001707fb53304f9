// nslab/vitest: the matchers registered with vitest's expect, and useLab, a
// lab for a test file or a describe block that always comes down.
import { afterAll, beforeAll, expect } from 'vitest';
import { Lab, type LabOf, type LabOptions, type LabSource } from './lab.js';
import { matchers, type NslabMatchers } from './matchers.js';

expect.extend(matchers);

declare module 'vitest' {
  // vitest's own declaration, which a merged interface must repeat exactly (any, and an empty body)
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type, @typescript-eslint/no-explicit-any
  interface Matchers<T = any> extends NslabMatchers<T> {}
}

/**
 * A lab for the enclosing describe block (or the whole file, at top level):
 * up before its first test, down after its last, also when a test throws or
 * the run is interrupted. The value is usable inside tests and hooks.
 */
/** Long enough for a large lab on a loaded CI machine (vitest's own hook timeout is 10 s). */
const UP_TIMEOUT_MS = 120_000;

export function useLab<S extends LabSource>(source: S, opts: LabOptions = {}): LabOf<S> {
  let lab: LabOf<S> | undefined;
  beforeAll(async () => {
    // vitest gives up on a hook at its timeout but cannot stop it, and afterAll would find no
    // lab to take down: the bringing up is aborted just before, which unwinds what it made
    const ac = new AbortController();
    const timer = setTimeout(
      () => ac.abort(new Error(`useLab: the lab did not come up within ${UP_TIMEOUT_MS / 1000} s`)),
      UP_TIMEOUT_MS - 2000,
    );
    try {
      lab = await Lab.up(source, {
        ...opts,
        signal: opts.signal ? AbortSignal.any([opts.signal, ac.signal]) : ac.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }, UP_TIMEOUT_MS);
  afterAll(async () => {
    await lab?.down();
    lab = undefined;
  }, UP_TIMEOUT_MS);
  return new Proxy({} as LabOf<S>, {
    get(_, key) {
      if (!lab)
        throw new Error(
          `useLab: the lab is up only inside tests and hooks of the describe block that called useLab (asked for '${String(key)}')`,
        );
      const v = Reflect.get(lab, key, lab) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(lab) : v;
    },
  });
}

export { Lab, defineLab, bundledLab } from './index.js';
export type { LabOptions, LabSource, LabOf };

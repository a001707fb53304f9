// Ctrl-C and SIGTERM must unwind what was created, then exit 130 / 143.
import { InterruptedError } from '../errors.js';

/**
 * Runs `fn` with an AbortSignal that fires on SIGINT, SIGTERM or SIGHUP. The
 * function is expected to unwind in its own finally/catch; afterwards an
 * interruption is reported as InterruptedError (exit 130 or 143).
 */
export async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  let got: NodeJS.Signals | undefined;
  const on = (sig: NodeJS.Signals) => () => {
    if (got) return; // unwinding already; a second signal must not cut it short
    got = sig;
    ac.abort(new InterruptedError(sig));
  };
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, on(s)] as const);
  for (const [s, h] of handlers) process.on(s, h);
  try {
    const r = await fn(ac.signal);
    if (got) throw new InterruptedError(got);
    return r;
  } catch (e) {
    if (got) throw new InterruptedError(got);
    throw e;
  } finally {
    for (const [s, h] of handlers) process.off(s, h);
  }
}

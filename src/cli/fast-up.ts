// `nslab up FILE` (no options) straight from the entry (entry.ts), bundled as
// CommonJS into dist/bin/up.js: the same `run` as the full CLI's `up`, without
// Node's ES module loader and commander (~30 ms less at every `up`).
import { quietOnEpipe, reportError } from './report-error.js';
import { loadLab } from '../lab/resolve.js';
import { buildPlan } from '../plan/build.js';
import { run } from './up.js';

export async function fastUp(file: string): Promise<number> {
  quietOnEpipe(process.stdout);
  quietOnEpipe(process.stderr);
  try {
    return await run(file, {});
  } catch (e) {
    return reportError(e);
  }
}

/**
 * Reads, checks and plans a lab, and nothing else: run at build time so that the code cache of dist/bin/up.js holds
 * those functions compiled.
 */
export function warm(file: string): void {
  buildPlan(loadLab(file));
}

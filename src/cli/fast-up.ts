// `nslab up FILE` (no options) straight from the entry (entry.ts), bundled as
// CommonJS into dist/bin/up.js: the same `run` as the full CLI's `up`, without
// Node's ES module loader and commander (~30 ms less at every `up`).
import { quietOnEpipe, reportError } from './report-error.js';
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

import { Lab } from '../engine/lab.js';
import { withSignals } from '../engine/signals.js';
import { privateArtifacts } from '../run/artifacts.js';
import { loadLab } from '../lab/resolve.js';
import { checkInstanceId } from '../plan/names.js';
import { rootlessHere, upRootless } from './rootless.js';
import { upReport } from './up-report.js';

export async function run(file: string, opts: { stage?: string; instance?: string }): Promise<number> {
  const model = loadLab(file); // every lab-file problem is reported before anything is created
  const id = checkInstanceId(opts.instance);
  // without privilege: in a holder of its own (rootless.ts)
  if (rootlessHere()) return upRootless(model, id, opts.stage);
  const t0 = performance.now();
  const lab = await withSignals((signal) =>
    Lab.up(model, { id, stage: opts.stage, signal, artifacts: privateArtifacts }),
  );
  process.stdout.write(upReport(lab.state, Math.round(performance.now() - t0)));
  return 0;
}

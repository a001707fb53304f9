import { loadLab } from '../lab/resolve.js';
import { buildPlan } from '../plan/build.js';
import { checkInstanceId, instanceName } from '../plan/names.js';
import { renderJson, renderScript } from '../plan/render.js';

export async function run(file: string, opts: { stage?: string; json?: boolean; instance?: string }): Promise<number> {
  const lab = loadLab(file);
  const plan = buildPlan(lab, { stage: opts.stage, instance: instanceName(lab.name, checkInstanceId(opts.instance)) });
  process.stdout.write(opts.json ? renderJson(plan) : renderScript(plan));
  return 0;
}

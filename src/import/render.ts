// The imported lab as the YAML file `nslab import` writes: notes as comments on top.
import type { Imported } from './to-lab.js';

export async function renderImported(imp: Imported, from: string): Promise<string> {
  // in the bundle, yaml's functions sit under `default` (as in cli/common.ts)
  const yaml = await import('yaml');
  const stringify = yaml.stringify ?? (yaml as unknown as { default: typeof yaml }).default.stringify;
  return [`# made by nslab import from ${from.replace(/[\r\n]/g, ' ')}`, ...imp.notes.map((n) => `# note: ${n.replace(/[\r\n]/g, ' ')}`), stringify(imp.lab, { lineWidth: 0 })].join('\n');
}

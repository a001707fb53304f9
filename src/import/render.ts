// The imported lab as the YAML file `nslab import` writes: notes as comments on top.
import { oneLine } from '../errors.js';
import type { Imported } from './to-lab.js';

export async function renderImported(imp: Imported, from: string): Promise<string> {
  // in the bundle, yaml's functions sit under `default` (as in cli/common.ts)
  const yaml = await import('yaml');
  const stringify = yaml.stringify ?? (yaml as unknown as { default: typeof yaml }).default.stringify;
  // a comment is one line: what the snapshot holds is escaped (oneLine), never a line of the lab
  const head = [`# made by nslab import from ${oneLine(from)}`, ...imp.notes.map((n) => `# note: ${oneLine(n)}`)];
  return [...head, stringify(imp.lab, { lineWidth: 0 })].join('\n');
}

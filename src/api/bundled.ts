// The labs that ship with nslab (labs/*.yaml), by name, from wherever nslab
// is installed: a consumer project has no labs/ directory of its own.
import { existsSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../errors.js';

const LABS = fileURLToPath(new URL('../../labs/', import.meta.url));

/** The path of a bundled lab file, e.g. bundledLab('dual-nic-reply-path'). */
export function bundledLab(name: string): string {
  const file = `${LABS}${name}.yaml`;
  if (!/^[a-z0-9-]+$/.test(name) || !existsSync(file)) {
    const names = readdirSync(LABS)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -5));
    throw new UsageError(`nslab has no bundled lab '${name}'`, `bundled labs: ${names.join(', ')}`);
  }
  return file;
}

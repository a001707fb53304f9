// Where the user called the API from, for messages and test positions: the
// first stack frame outside nslab's own API modules.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import type { Source } from '../lab/model.js';

const here = dirname(fileURLToPath(import.meta.url));
// with source maps on (node --enable-source-maps, vitest), the frames of the compiled dist/api modules name the
// sources they were compiled from, src/api/*.ts, which the package ships beside them
const sources = join(here, '../../src/api');

export function callSite(): Source {
  const stack = new Error().stack?.split('\n').slice(1) ?? [];
  for (const line of stack) {
    const m = /\(?((?:file:\/\/)?[^()\s]+):(\d+):(\d+)\)?\s*$/.exec(line);
    if (!m) continue;
    const file = m[1]!.startsWith('file://') ? fileURLToPath(m[1]!) : m[1]!;
    if (
      file.startsWith(here + '/') ||
      file.startsWith(sources + '/') ||
      file.startsWith('node:') ||
      !file.includes('/')
    )
      continue;
    return { file, line: Number(m[2]), col: Number(m[3]) };
  }
  return { file: '(unknown)', line: 1, col: 1 };
}

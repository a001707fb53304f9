import { writeFileSync } from 'node:fs';
import { oneLine } from '../errors.js';
import { importFile } from '../import/import-file.js';

export async function run(file: string, opts: { output?: string }): Promise<number> {
  const { text, notes } = await importFile(file);
  for (const n of notes) process.stderr.write(`nslab import: note: ${oneLine(n)}\n`);
  if (opts.output) writeFileSync(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

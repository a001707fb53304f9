import { writeOutputFile } from '../engine/output.js';
import { oneLine } from '../errors.js';
import { importFile } from '../import/import-file.js';

export async function run(file: string, opts: { output?: string; netns?: string }): Promise<number> {
  const { text, notes, summary } = await importFile(file, { netns: opts.netns });
  for (const n of notes) process.stderr.write(`nslab import: note: ${oneLine(n)}\n`);
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  // after the lab is written: the summary is the last line the user sees
  process.stderr.write(`nslab import: ${oneLine(summary)}\n`);
  return 0;
}

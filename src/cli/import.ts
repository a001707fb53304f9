import { writeOutputFile } from '../engine/output.js';
import { withSignals } from '../engine/signals.js';
import { oneLine } from '../errors.js';
import { importFile } from '../import/import-file.js';

export async function run(file: string, opts: { output?: string; netns?: string }): Promise<number> {
  // SIGINT/SIGTERM while a sos tarball is read: its temporary directory removed, then exit 130/143
  const { text, notes, summary } = await withSignals((signal) => importFile(file, { netns: opts.netns, signal }));
  for (const n of notes) process.stderr.write(`nslab import: note: ${oneLine(n)}\n`);
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  // after the lab is written: the summary is the last line the user sees
  process.stderr.write(`nslab import: ${oneLine(summary)}\n`);
  return 0;
}

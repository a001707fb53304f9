import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { writeOutputFile } from '../engine/output.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { renderImported } from '../import/render.js';
import { checkSnapshot, snapshotToLab } from '../import/to-lab.js';
import { loadLab } from '../lab/resolve.js';

export async function run(file: string, opts: { output?: string }): Promise<number> {
  let data: unknown;
  try { data = JSON.parse(readFileSync(file, 'utf8')); } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UsageError(err.code === 'ENOENT' ? `${file}: no such file` : `${file}: not JSON: ${err.message}`, "make a snapshot with 'nslab snapshot -o FILE'");
  }
  const imported = snapshotToLab(checkSnapshot(data, file));
  const { notes } = imported;
  const text = await renderImported(imported, file);
  // what import writes must be a lab nslab accepts: check it as `validate` would
  const dir = mkdtempSync(join(tmpdir(), 'nslab-import-'));
  try {
    const f = join(dir, 'lab.yaml');
    writeFileSync(f, text);
    loadLab(f);
  } finally { rmSync(dir, { recursive: true, force: true }); }
  for (const n of notes) process.stderr.write(`nslab import: note: ${n}\n`);
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

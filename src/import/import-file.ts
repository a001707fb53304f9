// `nslab import FILE` without the writing: the snapshot read through its
// schema, made a lab, rendered, and the text checked as `validate` would.
import { readSnapshotFile } from './check.js';
import { renderImported } from './render.js';
import { snapshotToLab } from './to-lab.js';
import { verifyImported } from './verify.js';

/** The lab file's text and the notes on what was left out; JsonFileError (exit 2) for any problem, located in FILE. */
export async function importFile(file: string): Promise<{ text: string; notes: string[]; summary: string }> {
  const imported = snapshotToLab(readSnapshotFile(file), file);
  const text = await renderImported(imported, file);
  verifyImported(text, imported, file);
  return { text, notes: imported.notes, summary: imported.summary };
}

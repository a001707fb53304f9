// `nslab import FILE` without the writing: the snapshot read through its schema (or a sos report read as one,
// sos.ts), made a lab, rendered, and the text checked as `validate` would.
import { statSync } from 'node:fs';
import { JsonFileError, UsageError } from '../errors.js';
import { checkSnapshot, readSnapshotFile } from './check.js';
import { renderImported } from './render.js';
import { atReport, isSosReport, readSosReport, SOS_NO_DECISIONS } from './sos.js';
import { snapshotToLab } from './to-lab.js';
import { verifyImported } from './verify.js';

export interface ImportOptions {
  /** A sos report's namespace to import (default: the host's own). */
  netns?: string;
  /** Ends the reading of a sos report's tarball (SIGINT/SIGTERM): its temporary directory is removed. */
  signal?: AbortSignal;
}

/** The lab file's text and the notes on what was left out; exit 2 for any problem, located in FILE. */
export async function importFile(
  file: string,
  opts: ImportOptions = {},
): Promise<{ text: string; notes: string[]; summary: string }> {
  let isDir = false;
  try {
    isDir = statSync(file).isDirectory();
  } catch {
    /* said by the reader */
  }
  if (!isSosReport(file, isDir)) {
    if (opts.netns !== undefined)
      throw new UsageError('--netns is for a sos report (its folder or tarball), not a snapshot file');
    const imported = snapshotToLab(readSnapshotFile(file), file);
    const text = await renderImported(imported, file);
    verifyImported(text, imported, file);
    return { text, notes: imported.notes, summary: imported.summary };
  }
  const sos = await readSosReport(file, opts.netns, opts.signal);
  try {
    const snap = checkSnapshot(sos.snap, file);
    const notes = [...sos.notes];
    if (sos.others.length)
      notes.unshift({
        note: `the report also holds namespace${sos.others.length === 1 ? '' : 's'} ${sos.others.join(', ')}: import one with --netns NAME`,
      });
    const imported = snapshotToLab(snap, file, { notes, noDecisions: SOS_NO_DECISIONS });
    const text = await renderImported(imported, file);
    verifyImported(text, imported, file);
    return { text, notes: imported.notes, summary: imported.summary };
  } catch (e) {
    if (e instanceof JsonFileError) throw atReport(e, sos.where, file);
    throw e;
  }
}

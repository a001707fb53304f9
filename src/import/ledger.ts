// What the mapping from a snapshot to a lab writes down as it goes, beside the lab itself: a note for each part of the
// snapshot it leaves out (nslab import prints the notes and heads the lab file with them), and for each part of the
// lab the part of the snapshot it was made from (an Origin), so that a lab nslab refuses names what in the snapshot
// gave it (verify.ts). Both keep the order they were written in: the notes are printed in it, and verify.ts takes the
// last origin written for a place.

export type Path = (string | number)[];

/**
 * A part of the lab (at its path in the lab) made from a part of the snapshot (at its JSON path), and what that part
 * is.
 */
export interface Origin {
  at: Path;
  from: Path;
  what: string;
}

/** A note said also at the place in the lab where what it is about would have been (a comment there). */
export interface Placed {
  /** The list (or map) in the lab it belongs to, and the index it would have had in a list. */
  at: Path;
  index?: number;
  note: string;
}

/** What the summary line counts as left out. */
export type LeftOutKind = 'address' | 'route' | 'rule' | 'interface' | 'sysctl' | 'decision';

/** The notes and origins of one import, appended to by each part of the mapping in turn. */
export interface Ledger {
  notes: string[];
  origins: Origin[];
  /** Notes that also belong at a place of the lab. */
  placed: Placed[];
  /** How many of each kind were left out (the summary line). */
  leftOut: Partial<Record<LeftOutKind, number>>;
}

export const newLedger = (): Ledger => ({ notes: [], origins: [], placed: [], leftOut: {} });

/** Something of the snapshot the lab does not hold: a note, counted, and said at AT in the lab when given. */
export function leaveOut(ledger: Ledger, kind: LeftOutKind, note: string, at?: Omit<Placed, 'note'>): void {
  ledger.notes.push(note);
  ledger.leftOut[kind] = (ledger.leftOut[kind] ?? 0) + 1;
  if (at) ledger.placed.push({ ...at, note });
}

/** What a route or a rule of the snapshot becomes when the lab cannot hold it: why, as a note. */
export interface Note {
  note: string;
}

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

/** The notes and origins of one import, appended to by each part of the mapping in turn. */
export interface Ledger {
  notes: string[];
  origins: Origin[];
}

/** What a route or a rule of the snapshot becomes when the lab cannot hold it: why, as a note. */
export interface Note {
  note: string;
}

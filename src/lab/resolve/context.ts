// What every part of resolving shares: the file being resolved (for positions), the problems found so far,
// the node names, and each node's view (its interfaces, addresses and tables) as the lab evolves through its
// stages. Also the two readers every part uses on raw data: lenient() and asRecord().
import type { Problem } from '../../errors.js';
import type { NodeView } from '../iproute.js';
import type { LoadedFile, Path } from '../load.js';
import type { Source } from '../model.js';
import type { ApplySpecT, NodeSpecT } from '../schema.js';

/**
 * Where a node's settings are being resolved: the node, the settings' path in the file, the node's view as it
 * stands there, and whether they are its base settings (true) or a stage's apply.
 */
export interface ConfigScope {
  node: string;
  base: Path;
  view: NodeView;
  isBase: boolean;
}

/** A node's settings: its base ones, or a stage's apply to it. */
export type Settings = NodeSpecT | ApplySpecT;

export class ResolveContext {
  readonly raw: Record<string, unknown>;
  readonly nodeNames: Set<string>;
  /** Per node, every interface and its addresses as the lab evolves through stages. */
  readonly views = new Map<string, NodeView>();
  /** The node:interface that holds each address so far: every address in a lab is unique. */
  readonly addressOwner = new Map<string, string>();

  constructor(
    readonly loaded: LoadedFile,
    readonly problems: Problem[],
  ) {
    this.raw = asRecord(loaded.data);
    this.nodeNames = new Set(Object.keys(asRecord(this.raw.nodes)));
  }

  /**
   * Where a value stands. Looked up when first read (a problem, a step's error
   * message, a report): positions come from the slower YAML parser, which a
   * lab that comes up without errors then never needs (see load.ts).
   */
  at(path: Path, key = false): Source {
    const loaded = this.loaded;
    let p: { line: number; col: number } | undefined;
    const pos = () => (p ??= loaded.locate(path, key));
    return {
      file: loaded.file,
      get line() {
        return pos().line;
      },
      get col() {
        return pos().col;
      },
    };
  }

  problem(path: Path, message: string, hint?: string, key = false): void {
    this.problems.push({ ...this.at(path, key), message, ...(hint ? { hint } : {}) });
  }
}

/**
 * Parses what is valid of an item: keys the schema rejected (already reported)
 * are dropped one by one, so the meaning of the rest is still checked.
 */
export function lenient<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; code: string; keys?: string[] }[] } };
  },
  raw: unknown,
): T | undefined {
  const v: unknown = raw && typeof raw === 'object' && !Array.isArray(raw) ? { ...raw } : raw;
  for (let round = 0; round < 20; round++) {
    const r = schema.safeParse(v);
    if (r.success) return r.data;
    if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
    const obj = v as Record<string, unknown>;
    let dropped = false;
    for (const issue of r.error.issues) {
      const keys = issue.path.length
        ? [String(issue.path[0])]
        : issue.code === 'unrecognized_keys'
          ? (issue.keys ?? [])
          : [];
      for (const k of keys)
        if (k in obj) {
          delete obj[k];
          dropped = true;
        }
    }
    if (!dropped) return undefined;
  }
  return undefined;
}

export function asRecord(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

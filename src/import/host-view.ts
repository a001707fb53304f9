// The machine's node as the mapping of its routes and rules sees it: its name in the lab, the interfaces the lab
// keeps, its routing tables, and the NodeView lab/iproute.ts checks a route or a rule against (a route the lab would
// refuse is left out with a note, not written). A route or a rule of the snapshot names its table by number, by a
// name iproute2 knows (main, local, default) or by the machine's own name for it (the snapshot's `tables`: the names
// `ip` printed, paired with their numbers); the lab writes the number, or the machine's name where it makes a good lab
// name, declared in the node's `tables` when a route or a rule first uses it.
import { parseCidr, type Cidr } from '../lab/addr.js';
import { BUILTIN_TABLES, type NodeView } from '../lab/iproute.js';
import type { HostInterfaces } from './interfaces.js';
import type { Ledger } from './ledger.js';
import type { Snapshot } from './schema.js';

export interface HostView {
  /** The machine's node name. */
  host: string;
  /** The names of the interfaces the lab keeps. */
  kept: Set<string>;
  /** The number of the table a route or a rule of the snapshot names (main if none); undefined for a name unknown. */
  tableId: (t: string | undefined) => number | undefined;
  /** The word the lab writes for table ID (undefined for main), declaring the machine's name for it on first use. */
  tableWord: (id: number) => string | undefined;
  /** The names the lab declares (the node's `tables`), in the order of their first use. */
  tables: Record<string, number>;
  /** The node as the checks see it; its tables are those declared so far. */
  check: NodeView;
}

export function hostView(snap: Snapshot, host: string, { ifaces, lo }: HostInterfaces, ledger: Ledger): HostView {
  const byName = new Map(Object.entries(snap.tables).map(([id, n]) => [n, Number(id)]));
  const tableId = (t: string | undefined): number | undefined =>
    t === undefined ? 254 : /^\d+$/.test(t) ? Number(t) : (BUILTIN_TABLES[t] ?? byName.get(t));
  const tables: Record<string, number> = {};
  const check: NodeView = {
    interfaces: new Map([
      ['lo', [parseCidr('127.0.0.1/8')!, parseCidr('::1/128')!, ...lo.map((x) => x.cidr)]],
      ...ifaces.map((i) => [i.name, i.addresses] as [string, Cidr[]]),
    ]),
    tables: new Map(),
    down: new Set(ifaces.filter((i) => !i.up).map((i) => i.name)),
  };
  // a name the lab will declare is known to the checks from the route or rule that first uses it
  const tableWord = (id: number) => {
    if (id === 254) return undefined;
    const n = snap.tables[String(id)];
    if (n && /^[A-Za-z][A-Za-z0-9_-]*$/.test(n) && !(n in BUILTIN_TABLES) && (id < 253 || id > 255)) {
      if (!(n in tables))
        ledger.origins.push({ at: ['nodes', host, 'tables', n], from: ['tables', String(id)], what: `table ${id}` });
      tables[n] = id;
      check.tables.set(n, id);
      return n;
    }
    return id === 253 ? 'default' : String(id);
  };
  return { host, kept: new Set(ifaces.map((i) => i.name)), tableId, tableWord, tables, check };
}

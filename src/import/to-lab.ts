// A checked snapshot -> a lab (pure: the caller reads and writes the files). The lab holds the machine as a node with
// its addresses, routes, rules and sysctls exactly (host.ts, and the file of each part), for each interface a router
// holding the gateway addresses the machine's routes use on that subnet and a client beyond it, the routers joined by a
// core router (surroundings.ts), and tests that a reply to each address of the machine leaves through the interface
// the request came in on (tests.ts). What the lab cannot hold is left out with a note; every part of the lab remembers
// the part of the snapshot it was made from (ledger.ts), so that a lab nslab refuses names what in the snapshot gave
// it (verify.ts).
import { LAB_NAME } from '../lab/grammar.js';
import { hostNode } from './host.js';
import { hostInterfaces } from './interfaces.js';
import { leaveOut, newLedger, type Ledger, type LeftOutKind } from './ledger.js';
import { nodeName } from './names.js';
import type { Snapshot } from './schema.js';
import { surroundings } from './surroundings.js';
import { decisionTests, replyTests } from './tests.js';

export type { Origin, Path } from './ledger.js';

export interface Imported extends Ledger {
  lab: Record<string, unknown>;
  host: string;
  /** One line: the addresses, routes and rules imported, and what was left out. */
  summary: string;
}

/** What the source of a snapshot (a sos report, sos.ts) did not hold, said before the mapping's own notes. */
export interface SourceNotes {
  notes: { kind?: LeftOutKind; note: string }[];
  /** Why the snapshot has no recorded decisions, for the summary line. */
  noDecisions: string;
}

/**
 * The lab of a checked snapshot; FILE names the snapshot in errors (the snapshot's own problems are checkSnapshot's).
 */
export function snapshotToLab(snap: Snapshot, file = 'the snapshot', source?: SourceNotes): Imported {
  const ledger = newLedger();
  for (const n of source?.notes ?? [])
    if (n.kind) leaveOut(ledger, n.kind, n.note);
    else ledger.notes.push(n.note);
  const host = nodeName(snap.name, 'host');
  const coreName = host === 'core' ? 'core-2' : 'core';
  // refused here, before anything is made, if no lab can be made of the snapshot
  const machine = hostInterfaces(snap, file, ledger);
  const { node, stage: stageRoutes, gateways, offLink, view } = hostNode(snap, host, machine, ledger);
  const { routers, core, nodes, links } = surroundings(host, coreName, machine, gateways, ledger);
  const replies = replyTests(host, routers, offLink, ledger);
  const tests = [...replies, ...decisionTests(snap, host, view, ledger, replies.length)];
  const labName = `${host}-import`.slice(0, 32).replace(/-+$/, '');
  const lab: Record<string, unknown> = {
    name: LAB_NAME.test(labName) ? labName : 'imported-host',
    description:
      `Made by nslab import from a snapshot of ${snap.name} (${snap.source}, taken ${snap.taken}): ${host} with its addresses, ` +
      'routes, rules and sysctls as they were; a router per interface holding the gateway addresses its routes use there, ' +
      `a client beyond each${core ? ', the routers joined by a core router' : ''}. ` +
      'The tests say that replies leave through the interface the request came in on' +
      (snap.decisions ? ', and that the host decides as the machine did (its recorded ip route get answers).' : '.'),
    nodes: { [host]: node, ...nodes },
    links,
    stages: [
      {
        name: 'as in the snapshot',
        ...(stageRoutes.length
          ? {
              description:
                "routes that take the place of the kernel's own subnet routes (a stage replaces, the base only adds)",
              apply: { [host]: { routes: stageRoutes } },
            }
          : {}),
        tests,
      },
    ],
  };
  const decided = tests.length - replies.length;
  return {
    lab,
    ...ledger,
    host,
    summary: summaryLine(node, stageRoutes, ledger, snap.decisions ? decided : undefined, source?.noDecisions),
  };
}

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : one.endsWith('s') ? 'es' : 's'}`;

/** What the host node holds, counted from the lab itself, and what was left out, by kind. */
function summaryLine(
  node: Record<string, unknown>,
  stageRoutes: string[],
  ledger: Ledger,
  decided: number | undefined,
  noDecisions = 'the snapshot has none',
): string {
  const ifs = Object.values((node.interfaces ?? {}) as Record<string, unknown>);
  const addresses = ifs.reduce<number>((n, i) => {
    const list = typeof i === 'string' ? [i] : Array.isArray(i) ? i : ((i as { addresses?: unknown }).addresses ?? []);
    return n + (Array.isArray(list) ? list.length : 1);
  }, 0);
  const routes = ((node.routes ?? []) as unknown[]).length + stageRoutes.length;
  const rules = ((node.rules ?? []) as unknown[]).length;
  const out = Object.entries(ledger.leftOut)
    .filter(([, n]) => n)
    .map(([k, n]) => plural(n, k));
  return (
    `imported ${plural(addresses, 'address')}, ${plural(routes, 'route')}, ${plural(rules, 'rule')}, ` +
    (decided === undefined
      ? `no recorded decisions (${noDecisions}); `
      : `${plural(decided, 'recorded decision')} as route tests; `) +
    `left out: ${out.length ? out.join(', ') : 'nothing'}`
  );
}

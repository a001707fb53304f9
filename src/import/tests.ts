// The lab's tests, in its first stage: a reply to each address of the machine leaves through the interface the
// request came in on (`reply-via`), pinged from the client beyond that interface's router, or from the router itself
// where no route of the machine in that family leads off its subnets (only its neighbours could reach it). No test for
// an interface that was down, nor for an address whose router has none of its family.
import { parseCidr, type Family } from '../lab/addr.js';
import type { HostView } from './host-view.js';
import type { Ledger } from './ledger.js';
import { said, type Snapshot } from './schema.js';
import type { Router } from './surroundings.js';

export function replyTests(
  host: string,
  routers: Router[],
  offLink: Record<Family, boolean>,
  ledger: Ledger,
): Record<string, unknown>[] {
  const tests: Record<string, unknown>[] = [];
  for (const r of routers) {
    if (!r.iface.up) {
      ledger.notes.push(`${r.iface.name} is down: no test for its addresses`);
      continue;
    }
    r.iface.addresses.forEach((a, j) => {
      // an address alone on its subnet (/32, /128, a point-to-point one): no router stands beside it
      if (a.prefix === (a.family === 4 ? 32 : 128)) {
        ledger.notes.push(`no reply test for ${a.text} on ${r.iface.name}: no router can be on its subnet`);
        return;
      }
      const routerHas = r.lan.some(
        (x) => parseCidr(x)!.family === a.family && !parseCidr(x)!.address.startsWith('fe80'),
      );
      if (!routerHas) return;
      // where the machine has no route off its subnets in this family, only its neighbours can reach it
      const from = offLink[a.family] ? r.client : r.gw;
      const what = `this address of interface ${said(r.iface.name)}`;
      ledger.origins.push({ at: ['stages', 0, 'tests', tests.length], from: r.iface.from[j]!, what });
      tests.push({
        name: `replies to ${a.address} leave through ${r.iface.name}${from === r.gw ? ` (from ${r.iface.name}'s subnet: no IPv${a.family} route leads off it)` : ''}`,
        ping: { from, to: a.address, count: 2 },
        expect: { 'reply-via': `${host}:${r.iface.name}` },
      });
    });
  }
  return tests;
}

/**
 * The host kernel's recorded decisions (the snapshot's `decisions`, decisions.ts) as route tests of the host node:
 * the lab decides as the host did. A decision that names an interface the lab does not keep is left out and counted.
 */
export function decisionTests(
  snap: Snapshot,
  host: string,
  hv: Pick<HostView, 'kept' | 'tableId' | 'tables'>,
  ledger: Ledger,
  first: number,
): Record<string, unknown>[] {
  const tests: Record<string, unknown>[] = [];
  let skipped = 0;
  const inLab = (d: string | undefined) => d === undefined || d === 'lo' || hv.kept.has(d);
  (snap.decisions ?? []).forEach((d, n) => {
    const a = d.answer as {
      error?: string;
      type?: string;
      dev?: string;
      gateway?: string;
      prefsrc?: string;
      table?: string;
    };
    if (!inLab(d.iif) || !inLab(a.dev)) {
      skipped++;
      return;
    }
    const route: Record<string, unknown> = { node: host, to: d.to };
    const words: string[] = [`to ${d.to}`];
    for (const k of ['from', 'iif', 'mark', 'tos', 'uid', 'ipproto', 'sport', 'dport'] as const)
      if (d[k] !== undefined) {
        route[k] = d[k];
        words.push(`${k} ${String(d[k])}`);
      }
    const expect: Record<string, unknown> = {};
    if (a.error !== undefined) expect.reachable = false;
    else {
      expect.reachable = a.type !== 'unreachable';
      if (a.dev) expect.dev = a.dev;
      if (a.gateway) expect.via = a.gateway;
      if (a.prefsrc) expect.src = a.prefsrc;
      const id = hv.tableId(a.table);
      if (id !== undefined) {
        const named = Object.entries(hv.tables).find(([, v]) => v === id)?.[0];
        expect.table = BUILT_IN[id] ?? named ?? id;
      }
    }
    const answer = a.error !== undefined ? a.error.replace(/^RTNETLINK answers: /, '') : `dev ${a.dev ?? '-'}`;
    ledger.origins.push({
      at: ['stages', 0, 'tests', first + tests.length],
      from: ['decisions', n],
      what: 'this decision',
    });
    tests.push({ name: `decides as the host did: ${words.join(' ')} (${answer})`, route, expect });
  });
  if (skipped) {
    ledger.notes.push(`${skipped} recorded decision(s) left out: they name an interface the lab does not keep`);
    ledger.leftOut.decision = (ledger.leftOut.decision ?? 0) + skipped;
  }
  return tests;
}

const BUILT_IN: Record<number, string> = { 253: 'default', 254: 'main', 255: 'local' };

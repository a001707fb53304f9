// The lab's tests, in its first stage: a reply to each address of the machine leaves through the interface the
// request came in on (`reply-via`), pinged from the client beyond that interface's router, or from the router itself
// where no route of the machine in that family leads off its subnets (only its neighbours could reach it). No test for
// an interface that was down, nor for an address whose router has none of its family.
import { parseCidr, type Family } from '../lab/addr.js';
import type { Ledger } from './ledger.js';
import { said } from './schema.js';
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
      const routerHas = r.lan.some((x) => parseCidr(x)!.family === a.family);
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

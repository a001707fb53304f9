// The machine's sysctls as the host node's: those the machine changed (a lab node starts from the kernel's defaults, 0
// for every one a snapshot keeps), global or of an interface the lab keeps, that the lab format can hold (a key it
// knows, a whole number) and, with a note when not, that this kernel has.
import { existsSync } from 'node:fs';
import { SYSCTL_KEY } from '../lab/grammar.js';
import { leaveOut, type Ledger } from './ledger.js';
import type { Snapshot } from './schema.js';

export function hostSysctls(snap: Snapshot, host: string, kept: Set<string>, ledger: Ledger): Record<string, string> {
  const sysctl: Record<string, string> = {};
  for (const [k, v] of Object.entries(snap.sysctl)) {
    const m = /^net\.ipv4\.conf\.([^.]+)\./.exec(k);
    if (m && !['all', 'default'].includes(m[1]!) && !kept.has(m[1]!.replace(/\//g, '.'))) continue;
    // a lab node starts from the kernel's defaults, 0 for all of these: the others are what the machine changed
    if (!SYSCTL_KEY.test(k) || !/^\d+$/.test(v) || v === '0') continue;
    if (
      existsSync('/proc/sys/net') &&
      !existsSync(`/proc/sys/${k.split('.').join('/')}`.replace(/\/conf\/(?!all|default)[^/]+\//, '/conf/default/'))
    ) {
      leaveOut(ledger, 'sysctl', `sysctl ${k} left out: this kernel does not have it`);
      continue;
    }
    sysctl[k] = v;
    ledger.origins.push({ at: ['nodes', host, 'sysctl', k], from: ['sysctl', k], what: 'this sysctl' });
  }
  return sysctl;
}

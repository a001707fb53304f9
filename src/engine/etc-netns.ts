// Table names inside nodes, without writing the host's /etc/iproute2.
// `ip netns exec NS` and `ip -n NS` bind-mount every entry of /etc/netns/NS/
// over /etc/ in a mount namespace of their own, and iproute2 6.1 reads table
// names from /etc/iproute2 only (rt_tables, then rt_tables.d/*.conf). So a
// node with tables gets /etc/netns/NS/iproute2/rt_tables: `ip route show
// table gateway1` works in `nslab exec`/`shell`, services and exec probes.
// That directory hides the whole of the host's /etc/iproute2 from the node:
// the host's other name files (protocols, realms, dsfield, groups) are copied
// in, so they read as on the host; its table names are not (the lab's are).
//
// /etc/netns is outside the state directory: only nslab's own namespaces'
// entries are made (recorded first, in the lab's state), and down, a failed
// up's unwinding and cleanup remove them. /etc/netns itself, if nslab made it,
// is removed once empty (a marker in the state directory remembers that).
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { parseNsName } from '../plan/names.js';
import type { TableNames } from '../plan/table-names.js';
import { stateDir } from './state.js';

export const ETC_NETNS = '/etc/netns';
const HOST_IPROUTE2 = '/etc/iproute2';
const marker = () => join(stateDir(), 'etc-netns-made');

/** The directory of one of nslab's namespaces; refuses any other name (it is about to be written or removed). */
export function etcDirOf(ns: string): string {
  if (!parseNsName(ns)) throw new Error(`internal: '${ns}' is no namespace of nslab's`);
  return join(ETC_NETNS, ns);
}

export function etcExists(ns: string): boolean {
  try {
    lstatSync(etcDirOf(ns));
    return true;
  } catch {
    return false;
  }
}

/**
 * Creates /etc/netns/NS/iproute2 with the node's rt_tables. The NS directory is
 * made without `recursive`, so one that exists (someone else's) is never written
 * into: that is reported as taken. `made` is called as soon as it exists, so a
 * failure filling it still unwinds it. `root`: the root of another mount
 * namespace's view, seen from here (/proc/PID/root of a rootless lab's holder,
 * whose /etc/netns is its own and goes with it: no marker).
 */
export function writeTableNames(t: TableNames, made: () => void, root = ''): void {
  const dir = root + etcDirOf(t.ns);
  for (let attempt = 0; ; attempt++) {
    try {
      mkdirSync(root + ETC_NETNS, { mode: 0o755 });
      if (!root) writeFileSync(marker(), `${ETC_NETNS} was made by nslab; removed once empty\n`, { mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    try {
      mkdirSync(dir, { mode: 0o755 });
      made();
      break;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EEXIST')
        throw new UsageError(
          `${dir} already exists: nslab did not make it`,
          'remove it if it is a leftover of yours; nslab writes only directories it creates',
        );
      if (code !== 'ENOENT' || attempt > 3) throw e; // another lab's down removed an empty /etc/netns meanwhile: make it again
    }
  }
  const ip2 = join(dir, 'iproute2');
  mkdirSync(ip2, { mode: 0o755 });
  for (const f of hostNameFiles()) copyFileSync(join(HOST_IPROUTE2, f), join(ip2, f));
  writeFileSync(join(ip2, 'rt_tables'), t.text, { mode: 0o644 });
}

/** The host's regular files in /etc/iproute2 other than its table names. */
function hostNameFiles(): string[] {
  try {
    return readdirSync(HOST_IPROUTE2).filter((f) => f !== 'rt_tables' && lstatSync(join(HOST_IPROUTE2, f)).isFile());
  } catch {
    return [];
  }
}

/** Removes /etc/netns/NS (not following links), then /etc/netns if nslab made it and it is now empty. */
export function removeTableNames(ns: string): void {
  const dir = etcDirOf(ns);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory()) rmSync(dir, { recursive: true, force: true });
  if (existsSync(marker())) {
    try {
      rmdirSync(ETC_NETNS);
      // a lab coming up meanwhile may have made it again (and marked it): the marker stays with the directory
      if (!existsSync(ETC_NETNS)) rmSync(marker(), { force: true });
    } catch {
      /* not empty: another lab's names are there */
    }
  }
}

/** Entries of /etc/netns that look like nslab's (for cleanup's report of what no record explains). */
export function listEtcNetns(): string[] {
  try {
    return readdirSync(ETC_NETNS).filter((n) => parseNsName(n));
  } catch {
    return [];
  }
}

import { listStates, ownerAlive, type LabState } from '../engine/state.js';
import { holderAlive } from '../engine/holder.js';
import { allUsersLabs } from './all-users.js';

function age(iso: string): string {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** A rootless lab whose holder ended is gone, whatever its record says (src/engine/holder.ts). */
/** Rows as columns padded to their widest cell, the first row the header. */
function printTable(rows: string[][]): void {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  process.stdout.write(
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(w[i]!))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
}

function statusOf(s: LabState): string {
  if (s.holder && !holderAlive(s.holder)) return 'gone (holder ended: nslab cleanup)';
  if (s.status !== 'up' && !ownerAlive(s)) return `${s.status} (owner gone: nslab cleanup)`;
  return s.status;
}

export async function run(opts: { json?: boolean; allUsers?: boolean }): Promise<number> {
  if (opts.allUsers) return allUsers(opts.json);
  const states = listStates();
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        states.map((s) => ({
          ...s,
          ownerAlive: ownerAlive(s),
          ...(s.holder ? { holderAlive: holderAlive(s.holder) } : {}),
        })),
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  if (!states.length) {
    process.stdout.write('no labs are up\n');
    return 0;
  }
  const rows = [['INSTANCE', 'STATUS', 'NODES', 'OWNER', 'AGE', 'LOGS']];
  for (const s of states) {
    const status = statusOf(s);
    rows.push([
      s.instance,
      status,
      s.namespaces.map((n) => n.node).join(','),
      s.holder ? `holder pid ${s.holder.pid}` : `pid ${s.owner.pid}`,
      age(s.createdAt),
      s.services.length ? s.logDir : '-',
    ]);
  }
  printTable(rows);
  return 0;
}

/** `ls --all-users`: root's labs, then every user's, with a USER column. */
function allUsers(json?: boolean): number {
  const others = allUsersLabs();
  const mine = listStates().map((state) => ({
    user: 'root',
    uid: 0,
    state,
    holderAlive: undefined as boolean | undefined,
  }));
  const all = [...mine, ...others];
  if (json) {
    process.stdout.write(
      JSON.stringify(
        all.map((x) => ({
          user: x.user,
          uid: x.uid,
          ...x.state,
          ...(x.state.holder ? { holderAlive: x.holderAlive } : {}),
        })),
        null,
        2,
      ) + '\n',
    );
    return 0;
  }
  if (!all.length) {
    process.stdout.write('no labs are up\n');
    return 0;
  }
  const rows = [['USER', 'INSTANCE', 'STATUS', 'NODES', 'OWNER', 'AGE']];
  for (const { user, state: s, holderAlive: alive } of all)
    rows.push([
      user,
      s.instance,
      s.holder && !alive ? 'gone (holder ended)' : s.holder ? s.status : statusOf(s),
      s.namespaces.map((n) => n.node).join(','),
      s.holder ? `holder pid ${s.holder.pid}` : `pid ${s.owner.pid}`,
      age(s.createdAt),
    ]);
  printTable(rows);
  return 0;
}

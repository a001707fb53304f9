import { listStates, ownerAlive } from '../engine/state.js';

function age(iso: string): string {
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export async function run(opts: { json?: boolean }): Promise<number> {
  const states = listStates();
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        states.map((s) => ({ ...s, ownerAlive: ownerAlive(s) })),
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
    const status = s.status !== 'up' && !ownerAlive(s) ? `${s.status} (owner gone: nslab cleanup)` : s.status;
    rows.push([
      s.instance,
      status,
      s.namespaces.map((n) => n.node).join(','),
      `pid ${s.owner.pid}`,
      age(s.createdAt),
      s.services.length ? s.logDir : '-',
    ]);
  }
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
  return 0;
}

// route: what the kernel would do (`ip -j route get`), no traffic.
import { BUILTIN_TABLES, ipprotoNumber, tableIdOf, tableNameOf } from '../lab/iproute.js';
import type { ExpectT } from '../lab/schema.js';
import { check, type Probe } from './types.js';

interface RouteSpec {
  node: string;
  to: string;
  from?: string;
  iif?: string;
  oif?: string;
  mark?: string | number;
  tos?: string | number;
  dsfield?: string | number;
  uid?: number;
  ipproto?: string;
  sport?: number;
  dport?: number;
}

export interface RouteGet {
  dst?: string;
  dev?: string;
  gateway?: string;
  prefsrc?: string;
  table?: string;
  type?: string;
}

/**
 * Pure: `ip -j route get` output -> the route; table as a number string. ip
 * omits the table for main and prints the built-in ones by name ("local").
 */
export function parseRouteGet(stdout: string): RouteGet | undefined {
  const r = (JSON.parse(stdout || '[]') as RouteGet[])[0];
  if (!r) return undefined;
  return { ...r, table: tableIdOf(r.table) };
}

export const route: Probe = async ({ lab, model, test }) => {
  const s = test.spec as unknown as RouteSpec;
  const argv = ['ip', '-j', 'route', 'get', s.to];
  // a protocol as its number: iproute2 reads names from /etc/protocols, which minimal images lack
  for (const k of ['from', 'iif', 'oif', 'mark', 'tos', 'dsfield', 'uid', 'ipproto', 'sport', 'dport'] as const)
    if (s[k] !== undefined) argv.push(k, k === 'ipproto' ? ipprotoNumber(String(s[k])) : String(s[k]));
  const r = await lab.exec(s.node, argv);
  const got = r.exitCode === 0 ? parseRouteGet(r.stdout) : undefined;
  const judge = (e: ExpectT) => {
    const checks = [];
    const observed = (v: string | undefined) => (got ? (v ?? '(none)') : `no route: ${r.stderr.trim()}`);
    if (e.reachable !== undefined) checks.push(check('reachable', e.reachable, !!got && got.type !== 'unreachable'));
    if (e.dev !== undefined) checks.push(check('dev', e.dev, observed(got?.dev)));
    if (e.via !== undefined) checks.push(check('via', e.via, observed(got?.gateway)));
    if (e.src !== undefined) checks.push(check('src', e.src, observed(got?.prefsrc)));
    if (e.table !== undefined) {
      const node = model.nodes.find((n) => n.name === s.node)!;
      const tables: Record<string, number> = { ...BUILTIN_TABLES, ...node.tables };
      const want =
        typeof e.table === 'number'
          ? String(e.table)
          : /^\d+$/.test(e.table)
            ? e.table
            : String(tables[e.table] ?? e.table);
      checks.push(
        check('table', e.table, got ? tableNameOf(node.tables, got.table!) : observed(undefined), got?.table === want),
      );
    }
    return checks;
  };
  return { checks: judge(test.expect), judge, facts: { route: got ? JSON.stringify(got) : r.stderr.trim() } };
};

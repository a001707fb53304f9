// A sos report (sos 4.x, its networking plugin) as a snapshot: the same objects `nslab snapshot` writes, read from the
// text iproute2 printed when sos ran (iproute-text.ts), so that to-lab.ts makes the same lab of it. What sos 4.x saves
// (sos/report/plugins/networking.py; the file name is the command with spaces and slashes made '_' and '.'):
//   sos_commands/networking/ip_-d_address, ip_route_show_table_all (both families with iproute2 6.x),
//   ip_-6_route_show_table_all, ip_-4_rule and ip_-6_rule (sos >= 4.5: ip_-4_rule_list, ip_-6_rule_list);
//   for each namespace `ip netns` lists: ip_netns_exec_NS_ip_address_show and ip_netns_exec_NS_ip_route_show_table_all
//   (sos 4.0-4.4, no rules, no IPv6-only route file), or namespaces/NS/ip_netns_exec_NS_ip_-d_address_show,
//   ..._ip_route_show_table_all, ..._ip_-4_rule_list, ..._ip_-6_rule_list and ..._sysctl_-a (sos >= 4.5);
//   etc/iproute2/rt_tables (the table names), sos_commands/kernel/sysctl_-a (the kernel plugin, when it ran).
// A sos report has no answers of `ip route get`: the lab has no recorded decisions, and says so. Every problem is a
// LabFileError at the file inside the report and its line; a problem found later (by the schema, by to-lab.ts or
// verify.ts, at a JSON path of the snapshot made here) is said at the line that path came from.
import type { JsonFileError } from '../errors.js';
import { LabFileError, type Problem } from '../errors.js';
import type { Family } from '../lab/addr.js';
import {
  lineFamily,
  parseAddresses,
  parseRoutes,
  parseRtTables,
  parseRules,
  parseSysctls,
  type Parsed,
  type TextProblem,
} from './iproute-text.js';
import type { LeftOutKind } from './ledger.js';
import { SNAPSHOT_VERSION, type Snapshot } from './schema.js';
import { openReport, type Report } from './sos-report.js';

/** Where a part of the snapshot came from: the file in the report and its line. */
interface Source {
  file: string;
  line: number;
}

export interface SosSnapshot {
  snap: Snapshot;
  /** A JSON path of the snapshot (as JSON.stringify of its steps as strings) -> where in the report it came from. */
  where: Map<string, Source>;
  /** What the report does not hold, said as notes (kind: counted as left out). */
  notes: { kind?: LeftOutKind; note: string }[];
  /** The report's namespaces other than the one read. */
  others: string[];
}

const NO_DECISIONS =
  "a sos report holds no answers of 'ip route get': the lab has no tests that it decides as the host did " +
  "(run 'nslab snapshot' on the host for them)";
export const SOS_NO_DECISIONS = 'a sos report has none';

/** Whether PATH is a sos report rather than a snapshot file: a folder, or a tarball by its name. */
export const isSosReport = (path: string, isDir: boolean): boolean =>
  isDir || /\.(tar(\.(xz|gz|bz2|zst|lz4|lzma))?|t[gx]z|tbz2?)$/i.test(path);

const NET = 'sos_commands/networking/';

/** The names of the files of one namespace (undefined: the host's own) in a report whose top is TOP. */
function filesOf(top: string, files: Set<string>, ns: string | undefined) {
  const pick = (...names: string[]) => names.map((n) => top + n).find((p) => files.has(p));
  if (ns === undefined)
    return {
      addr: pick(`${NET}ip_-d_address`, `${NET}ip_address`),
      routes: pick(`${NET}ip_route_show_table_all`),
      routes6: pick(`${NET}ip_-6_route_show_table_all`),
      rules4: pick(`${NET}ip_-4_rule`, `${NET}ip_-4_rule_list`),
      rules6: pick(`${NET}ip_-6_rule`, `${NET}ip_-6_rule_list`),
      sysctl: pick('sos_commands/kernel/sysctl_-a'),
    };
  const p = (cmd: string) => [`${NET}namespaces/${ns}/ip_netns_exec_${ns}_${cmd}`, `${NET}ip_netns_exec_${ns}_${cmd}`];
  return {
    addr: pick(...p('ip_-d_address_show'), ...p('ip_address_show')),
    routes: pick(...p('ip_route_show_table_all')),
    routes6: pick(...p('ip_-6_route_show_table_all')),
    rules4: pick(...p('ip_-4_rule_list'), ...p('ip_-4_rule')),
    rules6: pick(...p('ip_-6_rule_list'), ...p('ip_-6_rule')),
    sysctl: pick(...p('sysctl_-a')),
  };
}

/** The report's top (the folder holding sos_commands/), and the namespaces it holds files of. */
function layout(report: Report): { top: string; namespaces: string[] } {
  const tops = new Set<string>();
  for (const f of report.files) {
    const m = /^(.*?)sos_commands\/networking\/[^/]+$/.exec(f);
    if (m && (m[1] === '' || m[1]!.endsWith('/'))) tops.add(m[1]!);
  }
  if (tops.size !== 1)
    throw new LabFileError([
      {
        file: report.given,
        line: 1,
        col: 1,
        message: tops.size
          ? `more than one sos report in it (${[...tops].map((t) => t || '.').join(', ')})`
          : 'not a sos report with its networking plugin: no sos_commands/networking/ in it',
        hint: tops.size
          ? 'give one report (its folder or its tarball)'
          : "make one on the host with 'sos report --batch --only-plugins networking' (Debian's sosreport package)",
      },
    ]);
  const top = [...tops][0]!;
  const namespaces = new Set<string>();
  for (const f of report.files) {
    const rel = f.slice(top.length);
    const m = /^sos_commands\/networking\/(?:namespaces\/[^/]+\/)?ip_netns_exec_(.+)_ip_(?:-d_)?address_show$/.exec(
      rel,
    );
    if (m) namespaces.add(m[1]!);
  }
  return { top, namespaces: [...namespaces].sort() };
}

/** Reads the sos report at GIVEN (a folder or a tarball) as a snapshot of the namespace NETNS (default: the host's). */
export async function readSosReport(given: string, netns?: string, signal?: AbortSignal): Promise<SosSnapshot> {
  const report = await openReport(given, signal);
  try {
    return await fromReport(report, netns);
  } finally {
    report.close();
  }
}

async function fromReport(report: Report, netns: string | undefined): Promise<SosSnapshot> {
  const { top, namespaces } = layout(report);
  const shown = (p: string) => `${report.given}/${p.slice(top.length)}`.replace(/\/\/+/g, '/');
  const listed = namespaces.length ? `its namespaces: ${namespaces.join(', ')}` : 'it holds no other namespace';
  if (netns !== undefined && !namespaces.includes(netns))
    throw new LabFileError([
      {
        file: report.given,
        line: 1,
        col: 1,
        message: `the report has no namespace '${netns}' (${listed})`,
        hint: 'name one of those with --netns, or leave --netns out for the host itself',
      },
    ]);
  const f = filesOf(top, report.files, netns);
  if (!f.addr)
    throw new LabFileError([
      {
        file: report.given,
        line: 1,
        col: 1,
        message: `no ip address output in the report${netns ? ` for namespace '${netns}'` : ''}`,
        hint: "sos's networking plugin saves it: make the report with 'sos report --only-plugins networking'",
      },
    ]);
  const tableFiles = [...report.files].filter((p) =>
    new RegExp(`^${escape(top)}etc/iproute2/(rt_tables|rt_tables\\.d/[^/]+\\.conf)$`).test(p),
  );
  const manifest = `${top}sos_reports/manifest.json`;
  const hostnameFile = `${top}etc/hostname`;
  // one read (a tarball: one extraction) for every file import reads
  const extra = [manifest, hostnameFile].filter((p) => report.files.has(p));
  const wanted = [f.addr, f.routes, f.routes6, f.rules4, f.rules6, f.sysctl, ...tableFiles, ...extra].filter(
    (p): p is string => !!p,
  );
  const text = await report.read(wanted);
  const problems: Problem[] = [];
  const where = new Map<string, Source>();
  const notes: SosSnapshot['notes'] = [];
  const at = (path: (string | number)[], file: string, line: number) =>
    where.set(JSON.stringify(path.map(String)), { file: shown(file), line });
  const take = <T>(file: string, p: Parsed<T>) => {
    for (const x of p.problems) problems.push(located(shown(file), x));
    return p.items;
  };

  const addresses = take(f.addr, parseAddresses(text.get(f.addr)!));
  addresses.forEach(({ line }, i) => at(['addresses', i], f.addr!, line));
  // each address line: its own place (the parser keeps their order)
  addressLines(text.get(f.addr)!).forEach((lines, i) =>
    lines.forEach((l, j) => at(['addresses', i, 'addr_info', j], f.addr!, l)),
  );

  const routes: Record<Family, unknown[]> = { 4: [], 6: [] };
  const six = f.routes6 ? take(f.routes6, parseRoutes(text.get(f.routes6)!)) : [];
  six.forEach(({ item, line }) => {
    at(['routes', 6, routes[6].length], f.routes6!, line);
    routes[6].push(item);
  });
  if (f.routes) {
    const all = take(f.routes, parseRoutes(text.get(f.routes)!));
    // iproute2 6.x prints both families for `ip route show table all`: the IPv6 routes are the -6 file's
    const sixKeys = six.map(({ item }) => JSON.stringify(item));
    for (const { item, line } of all) {
      const fam = lineFamily(item);
      const k = sixKeys.indexOf(JSON.stringify(item));
      if (f.routes6 && k >= 0 && fam !== 4) {
        sixKeys[k] = '';
        continue;
      }
      if (fam === 6 && f.routes6) {
        problems.push({
          file: shown(f.routes),
          line,
          col: 1,
          message: 'an IPv6 route that ip -6 route show table all (in the same report) does not have',
          hint: HINT_AGREE,
        });
        continue;
      }
      const family = fam ?? (f.routes6 ? 4 : undefined);
      if (family === undefined) {
        notes.push({
          kind: 'route',
          note: `route '${String(item.dst)}' (${shown(f.routes)}:${line}) left out: it names no address, and this report has no ip -6 route file to tell its family`,
        });
        continue;
      }
      at(['routes', family, routes[family].length], f.routes, line);
      routes[family].push(item);
    }
  } else
    notes.push({
      note: `the report has no ip route show table all${netns ? ` for namespace '${netns}'` : ''}: no IPv4 routes imported`,
    });
  if (!f.routes6)
    notes.push({
      note: `the report has no ip -6 route show table all${netns ? ` for namespace '${netns}' (sos saves none for a namespace)` : ''}: IPv6 routes are those of ip route show table all`,
    });

  const rules: Record<Family, unknown[]> = { 4: [], 6: [] };
  for (const [fam, file] of [
    [4, f.rules4],
    [6, f.rules6],
  ] as const) {
    if (!file) {
      notes.push({
        note: `the report has no ip -${fam} rule${netns ? ` for namespace '${netns}' (sos before 4.5 saves none for a namespace)` : ''}: the lab has no IPv${fam} rules of the host, and may decide otherwise`,
      });
      continue;
    }
    take(file, parseRules(text.get(file)!, fam)).forEach(({ item, line }) => {
      at(['rules', fam, rules[fam].length], file, line);
      rules[fam].push(item);
    });
  }

  const tables: Record<string, string> = {};
  for (const file of tableFiles)
    for (const {
      item: [id, name],
    } of take(file, parseRtTables(text.get(file)!)))
      if (!['local', 'main', 'default', 'unspec'].includes(name) && id !== '0') tables[id] = name;
  // a name iproute2 printed for a table must be one the report's rt_tables gives (else its number is unknown)
  const sysctl: Record<string, string> = {};
  if (f.sysctl)
    for (const { item, line } of take(f.sysctl, parseSysctls(text.get(f.sysctl)!))) {
      sysctl[item[0]] = item[1];
      at(['sysctl', item[0]], f.sysctl, line);
    }
  else
    notes.push({
      note: `the report has no sysctl -a${netns ? ` for namespace '${netns}'` : " (sos's kernel plugin saves it)"}: the lab's sysctls are the kernel's defaults`,
    });
  notes.push({ note: NO_DECISIONS });

  if (problems.length) throw new LabFileError(problems.slice(0, 50));
  let taken = 'the time sos ran';
  let version = '';
  if (text.has(manifest)) {
    try {
      const m = JSON.parse(text.get(manifest)!) as Record<string, unknown>;
      if (typeof m.start_time === 'string' && /^[\d: .-]+$/.test(m.start_time)) taken = m.start_time;
      if (typeof m.version === 'string' && /^[\w.-]+$/.test(m.version)) version = ` ${m.version}`;
    } catch {
      /* the manifest is for humans here: the time is said as unknown */
    }
  }
  let name = /sosreport-([A-Za-z0-9-]+?)-\d{4}-\d{2}-\d{2}/.exec(top)?.[1] ?? 'sos-host';
  if (text.has(hostnameFile)) {
    const h = text.get(hostnameFile)!.trim();
    if (/^[A-Za-z0-9.-]{1,253}$/.test(h)) name = h;
  }
  const snap = {
    'nslab-snapshot': SNAPSHOT_VERSION,
    taken,
    name: netns ?? name,
    source: `sos${version} report ${report.given}${netns ? `, namespace ${netns}` : ''}`,
    links: addresses.map(({ item }) => ({ ifname: item.ifname })),
    addresses: addresses.map(({ item }) => item),
    routes,
    rules,
    tables,
    sysctl,
  } as unknown as Snapshot;
  return { snap, where, notes, others: namespaces.filter((n) => n !== netns) };
}

const HINT_AGREE = "the report's files do not agree: make the report again, unchanged";

function located(file: string, p: TextProblem): Problem {
  return {
    file,
    line: p.line,
    col: p.col,
    message: p.message,
    hint: 'this is not what iproute2 prints: make the report again with sos, unchanged (or report it to nslab if it is)',
  };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The line numbers of each interface's inet/inet6 lines, in order (the parser's addr_info order). */
function addressLines(text: string): number[][] {
  const out: number[][] = [];
  text.split('\n').forEach((l, n) => {
    if (/^\d+: /.test(l)) out.push([]);
    else if (/^\s+inet6? /.test(l) && out.length) out.at(-1)!.push(n + 1);
  });
  return out;
}

/** A JsonFileError about the snapshot made of a report, said at the lines of the report its paths came from. */
export function atReport(e: JsonFileError, where: Map<string, Source>, given: string): LabFileError {
  return new LabFileError(
    e.problems.map((p) => {
      for (let n = p.path.length; n > 0; n--) {
        const s = where.get(JSON.stringify(p.path.slice(0, n).map(String)));
        if (s) return { file: s.file, line: s.line, col: 1, message: p.message, hint: p.hint ?? e.hint };
      }
      return { file: given, line: 1, col: 1, message: p.message, hint: p.hint ?? e.hint };
    }),
  );
}

// The host kernel's own decisions, recorded by `nslab snapshot` beside its configuration (issue 18): `ip route get`
// for tuples derived from that configuration, so that `nslab import` can write them as route tests and `nslab test`
// proves that the lab decides as the host did. The tuples: every local source (and none) against a destination of
// each class the host routes (each route's destination, each rule's `to`, each gateway, each local address, the
// default), and each rule's selectors (mark, ports, uid range, iif with a source on its subnet, tos, protocol, its
// `from`) against those destinations; IPv4 and IPv6. At most MAX_DECISIONS, asked in one `ip -batch` process.
import { execFile } from 'node:child_process';
import ipaddr from 'ipaddr.js';
import { EnvironmentError } from '../errors.js';
import { inSubnet, networkOf, parseCidr, parsePrefix, type Cidr, type Family } from '../lab/addr.js';
import { ipprotoNumber } from '../lab/iproute.js';
import type { Decision, Snapshot } from './schema.js';

export const MAX_DECISIONS = 2000;

/** The selectors of one `ip route get`, as the route probe of a lab takes them. */
export interface Tuple {
  to: string;
  from?: string;
  iif?: string;
  mark?: string;
  tos?: string;
  uid?: number;
  ipproto?: string;
  sport?: number;
  dport?: number;
}

/** Where no route names a destination: one far from every private range, stood in for "the internet". */
const ELSEWHERE: Record<Family, string> = { 4: '203.0.113.77', 6: '2001:db8:ffff:ffff::77' };

/** An address inside PREFIX: the first after the network (the address itself for a host route or a /31, /127). */
function inside(prefix: Cidr): string {
  if (prefix.prefix >= (prefix.family === 4 ? 31 : 127)) return prefix.address;
  const bytes = ipaddr.parse(networkOf(prefix).split('/')[0]!).toByteArray();
  // at least two host bits: the network's last bit is 0
  bytes[bytes.length - 1] = bytes[bytes.length - 1]! | 1;
  return ipaddr.fromByteArray(bytes).toString();
}

/** An address on the subnet of C that the host does not own (a neighbour a packet can arrive from), if any. */
function neighbour(c: Cidr, owned: Set<string>): string | undefined {
  if (c.prefix >= (c.family === 4 ? 31 : 127)) return undefined;
  const first = inside(parseCidr(`${c.address}/${c.prefix}`)!);
  const bytes = ipaddr.parse(first).toByteArray();
  for (let k = 0; k < 8; k++) {
    const a = ipaddr.fromByteArray(bytes).toString();
    if (!owned.has(a) && inSubnet(a, c)) return a;
    bytes[bytes.length - 1] = bytes[bytes.length - 1]! + 1;
  }
  return undefined;
}

type Selectors = Omit<Tuple, 'to'>;

/** The tuples of a snapshot, in the order they are asked; at most MAX_DECISIONS, spread over all groups. */
export function decisionTuples(snap: Snapshot, max = MAX_DECISIONS): Tuple[] {
  const addrs: { cidr: Cidr; dev: string }[] = [];
  for (const l of snap.addresses)
    for (const a of l.addr_info ?? []) {
      if (a.scope !== 'global' || (a.family !== 'inet' && a.family !== 'inet6')) continue;
      const c = parseCidr(`${String(a.local)}/${String(a.prefixlen)}`);
      if (c) addrs.push({ cidr: c, dev: l.ifname });
    }
  const owned = new Set(addrs.map((a) => a.cidr.address));
  const groups: Tuple[][] = [];
  for (const fam of [4, 6] as const) {
    const dests = new Set<string>([ELSEWHERE[fam]]);
    const add = (p: string | undefined) => {
      if (!p || p === 'default' || p === 'all') return;
      const c = parsePrefix(p);
      if (c?.family === fam) dests.add(inside(c));
    };
    for (const r of snap.routes[fam]) {
      if (r.table === 'local' && r.protocol === 'kernel') continue;
      if (fam === 6 && /^(fe80|ff00):/.test(r.dst)) continue;
      add(r.dst);
      for (const g of [r.gateway, ...(r.nexthops ?? []).map((h) => h.gateway)]) if (g && !/^fe[89ab]/i.test(g)) add(g);
    }
    for (const r of snap.rules[fam]) add(r.dst && r.dstlen !== undefined ? `${r.dst}/${r.dstlen}` : r.dst);
    const own = addrs.filter((a) => a.cidr.family === fam);
    for (const a of own) dests.add(a.cidr.address);
    const to = [...dests];
    // every local source, and none (the kernel picks one)
    const sources: Selectors[] = [{}, ...own.map((a) => ({ from: a.cidr.address }))];
    for (const s of sources) groups.push(to.map((d) => ({ to: d, ...s })));
    // each rule's selectors, with a local source its `from` matches (or none)
    for (const r of snap.rules[fam]) {
      const sel: Selectors = {};
      if (r.fwmark !== undefined) sel.mark = r.fwmark;
      if (r.tos) sel.tos = r.tos;
      if (r.ipproto) sel.ipproto = ipprotoNumber(String(r.ipproto).replace(/^ipproto-(\d+)$/, '$1'));
      const sport = typeof r.sport === 'object' ? r.sport.start : (r.sport ?? r.sport_start);
      const dport = typeof r.dport === 'object' ? r.dport.start : (r.dport ?? r.dport_start);
      if (sport !== undefined) sel.sport = sport;
      if (dport !== undefined) sel.dport = dport;
      if ((sel.sport !== undefined || sel.dport !== undefined) && !sel.ipproto) sel.ipproto = '6';
      if (r.uid_start !== undefined) sel.uid = r.uid_start;
      const src =
        r.src && r.src !== 'all' ? parsePrefix(r.srclen !== undefined ? `${r.src}/${r.srclen}` : r.src) : undefined;
      if (r.iif && r.iif !== 'lo') {
        // a packet arriving on iif, from a neighbour on its subnet (or the rule's from)
        const on = own.find((a) => a.dev === r.iif);
        const from = src && !owned.has(src.address) ? inside(src) : on && neighbour(on.cidr, owned);
        if (!from) continue;
        sel.iif = r.iif;
        sel.from = from;
      } else if (src) {
        const mine = own.find((a) => inSubnet(a.cidr.address, src));
        if (!mine) continue;
        sel.from = mine.cidr.address;
      }
      if (!Object.keys(sel).length) continue;
      groups.push(to.map((d) => ({ to: d, ...sel })));
    }
  }
  // one list without repeats; beyond MAX, taken round-robin from the groups so that every group keeps some
  const seen = new Set<string>();
  const unique = groups.map((g) =>
    g.filter((t) => {
      const k = JSON.stringify(t);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    }),
  );
  const out: Tuple[] = [];
  for (let i = 0; out.length < max && unique.some((g) => i < g.length); i++)
    for (const g of unique) if (i < g.length && out.length < max) out.push(g[i]!);
  return out;
}

/** One tuple as a line of `ip -batch`: `route get to D from S ...`. */
export function batchLine(t: Tuple): string {
  const w = ['route', 'get', 'to', t.to];
  for (const k of ['from', 'iif', 'mark', 'tos', 'uid', 'ipproto', 'sport', 'dport'] as const)
    if (t[k] !== undefined) w.push(k, String(t[k]));
  return w.join(' ');
}

/** The answers of `ip -force -j -batch -` to LINES: JSON lines on stdout, `Command failed -:N` on stderr. */
export function parseBatch(lines: number, stdout: string, stderr: string): Decision['answer'][] {
  const failed = new Map<number, string>();
  let message: string[] = [];
  for (const l of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)$/.exec(l.trim());
    if (m) {
      failed.set(Number(m[1]), message.join(' ').trim() || 'failed');
      message = [];
    } else if (l.trim()) message.push(l.trim());
  }
  const out = stdout.split('\n').filter((l) => l.trim());
  const answers: Decision['answer'][] = [];
  let j = 0;
  for (let n = 1; n <= lines; n++) {
    const err = failed.get(n);
    if (err !== undefined) {
      answers.push({ error: err });
      continue;
    }
    const r = (JSON.parse(out[j++] ?? '[]') as Record<string, unknown>[])[0] ?? {};
    const pick = (k: string) => (typeof r[k] === 'string' ? { [k]: r[k] } : {});
    answers.push({ ...pick('type'), ...pick('dev'), ...pick('gateway'), ...pick('prefsrc'), ...pick('table') });
  }
  return answers;
}

/** Asks the kernel of the target (this machine, or namespace NS) about every tuple, in one process. */
export async function askKernel(tuples: Tuple[], ns?: string): Promise<Decision[]> {
  if (!tuples.length) return [];
  const argv = [...(ns ? ['-n', ns] : []), '-force', '-j', '-batch', '-'];
  const input = tuples.map(batchLine).join('\n') + '\n';
  const { stdout, stderr } = await new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
    const child = execFile('ip', argv, { maxBuffer: 64 << 20 }, (e, so, se) => {
      // with -force, ip exits 1 when any line failed: the answers are still all there
      if (e && typeof e.code !== 'number')
        reject(new EnvironmentError(`ip ${argv.join(' ')} failed: ${(se || e.message).trim()}`, 'install iproute2'));
      else resolve({ stdout: so, stderr: se });
    });
    child.stdin!.end(input);
  });
  const answers = parseBatch(tuples.length, stdout, stderr);
  return tuples.map((t, i) => ({ ...t, answer: answers[i]! }));
}

// Mutations of the bundled labs for the property-based fuzz tests
// (test/unit/fuzz-validate.test.ts, test/integration/fuzz.test.ts).
//
// A mutant is a recipe, independent of the lab it is applied to: the lab's name
// and a few operations whose targets are indexes taken modulo the number of
// candidate places, so that fast-check can generate and shrink it freely.
import fc from 'fast-check';
import { readdirSync, readFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';
import type { Problem } from '../../src/errors.js';
import { knownProblemGap } from './known-gaps.js';

export type Path = (string | number)[];

/** The bundled labs, parsed (labs/*.yaml). */
export const LABS: Record<string, unknown> = Object.fromEntries(
  readdirSync('labs')
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => [f.replace(/\.yaml$/, ''), parse(readFileSync(`labs/${f}`, 'utf8'))]),
);
export const LAB_NAMES = Object.keys(LABS);

// ---- values ----

/** Strings that have broken, or could break, a parser, a batch line, a name or a message. */
export const HOSTILE = [
  '',
  ' ',
  '\n',
  'a\nb',
  'a\r\nb',
  '\r',
  '#',
  'x # y',
  '# comment',
  'x\\',
  '\\',
  'a\\\nb',
  '"',
  "'",
  '`',
  '"quoted"',
  ';',
  'a;b',
  'a ; b',
  '$(x)',
  '`id`',
  '${HOME}',
  '\u0000',
  'a\u0000b',
  '\t',
  'a\tb',
  '\u2028',
  '\u2029',
  'a\u2028b',
  '\u0085',
  '\u00a0',
  '\ufeff',
  '\u200b',
  'x'.repeat(16),
  'x'.repeat(33),
  'x'.repeat(300),
  'x'.repeat(5000),
  '..',
  '.',
  '/',
  '../..',
  '-',
  '--',
  '-h',
  '--help',
  '-batch',
  '010.050.0.1/24',
  '010.050.0.1',
  '10.50/24',
  '10.50',
  '0.0.0.0/0',
  '0.0.0.0',
  '::/0',
  '::',
  'fe80::1%eth0/64',
  'fe80::1%eth0',
  'fe80::1/64',
  '224.0.0.1/24',
  '239.1.1.1',
  'ff02::1/64',
  '255.255.255.255/32',
  '127.0.0.2/8',
  '10.0.0.0/24',
  '10.0.0.255/24',
  '1.2.3.4/33',
  '1.2.3.4/-1',
  '1.2.3.4/024',
  '2001:db8::1/129',
  '::ffff:10.0.0.1/96',
  '10.0.0.1/32',
  '10.0.0.1',
  'lo',
  'all',
  'default',
  'br0',
  'eth0',
  'eth1',
  'dev',
  'up',
  'down',
  'main',
  'local',
  'unspec',
  'none',
  'include "/etc/passwd"',
  'include',
  '/etc/passwd',
  'null',
  '~',
  'true',
  'no',
  'yes',
  '0x10',
  '1e3',
  '.inf',
  '.nan',
  '&a',
  '*a',
  '!!str',
  '---',
  '...',
  '%YAML 1.2',
  '{',
  '[',
  ': ',
  '- x',
  '? x',
  '@',
  '|',
  '>',
  'ÄÖÜ',
  'ß',
  'İ',
  '\u{1f600}',
  '\ud800',
  'ｅｔｈ０',
  'eth0 ',
  ' eth0',
  'eth0:1',
  'eth0.100',
  'a:b:c',
  'node:',
  ':eth0',
  'net.ipv4.ip_forward',
  'net.core.somaxconn',
  'kernel.panic',
  '10mbit',
  '0bit',
  '1tbit',
  '20ms',
  '101%',
  '-1',
  '0',
  '00',
  '4294967296',
];

/** Tokens for routes and rules: keywords of both, values at and beyond their ranges, and hostile words. */
export const ROUTE_TOKENS = [
  'via',
  'dev',
  'src',
  'table',
  'metric',
  'preference',
  'priority',
  'proto',
  'protocol',
  'scope',
  'mtu',
  'advmss',
  'realm',
  'realms',
  'initcwnd',
  'initrwnd',
  'tos',
  'dsfield',
  'pref',
  'expires',
  'hoplimit',
  'window',
  'rtt',
  'rttvar',
  'ssthresh',
  'cwnd',
  'reordering',
  'congctl',
  'features',
  'quickack',
  'fastopen_no_cookie',
  'nhid',
  'onlink',
  'pervasive',
  'nexthop',
  'weight',
  'lock',
  'inet',
  'inet6',
  'unicast',
  'local',
  'broadcast',
  'multicast',
  'throw',
  'unreachable',
  'prohibit',
  'blackhole',
  'anycast',
  'to',
  'default',
  'from',
  'iif',
  'oif',
  'fwmark',
  'order',
  'lookup',
  'goto',
  'uidrange',
  'ipproto',
  'sport',
  'dport',
  'suppress_prefixlength',
  'suppress_ifgroup',
  'nat',
  'map-to',
  'not',
  'l3mdev',
  'nop',
  'all',
  'main',
  'eth0',
  'eth1',
  'lo',
  'host',
  'link',
  'global',
  'site',
  'nowhere',
  'static',
  'kernel',
  'boot',
  'ecn',
  'reno',
  'cubic',
  'tcp',
  'udp',
  'icmp',
  '0',
  '1',
  '7',
  '255',
  '256',
  '999',
  '1000',
  '65535',
  '65536',
  '4294967295',
  '4294967296',
  '9999999999',
  '0x0',
  '0xff',
  '0xffffffff',
  '1/2',
  '1-2',
  '2-1',
  '1000-999',
  '1ms',
  '0s',
  '10.0.0.1',
  '10.0.0.0/8',
  '192.168.1.254',
  '0.0.0.0/0',
  '127.0.0.1',
  '224.0.0.0/4',
  '255.255.255.255',
  '2001:db8::1',
  'fe80::1',
  '::1',
  '::/0',
  '1.2.3.4/32',
  '10.0.0.1/24',
  '192.168.1.220/24',
  '203.0.113.10',
  '198.51.100.10',
  '10.0.0.220',
  '10.1.5.172',
  '2001:db8:1::1',
];
export const HOSTILE_TOKENS = [
  '#',
  '\\',
  '"',
  "'",
  ';',
  '$(x)',
  '`id`',
  '\u0000',
  '\u2028',
  '-',
  '--',
  '-6',
  '-batch',
  '..',
  '/',
  '%',
  '+',
  '_',
  ':',
  'fe80::1%eth0',
  '010.050.0.1',
  '10.50',
  'x'.repeat(300),
  'ÄÖÜ',
  '\u0085',
  '\u00a0',
];

/** Keys of the lab format, so that generated objects are sometimes close to valid. */
const KEYS = [
  'name',
  'description',
  'nodes',
  'links',
  'stages',
  'kind',
  'interfaces',
  'addresses',
  'mtu',
  'mac',
  'up',
  'down',
  'routes',
  'rules',
  'tables',
  'sysctl',
  'forwarding',
  'masquerade',
  'nftables',
  'services',
  'command',
  'endpoints',
  'rate',
  'delay',
  'loss',
  'apply',
  'tests',
  'ping',
  'tcp',
  'route',
  'from',
  'to',
  'node',
  'expect',
  'count',
  'eth0',
  'lo',
  'net.ipv4.ip_forward',
];

const NUMBERS = [
  -1,
  0,
  1,
  2,
  67,
  68,
  1279,
  1280,
  1500,
  65535,
  65536,
  252,
  253,
  254,
  255,
  256,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  2 ** 53,
  1e20,
  1e300,
  0.5,
  1.5,
  -0.5,
  -0,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  Number.MIN_VALUE,
];

/**
 * Values that are valid for the lab's grammar but at the edge of what the kernel,
 * iproute2 or tc take: they are what gets past validation to `up`.
 */
export const PLAUSIBLE = [
  '10.0.0.1/24',
  '10.0.0.99/24',
  '10.0.0.0/24',
  '10.0.0.255/24',
  '10.0.0.1/32',
  '10.0.0.1/31',
  '10.0.0.1/8',
  '192.168.1.220/24',
  '192.168.1.0/24',
  '172.16.1.51/24',
  '203.0.113.3/24',
  '100.64.0.14/24',
  '127.0.0.2/8',
  '127.0.0.1/8',
  '0.1.2.3/8',
  '240.0.0.1/4',
  '169.254.1.1/16',
  '2001:db8::1/64',
  '2001:db8::/64',
  '2001:db8:1::220/64',
  '::1/128',
  '::1/64',
  '::2/128',
  'fe80::1/64',
  '::ffff:10.0.0.1/96',
  '::ffff:10.0.0.1/128',
  '64:ff9b::1/96',
  '10.0.0.1',
  '2001:db8::1',
  'fe80::1',
  '::1',
  'eth0',
  'eth1',
  'eth9',
  'lan',
  'net0',
  'if1',
  'cust',
  'a',
  'p1',
  'br1',
  'eth0.100',
  'e-1',
  '_x',
  '0',
  '9',
  'x'.repeat(15),
  'if1001',
  '02:00:00:00:00:01',
  '00:00:00:00:00:00',
  '01:00:5e:00:00:01',
  'ff:ff:ff:ff:ff:ff',
  '03:00:00:00:00:01',
  'fe:ff:ff:ff:ff:ff',
  '1bit',
  '0.1bit',
  '0.000001bit',
  '1kbit',
  '999999999999tbit',
  '999999999999gbps',
  '1tbit',
  '10mbit',
  '1.5mbit',
  'net.ipv4.ip_forward',
  'net.ipv4.conf.all.rp_filter',
  'net.ipv4.conf.eth0.rp_filter',
  'net.ipv4.conf.eth0/100.rp_filter',
  'net.ipv6.conf.all.disable_ipv6',
  'net.ipv4.fib_multipath_hash_policy',
  'net.core.somaxconn',
  'net.ipv4.tcp_rmem',
  'net.x',
  '4096 131072 6291456',
  '1',
  '2',
  '3',
  '7',
  '-1',
  '99999999999',
  'on',
  'off',
  'yes',
  'default via 10.0.0.1',
  '10.1.0.0/16 dev eth0',
  '10.0.0.0/24',
  'from all table main',
  'from 10.0.0.1 table 200',
  'host',
  'bridge',
  'server',
  'router',
  'gw',
  'pc',
  'sw1',
  'lb',
];

export interface GenOptions {
  /** Keys never generated inside objects (the up test keeps nftables and commands out of generated objects). */
  forbiddenKeys?: string[];
  /** Weight values and operations towards labs that still validate (for the up test). */
  upBias?: boolean;
}

function scalarArb(opts: GenOptions = {}): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: opts.upBias ? 12 : 3, arbitrary: fc.constantFrom(...PLAUSIBLE) },
    { weight: 6, arbitrary: fc.constantFrom(...HOSTILE) },
    { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 8 }) },
    { weight: 2, arbitrary: fc.constantFrom(...NUMBERS) },
    { weight: 1, arbitrary: fc.integer() },
    { weight: 1, arbitrary: fc.double() },
    { weight: 1, arbitrary: fc.boolean() },
    { weight: 1, arbitrary: fc.constant(null) },
  );
}

export function valueArb(opts: GenOptions = {}): fc.Arbitrary<unknown> {
  const forbidden = new Set(opts.forbiddenKeys ?? []);
  const key = fc
    .oneof({ weight: 3, arbitrary: fc.constantFrom(...KEYS) }, { weight: 1, arbitrary: fc.string({ maxLength: 8 }) })
    .filter((k) => !forbidden.has(k) && k !== '__proto__');
  const scalar = scalarArb(opts);
  return fc.oneof(
    { weight: 12, arbitrary: scalar },
    { weight: 2, arbitrary: fc.array(scalar, { maxLength: 3 }) },
    { weight: 2, arbitrary: fc.dictionary(key, scalar, { maxKeys: 3 }) },
    { weight: 1, arbitrary: fc.array(fc.dictionary(key, scalar, { maxKeys: 2 }), { maxLength: 2 }) },
  );
}

// ---- operations ----

export type Op =
  | { kind: 'replace'; at: number; value: unknown }
  | { kind: 'delete'; at: number }
  | { kind: 'duplicate'; at: number }
  | { kind: 'rename'; at: number; how: number; ch: string }
  | { kind: 'rekey'; at: number; key: string }
  | { kind: 'swap'; at: number; with: number }
  | { kind: 'token'; at: number; tok: number; how: 'replace' | 'insert' | 'delete'; value: string };

export interface Mutant {
  lab: string;
  ops: Op[];
}

export function mutantArb(opts: GenOptions = {}): fc.Arbitrary<Mutant> {
  const at = fc.nat({ max: 100_000 });
  const token = fc.oneof(
    { weight: opts.upBias ? 8 : 3, arbitrary: fc.constantFrom(...ROUTE_TOKENS) },
    { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_TOKENS) },
    { weight: 1, arbitrary: fc.string({ maxLength: 6 }) },
  );
  const up = !!opts.upBias;
  const forbidden = new Set(opts.forbiddenKeys ?? []);
  const keyArb = fc
    .oneof(
      { weight: up ? 4 : 1, arbitrary: fc.constantFrom(...PLAUSIBLE) },
      { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
      { weight: 1, arbitrary: fc.string({ maxLength: 10 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
    )
    .filter((k) => !forbidden.has(k) && k !== '__proto__');
  const op: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.record({ kind: fc.constant('replace' as const), at, value: valueArb(opts) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at }) },
    { weight: up ? 3 : 2, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), at }) },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant('rename' as const),
        at,
        how: fc.nat({ max: 1000 }),
        ch: fc.constantFrom('s', '_', '-', 'x', '0', '.', ' ', 'E', ':'),
      }),
    },
    { weight: up ? 1 : 2, arbitrary: fc.record({ kind: fc.constant('rekey' as const), at, key: keyArb }) },
    { weight: up ? 4 : 2, arbitrary: fc.record({ kind: fc.constant('swap' as const), at, with: at }) },
    {
      weight: up ? 8 : 5,
      arbitrary: fc.record({
        kind: fc.constant('token' as const),
        at,
        tok: fc.nat({ max: 1000 }),
        how: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const),
        value: token,
      }),
    },
  );
  return fc.record({ lab: fc.constantFrom(...LAB_NAMES), ops: fc.array(op, { minLength: 1, maxLength: 3 }) });
}

export interface ApplyOptions {
  /** Places that are never mutated, swapped or replaced (nor any place inside them). */
  frozen?: (path: Path) => boolean;
  /** Changes made to the lab before the mutations (the up test normalises service commands). */
  prepare?: (lab: any) => void;
}

export interface Applied {
  data: unknown;
  text: string;
  done: string[];
}

type Node = { path: Path; parent: any; key: string | number; value: unknown };

function walk(root: unknown): Node[] {
  const out: Node[] = [];
  const visit = (v: unknown, path: Path) => {
    if (Array.isArray(v))
      v.forEach((x, i) => {
        out.push({ path: [...path, i], parent: v, key: i, value: x });
        visit(x, [...path, i]);
      });
    else if (v && typeof v === 'object')
      for (const [k, x] of Object.entries(v)) {
        out.push({ path: [...path, k], parent: v, key: k, value: x });
        visit(x, [...path, k]);
      }
  };
  visit(root, []);
  return out;
}

const isPrefix = (a: Path, b: Path) => a.length <= b.length && a.every((s, i) => s === b[i]);
const show = (p: Path) =>
  p.map((s) => (typeof s === 'number' ? `[${s}]` : `.${JSON.stringify(s)}`)).join('') || '(root)';
const brief = (v: unknown) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 80 ? `${s.slice(0, 80)}…` : s;
};

/** Renames an object key in place, keeping its position. */
function renameKey(obj: Record<string, unknown>, from: string, to: string): void {
  const entries = Object.entries(obj).map(([k, v]) => [k === from ? to : k, v] as const);
  for (const k of Object.keys(obj)) delete obj[k];
  for (const [k, v] of entries) obj[k] = v;
}

/** A near miss of a key: one character dropped, doubled, swapped, changed in case, or added. */
export function nearMiss(key: string, how: number, ch: string): string {
  const n = key.length;
  if (!n) return ch;
  const i = how % n;
  switch (Math.floor(how / n) % 6) {
    case 0:
      return n > 1 ? key.slice(0, i) + key.slice(i + 1) : key + ch;
    case 1:
      return key.slice(0, i + 1) + key[i] + key.slice(i + 1);
    case 2:
      return i + 1 < n ? key.slice(0, i) + key[i + 1] + key[i] + key.slice(i + 2) : key + ch;
    case 3: {
      const c = key[i]!;
      const u = c === c.toUpperCase() ? c.toLowerCase() : c.toUpperCase();
      return u !== c ? key.slice(0, i) + u + key.slice(i + 1) : key + ch;
    }
    case 4:
      return key + ch;
    default:
      return key.replace(/-/g, '_') !== key
        ? key.replace(/-/g, '_')
        : key.replace(/_/g, '-') !== key
          ? key.replace(/_/g, '-')
          : ch + key;
  }
}

function setAt(parent: any, key: string | number, value: unknown): void {
  parent[key] = value;
}

/** Applies a mutant to a copy of its lab; `done` describes each operation with its concrete place. */
export function applyMutant(m: Mutant, opts: ApplyOptions = {}): Applied {
  const data: any = structuredClone(LABS[m.lab]);
  opts.prepare?.(data);
  const done: string[] = [];
  const frozen = opts.frozen ?? (() => false);
  for (const op of m.ops) {
    const nodes = walk(data).filter((n) => !frozen(n.path));
    const pick = <T>(list: T[], i: number) => (list.length ? list[i % list.length] : undefined);
    switch (op.kind) {
      case 'replace': {
        const n = pick(nodes, op.at);
        if (!n) break;
        setAt(n.parent, n.key, structuredClone(op.value));
        done.push(`replace ${show(n.path)} = ${brief(op.value)}`);
        break;
      }
      case 'delete': {
        const n = pick(nodes, op.at);
        if (!n) break;
        if (Array.isArray(n.parent)) n.parent.splice(n.key as number, 1);
        else delete n.parent[n.key];
        done.push(`delete ${show(n.path)}`);
        break;
      }
      case 'duplicate': {
        const n = pick(
          nodes.filter((x) => Array.isArray(x.parent)),
          op.at,
        );
        if (!n) break;
        n.parent.splice((n.key as number) + 1, 0, structuredClone(n.value));
        done.push(`duplicate ${show(n.path)}`);
        break;
      }
      case 'rename': {
        const n = pick(
          nodes.filter((x) => !Array.isArray(x.parent)),
          op.at,
        );
        if (!n) break;
        const to = nearMiss(String(n.key), op.how, op.ch);
        if (to === n.key || to === '__proto__') break;
        renameKey(n.parent, String(n.key), to);
        done.push(`rename ${show(n.path)} -> ${JSON.stringify(to)}`);
        break;
      }
      case 'rekey': {
        const n = pick(
          nodes.filter((x) => !Array.isArray(x.parent)),
          op.at,
        );
        if (!n || op.key === n.key) break;
        renameKey(n.parent, String(n.key), op.key);
        done.push(`rekey ${show(n.path)} -> ${JSON.stringify(op.key)}`);
        break;
      }
      case 'swap': {
        const a = pick(nodes, op.at);
        const b = pick(nodes, op.with);
        if (!a || !b || isPrefix(a.path, b.path) || isPrefix(b.path, a.path)) break;
        const va = a.value;
        setAt(a.parent, a.key, b.value);
        setAt(b.parent, b.key, va);
        done.push(`swap ${show(a.path)} <-> ${show(b.path)}`);
        break;
      }
      case 'token': {
        const lines = nodes.filter(
          (x) => typeof x.value === 'string' && ['routes', 'rules'].includes(String(x.path[x.path.length - 2])),
        );
        const n = pick(lines, op.at);
        if (!n) break;
        const toks = (n.value as string).trim().split(/\s+/);
        const i = op.tok % (toks.length + (op.how === 'insert' ? 1 : 0));
        if (op.how === 'replace') toks[i] = op.value;
        else if (op.how === 'insert') toks.splice(i, 0, op.value);
        else toks.splice(i, 1);
        const text = toks.join(' ');
        setAt(n.parent, n.key, text);
        done.push(`token ${op.how} ${show(n.path)}: ${brief(n.value)} -> ${brief(text)}`);
        break;
      }
    }
  }
  return { data, text: stringify(data, { aliasDuplicateObjects: false, lineWidth: 0 }), done };
}

// ---- raw text mutations (the loader's share: YAML that is not even well formed) ----

export interface TextOp {
  at: number;
  cut: number;
  insert: string;
}

export function textOpArb(): fc.Arbitrary<TextOp> {
  return fc.record({
    at: fc.nat({ max: 100_000 }),
    cut: fc.nat({ max: 8 }),
    insert: fc.oneof(
      fc.constantFrom(
        ...HOSTILE,
        '\t',
        ': x',
        '\n  - ',
        '&a [*a, *a]',
        '*a',
        '&a',
        '!!binary',
        '!!map',
        '<<: *a',
        '"\\x',
      ),
      fc.string({ unit: 'binary', maxLength: 6 }),
    ),
  });
}

export function applyTextOp(text: string, op: TextOp): string {
  const at = op.at % (text.length + 1);
  return text.slice(0, at) + op.insert + text.slice(at + op.cut);
}

// ---- the validation half of the property ----

const LINE_BREAK = /[\n\r\u2028\u2029\u0085]/;

/**
 * What is wrong with the problems a failed validation returned, if anything;
 * `tolerated` names the known gaps (known-gaps.ts) that excused a defect.
 */
export function badProblems(text: string, problems: Problem[]): { bad?: string; tolerated: string[] } {
  const tolerated: string[] = [];
  if (!problems.length) return { bad: 'validation failed without a problem', tolerated };
  const lines = text.split('\n').length;
  for (const p of problems) {
    const where = `problem ${JSON.stringify(p)}`;
    if (!Number.isInteger(p.line) || p.line < 1) return { bad: `${where}: line is not >= 1`, tolerated };
    if (!Number.isInteger(p.col) || p.col < 1) return { bad: `${where}: col is not >= 1`, tolerated };
    if (p.line > lines + 1) return { bad: `${where}: line beyond the end of the text (${lines} lines)`, tolerated };
    if (typeof p.message !== 'string' || !p.message.trim()) return { bad: `${where}: empty message`, tolerated };
    if (p.hint !== undefined && typeof p.hint !== 'string') return { bad: `${where}: hint is not a string`, tolerated };
    if (LINE_BREAK.test(p.message) || LINE_BREAK.test(p.hint ?? '')) {
      const gap = knownProblemGap(p);
      if (!gap) return { bad: `${where}: message or hint is not one line`, tolerated };
      tolerated.push(gap.id);
    }
  }
  return { tolerated };
}

/** The mutated lab, for a failure message. */
export function describeSample(applied: Applied): string {
  return `mutations:\n  ${applied.done.join('\n  ') || '(none applied)'}\nmutated lab:\n${applied.text}`;
}

// The snapshot file as a zod schema: what `nslab import` reads of it, each
// field declared once. A snapshot is iproute2's JSON (`ip -j`), and iproute2
// prints other fields in other versions: every object keeps the fields not
// declared here (looseObject), unread and unchecked. The fields import reads
// are checked strictly: their types, and for every string that becomes a word
// of a route, a rule or a name, its shape (one word, an address of the list's
// family, an interface name Linux allows). To read a new field: declare it
// here, and its type follows into the file that maps it (to-lab.ts names them).
import { z } from 'zod';
import { parseAddress, parsePrefix, type Family } from '../lab/addr.js';
import { CONTROL, shown } from '../lab/grammar.js';

export const SNAPSHOT_VERSION = 1;

/** A value as a message shows it: strings quoted, one line, long ones cut. */
export function said(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `'${shown(v, 40)}'`;
  // what is left of parsed JSON or YAML: a number, a boolean (or undefined)
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}

/** Free text on one line (a host name, where the snapshot came from). */
const Text = z.string().refine((s) => !CONTROL.test(s), {
  error: (i) => `${said(i.input)} holds a control character (a line break, an escape, ...)`,
});
/** One word of iproute2's output: it becomes a word of a route or a rule, so no spaces and no control characters. */
const Word = z.string().regex(/^[^\s\u0000-\u001f\u007f-\u009f\u2028\u2029]+$/, {
  error: (i) => `${said(i.input)} is not one word (no spaces, no control characters)`,
  abort: true,
});
const Words = z.array(Word);
/** An interface name as Linux allows it (dev_valid_name), and no control characters. */
const Ifname = z
  .string()
  .refine(
    (s) =>
      s.length > 0 && Buffer.byteLength(s) <= 15 && s !== '.' && s !== '..' && !/[/:\s]/.test(s) && !CONTROL.test(s),
    {
      error: (i) =>
        `${said(i.input)} is not an interface name Linux allows (1-15 bytes; no '/', ':', spaces or control characters)`,
    },
  );
/** A whole number in [min, max]: one message for 1e20 (out of range) and for 1.5 (not whole). */
const whole = (min: number, max: number) =>
  z
    .number()
    .min(min, { abort: true })
    .max(max, { abort: true })
    .refine(Number.isInteger, { error: (i) => `${said(i.input)} is not a whole number` });
const uint32 = whole(0, 0xffffffff);
const port = whole(0, 65535);
const Port = z.union([port, z.looseObject({ start: port, end: port })], {
  error: (i) => `${said(i.input)} is not a port (0-65535) or a range {start, end}`,
});
const Mark = z.string().regex(/^(0x[0-9a-fA-F]{1,8}|[0-9]{1,10})$/, {
  error: (i) => `${said(i.input)} is not a mark (a number, such as 0x1)`,
});

const famWord = (f: Family) => `IPv${f}`;
const Address = (f: Family) =>
  Word.refine((s) => parseAddress(s)?.family === f, {
    error: (i) => `${said(i.input)} is not an ${famWord(f)} address`,
  });
const AnyAddress = Word.refine((s) => !!parseAddress(s), { error: (i) => `${said(i.input)} is not an address` });
const PrefixLen = (f: Family) => whole(0, f === 4 ? 32 : 128);
/** A route's destination: 'default', or an address of the family with or without /length. */
const Destination = (f: Family) =>
  Word.refine((s) => s === 'default' || parsePrefix(s)?.family === f, {
    error: (i) =>
      `${said(i.input)} is not 'default' or an ${famWord(f)} prefix (an address, with /0-${f === 4 ? 32 : 128} or without)`,
  });
/** A rule's selector: 'all', or an address of the family (its length is a field of its own). */
const Selector = (f: Family) =>
  Word.refine((s) => s === 'all' || parseAddress(s)?.family === f, {
    error: (i) => `${said(i.input)} is not 'all' or an ${famWord(f)} address`,
  });

/** `ip -j link`: only the name is read (by `nslab snapshot`, for the per-interface sysctls). */
const Link = z.looseObject({ ifname: Ifname });

/** An address of `ip -j addr`: inet and inet6 ones are read; others (if a kernel prints any) are kept as they are. */
const InetAddr = (f: Family) =>
  z.looseObject({ local: Address(f), prefixlen: PrefixLen(f), scope: Word, address: Address(f).optional() });
const INET: Record<string, ReturnType<typeof InetAddr>> = { inet: InetAddr(4), inet6: InetAddr(6) };
const AddrInfo = z.looseObject({ family: Word }).superRefine((a, ctx) => {
  const schema = INET[a.family];
  if (!schema) return;
  const r = schema.safeParse(a);
  if (!r.success) for (const issue of r.error.issues) ctx.addIssue(issue as z.core.$ZodRawIssue);
});
const Addr = z.looseObject({
  ifname: Ifname,
  flags: Words.optional(),
  mtu: whole(0, 0xffffffff).optional(),
  addr_info: z.array(AddrInfo).optional(),
});

const Nexthop = (f: Family) =>
  z.looseObject({
    gateway: Address(f).optional(),
    dev: Ifname.optional(),
    weight: whole(1, 256).optional(),
    flags: Words.optional(),
  });
/** A route of `ip -j -4/-6 route show table all`. */
const Route = (f: Family) =>
  z.looseObject({
    type: Word.optional(),
    dst: Destination(f),
    /** An IPv6 route's source prefix (source-specific routing). */
    from: Destination(f).optional(),
    gateway: Address(f).optional(),
    via: z.looseObject({ family: Word, host: AnyAddress }).optional(),
    dev: Ifname.optional(),
    protocol: Word.optional(),
    scope: Word.optional(),
    prefsrc: Address(f).optional(),
    metric: uint32.optional(),
    flags: Words.optional(),
    table: Word.optional(),
    tos: Word.optional(),
    pref: Word.optional(),
    /** The route's metrics (mtu, advmss, ...): iproute2 prints them as one object in a list. */
    metrics: z.array(z.record(z.string(), z.unknown())).optional(),
    nexthops: z.array(Nexthop(f)).optional(),
  });
/** A rule of `ip -j -4/-6 rule show`; `not` is printed as null (iproute2 6.1). */
const Rule = (f: Family) =>
  z.looseObject({
    priority: uint32,
    not: z.union([z.null(), z.boolean()], { error: (i) => `${said(i.input)} is not null or true/false` }).optional(),
    src: Selector(f).optional(),
    srclen: PrefixLen(f).optional(),
    dst: Selector(f).optional(),
    dstlen: PrefixLen(f).optional(),
    tos: Word.optional(),
    fwmark: Mark.optional(),
    fwmask: Mark.optional(),
    iif: Ifname.optional(),
    oif: Ifname.optional(),
    ipproto: Word.optional(),
    sport: Port.optional(),
    dport: Port.optional(),
    // iproute2 6.1 prints a range as two fields (a single port as sport/dport)
    sport_start: port.optional(),
    sport_end: port.optional(),
    dport_start: port.optional(),
    dport_end: port.optional(),
    uid_start: uint32.optional(),
    uid_end: uint32.optional(),
    suppress_prefixlen: whole(0, 128).optional(),
    suppress_ifgroup: Word.optional(),
    protocol: Word.optional(),
    flow_from: Word.optional(),
    flow_to: Word.optional(),
    table: Word.optional(),
    action: Word.optional(),
    /** iproute2 6.1 prints a goto rule as `"goto": N`; older ones as action goto with a target. */
    goto: uint32.optional(),
    target: uint32.optional(),
  });

/** The host kernel's answer to `ip route get` for one tuple (decisions.ts), as `nslab snapshot` recorded it. */
const Decision = z.looseObject({
  to: AnyAddress,
  from: AnyAddress.optional(),
  iif: Ifname.optional(),
  mark: Mark.optional(),
  tos: Word.optional(),
  uid: uint32.optional(),
  ipproto: Word.optional(),
  sport: port.optional(),
  dport: port.optional(),
  answer: z.union(
    [
      z.looseObject({ error: Text }),
      z.looseObject({
        type: Word.optional(),
        dev: Ifname.optional(),
        gateway: AnyAddress.optional(),
        prefsrc: AnyAddress.optional(),
        table: Word.optional(),
      }),
    ],
    {
      error: (i) => `${said(i.input)} is not an answer of ip route get ({ error } or { dev, gateway, prefsrc, table })`,
    },
  ),
});

const TableId = z
  .string()
  .regex(/^[0-9]+$/, { error: (i) => `${said(i.input)} is not a table id (a number)`, abort: true })
  .refine((s) => Number(s) >= 1 && Number(s) <= 0xffffffff, {
    error: (i) => `table id ${said(i.input)} is out of range (1-4294967295)`,
  });

/** The snapshot file, as `nslab snapshot` writes it (its version is checked before this). */
export const SnapshotSchema = z.looseObject({
  'nslab-snapshot': z.literal(SNAPSHOT_VERSION),
  taken: Text,
  /** The machine's host name, or the lab node's name. */
  name: Text.min(1),
  source: Text,
  kernel: Text.optional(),
  links: z.array(Link),
  addresses: z.array(Addr),
  routes: z.object({ 4: z.array(Route(4)), 6: z.array(Route(6)) }),
  rules: z.object({ 4: z.array(Rule(4)), 6: z.array(Rule(6)) }),
  /** Table names the machine knows (rt_tables), by id. */
  tables: z.record(TableId, Word).default({}),
  /** net.* sysctls: import keeps those that are net.* keys with whole numbers, and leaves the rest. */
  sysctl: z.record(z.string(), z.string()).default({}),
  /** The kernel's own answers to `ip route get` for tuples of its configuration (absent in older snapshots). */
  decisions: z.array(Decision).optional(),
});

export type Snapshot = z.output<typeof SnapshotSchema>;
export type IpLink = z.output<typeof Link>;
export type IpAddr = z.output<typeof Addr>;
export type IpRoute = z.output<ReturnType<typeof Route>>;
export type IpRule = z.output<ReturnType<typeof Rule>>;
export type Decision = z.output<typeof Decision>;

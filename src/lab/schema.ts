// The lab file format v1 as a zod schema: the single source for validation,
// TypeScript types and the published JSON Schema (schema/nslab-lab.schema.json).
import { z } from 'zod';
import { LAB_NAME, NODE_NAME, SERVICE_NAME } from './grammar.js';
import { payloadBytes, regexProblem } from './payload.js';

const str = (description: string) => z.string().describe(description);

export const LabName = z
  .string()
  .regex(LAB_NAME, {
    error: 'lab name must be 1-32 characters of a-z, 0-9 and -, starting with a letter or digit',
  })
  .describe('Lab name; namespaces are called nslab-<name>.<node>');
export const NodeName = z
  .string()
  .regex(NODE_NAME, { error: 'node names are 1-32 characters of a-z, 0-9, _ and -, starting with a letter' });

const Address = str('An address with its prefix length, e.g. 192.168.1.220/24 or 2001:db8::1/64');
const Addresses = z.union([Address, z.array(Address)], {
  error: 'expected an address such as 10.0.0.1/24, or a list of them',
});

export const InterfaceObject = z.strictObject({
  addresses: Addresses.optional(),
  mtu: z.int().min(68).max(65535).optional().describe('MTU in bytes'),
  mac: z
    .string()
    .regex(/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i, { error: 'mac must look like 02:00:00:00:00:01' })
    .refine((m) => (parseInt(m.slice(0, 2), 16) & 1) === 0 && !/^(00:){5}00$/.test(m), {
      error:
        'mac must be a unicast address, e.g. 02:00:00:00:00:01 (an odd first byte is multicast; all zeros is none)',
    })
    .optional(),
  up: z.boolean().optional().describe('false leaves the interface down (default true)'),
});
export const InterfaceSpec = z.union([Address, z.array(Address), InterfaceObject], {
  error: 'expected an address, a list of addresses, or an object with addresses, mtu, mac, up',
});

const SysctlValue = z.union([z.string(), z.number(), z.boolean()], {
  error: 'a sysctl value is a string, number or boolean',
});

const Command = z.union([z.string().min(1), z.array(z.string()).min(1)], {
  error: 'command is a string of words or a list of arguments',
});

export const Ready = z
  .strictObject({
    tcp: z.int().min(1).max(65535).optional().describe('Ready once this TCP port is listening in the node'),
    udp: z.int().min(1).max(65535).optional().describe('Ready once this UDP port is bound in the node'),
    log: z.string().optional().describe("Ready once the service's log matches this regular expression"),
    command: Command.optional().describe('Ready once this command, run in the node, exits 0 (tried every 50 ms)'),
    timeout: z
      .string()
      .regex(/^\d{1,9}(\.\d{1,6})?(us|ms|s)$/, { error: 'a duration such as 20ms, 1.5s' })
      .optional()
      .describe('How long to wait at most (default 10s)'),
  })
  .describe('When the service is ready: one of tcp, udp, log, command; the wait is measured and reported');

export const Service = z.strictObject({
  name: z
    .string()
    .regex(SERVICE_NAME, { error: 'service names are 1-32 characters of a-z, 0-9, _ and -, starting with a letter' }),
  command: Command.describe('Program and arguments; split into words, never given to a shell'),
  env: z
    .record(z.string(), z.union([z.string(), z.number(), z.boolean()]))
    .optional()
    .describe("Environment variables added to nslab's own"),
  cwd: z.string().optional().describe("Working directory; a relative one is taken from the lab file's folder"),
  user: z
    .union([z.string().min(1), z.int().min(0)])
    .optional()
    .describe('Run as this user (name or uid, with its primary group and groups); it must exist on the machine'),
  ready: Ready.optional(),
});

/** A file of a node (`files:`): its content, or its content with mode and owner. */
export const FileSpec = z.union([
  z.string().describe('The content'),
  z.strictObject({
    content: z.string().describe('The content (UTF-8 text)'),
    mode: z
      .string()
      .regex(/^0?[0-7]{3}$/, { error: "mode is an octal string such as '0644' or '600' (quote it in YAML)" })
      .optional()
      .describe("Permissions as an octal string, '0644' by default"),
    owner: z
      .union([z.string().min(1), z.int().min(0)])
      .optional()
      .describe('Owner (a user name or uid known to this machine, with its primary group); root by default'),
  }),
]);

/** Settings shared by a node's base configuration and a stage's `apply`. */
const nodeSettings = {
  interfaces: z.record(z.string(), InterfaceSpec).optional().describe('Interface name to address(es) or settings'),
  forwarding: z.boolean().optional().describe('Enable IPv4 and IPv6 forwarding'),
  sysctl: z.record(z.string(), SysctlValue).optional().describe('net.* sysctls set inside the node'),
  tables: z.record(z.string(), z.int()).optional().describe('Routing table names for ids, local to this node'),
  routes: z.array(z.string()).optional().describe('Routes as written after `ip route add`'),
  rules: z.array(z.string()).optional().describe('Rules as written after `ip rule add`'),
  nftables: z.string().optional().describe('An nftables ruleset loaded with nft -f inside the node'),
  masquerade: z.array(z.string()).optional().describe('Interfaces to masquerade (source NAT) traffic out of'),
  services: z.array(Service).optional().describe('Long-running commands started in the node, stopped at teardown'),
  files: z
    .record(z.string(), FileSpec)
    .optional()
    .describe(
      "Absolute path to a file only this node sees there (its content, mode, owner); the node's /run is its own",
    ),
};

export const NodeSpec = z.strictObject({
  kind: z.enum(['host', 'bridge']).optional().describe('host (default) or bridge: a shared segment joining its links'),
  description: z.string().optional(),
  ...nodeSettings,
});

export const ApplySpec = z.strictObject({
  ...nodeSettings,
  up: z.array(z.string()).optional().describe('Interfaces to bring up'),
  down: z.array(z.string()).optional().describe('Interfaces to bring down'),
  stop: z.array(z.string()).optional().describe("The node's services to stop (SIGTERM, then SIGKILL after 2 s)"),
  start: z.array(z.string()).optional().describe("The node's services to start again (stopped by an earlier stage)"),
  restart: z.array(z.string()).optional().describe("The node's services to stop and start again (ready waited for)"),
  signal: z
    .record(z.string(), z.string())
    .optional()
    .describe('Service name to a signal sent to it, e.g. { dnsd: HUP } (a daemon re-reads its configuration)'),
});

const Endpoint = z.string().regex(/^[^\s:]+(:[^\s:]+)?$/, { error: 'an endpoint is written node:interface' });
// tc's own units; a rate of zero passes nothing (tbf refuses it), a loss over 100% means nothing
const Rate = z.string().regex(/^(?=[\d.]*[1-9])\d{1,12}(\.\d{1,6})?([kmgt]?bit|[kmgt]?bps)$/i, {
  error: 'rate is a tc rate above zero, such as 10mbit or 500kbit',
});
const Duration = z.string().regex(/^\d{1,9}(\.\d{1,6})?(us|ms|s)$/, { error: 'a duration such as 20ms, 1.5s' });
const Percent = z
  .string()
  .regex(/^(100(\.0+)?|\d{1,2}(\.\d{1,6})?)%$/, { error: 'loss is a percentage from 0% to 100%, such as 1%' });

export const LinkObject = z.strictObject({
  endpoints: z.tuple([Endpoint, Endpoint], { error: 'endpoints is a list of two node:interface' }),
  mtu: z.int().min(68).max(65535).optional(),
  rate: Rate.optional().describe('Shape each direction with tbf'),
  delay: Duration.optional().describe('Delay each direction with netem'),
  loss: Percent.optional().describe('Drop this share of packets with netem'),
});
export const LinkSpec = z.union(
  [
    z.string().regex(/^\s*[^\s:]+(:[^\s:]+)?\s+[^\s:]+(:[^\s:]+)?\s*$/, {
      error: "a link is written as two endpoints, 'a:eth0 b:eth1'",
    }),
    LinkObject,
  ],
  { error: "a link is 'a:eth0 b:eth1' or an object with endpoints" },
);

// ---- tests: one probe each, and what is expected of its evidence ----
const NodeRef = str('A node name');
const Target = str('An address, or node or node:interface (its first address)');
const Port = z.int().min(1).max(65535);

/** A `send` payload: text with escapes (src/lab/payload.ts), refused here when an escape is wrong. */
const Send = z
  .string()
  .min(1)
  .superRefine((v, ctx) => {
    try {
      payloadBytes(v);
    } catch (e) {
      ctx.addIssue({
        code: 'custom',
        message: `'${v.length > 40 ? v.slice(0, 40) + '…' : v}' ${(e as Error).message}`,
        params: { field: true, hint: 'escapes are \\n \\r \\t \\0 \\\\ and \\xNN (one byte, two hex digits)' },
      });
    }
  })
  .describe('What the client sends once connected (udp: the datagram); escapes \\n \\r \\t \\0 \\\\ \\xNN');

/** A regular expression the answer is judged by: its JavaScript source, unanchored. */
function Regex(what: string) {
  return z
    .string()
    .superRefine((v, ctx) => {
      const why = regexProblem(v);
      if (why)
        ctx.addIssue({
          code: 'custom',
          message: `'${v.length > 40 ? v.slice(0, 40) + '…' : v}' is not a regular expression: ${why}`,
          params: {
            field: true,
            hint: 'write a JavaScript regular expression, e.g. ^OK\\b; escape ( [ { . * + ? with \\ to match them as text',
          },
        });
    })
    .describe(what);
}

/** tcp and udp probes: the same fields, a listener (or responder) on the target's node. */
function l4Probe(listen: string) {
  return z.strictObject({
    from: NodeRef,
    to: Target,
    port: Port.optional(),
    bind: z.string().optional(),
    timeout: Duration.optional().describe(
      'How long to wait for the answer; by default derived from the lab (docs/performance.md)',
    ),
    listen: z.boolean().optional().describe(listen),
    ipv6: z.boolean().optional().describe('node or node:interface targets mean their IPv6 address'),
    send: Send.optional(),
  });
}

const HeaderName = z
  .string()
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, { error: 'a header name is a token, e.g. Accept' });
const HeaderValue = z.string().regex(/^[^\r\n\0]*$/, { error: 'a header value is one line, without NUL' });

export const Probes = {
  ping: z.strictObject({
    from: NodeRef,
    to: Target,
    count: z.int().min(1).max(100).optional(),
    source: z.string().optional().describe('Source address (ping -I ADDR)'),
    interface: z.string().optional().describe('Send through this interface (ping -I IF)'),
    timeout: Duration.optional().describe(
      'How long to wait for replies after the last echo; by default derived from the lab (docs/performance.md)',
    ),
    ipv6: z.boolean().optional(),
  }),
  tcp: l4Probe('false: a service of the lab listens on port; nslab starts no listener'),
  udp: l4Probe('false: a service of the lab answers on port; nslab starts no responder'),
  route: z
    .strictObject({
      node: NodeRef,
      to: z.string(),
      from: z.string().optional(),
      iif: z.string().optional(),
      oif: z.string().optional(),
      mark: z.union([z.int(), z.string()]).optional(),
      tos: z.union([z.int(), z.string()]).optional(),
      dsfield: z.union([z.int(), z.string()]).optional(),
      uid: z.int().min(0).optional(),
      ipproto: z.string().optional(),
      sport: Port.optional(),
      dport: Port.optional(),
    })
    .describe('ip route get with every selector ip rule can match on'),
  exec: z.strictObject({
    node: NodeRef,
    command: z.union([z.string().min(1), z.array(z.string()).min(1)], {
      error: 'command is a string of words or a list of arguments',
    }),
  }),
  flows: z.strictObject({
    from: NodeRef,
    to: z.union([Target, z.array(Target)]),
    count: z.int().min(1).max(1000).optional(),
    proto: z.enum(['tcp', 'udp']).optional(),
    via: NodeRef.optional().describe('Node whose egress interfaces are compared'),
    ipv6: z.boolean().optional(),
  }),
  throughput: z.strictObject({
    from: NodeRef,
    to: Target,
    seconds: z.number().min(0.1).max(30).optional().describe('How long to send (default 1)'),
    proto: z.enum(['tcp', 'udp']).optional(),
    ipv6: z.boolean().optional(),
  }),
  http: z
    .strictObject({
      from: NodeRef,
      url: z
        .string()
        .regex(/^http:\/\/(\[[0-9A-Fa-f:.]+\]|[^\s/:?#[\]@]+)(:\d{1,5})?([/?][^\s#]*)?$/, {
          error: 'url is http://HOST[:PORT]/PATH, HOST a node of the lab or an address ([v6] in brackets)',
        })
        .describe('http://HOST[:PORT]/PATH; HOST is a node (its first address of the family) or an address'),
      method: z
        .string()
        .regex(/^[A-Z]{1,16}$/, { error: 'method is an HTTP method in capitals, e.g. GET or POST' })
        .optional()
        .describe('GET by default'),
      headers: z.record(HeaderName, HeaderValue).optional().describe('Request headers'),
      body: z.string().optional().describe('The request body (sent as UTF-8)'),
      bind: z.string().optional(),
      timeout: Duration.optional().describe(
        'How long to wait for the connection and for the response (default: the lab rule, and 1.5 s for the answer)',
      ),
      ipv6: z.boolean().optional().describe('A node as HOST means its IPv6 address'),
    })
    .describe("An HTTP request by nslab's own client to a service of the lab (TCP: the same path checks as tcp)"),
} as const;
export type ProbeKind = keyof typeof Probes;
export const PROBE_KINDS = Object.keys(Probes) as ProbeKind[];

const IfRef = str('node:interface');
export const Expect = z.strictObject({
  replies: z.int().min(0).optional(),
  reachable: z.boolean().optional(),
  connected: z.union([z.boolean(), z.enum(['connected', 'refused', 'timeout'])]).optional(),
  path: z.array(z.string()).optional().describe('Nodes (or node:interface) the request crosses, in order'),
  'reply-path': z.array(z.string()).optional(),
  'reply-via': IfRef.optional().describe('The reply left the target through this interface'),
  symmetric: z.boolean().optional(),
  source: z.string().optional().describe('The source address the far end saw'),
  seen: z.array(IfRef).optional(),
  'not-seen': z.array(IfRef).optional(),
  spread: z.record(z.string(), z.number().min(0)).optional().describe('node:interface to weight'),
  tolerance: z.number().min(0).max(1).optional(),
  sticky: z.boolean().optional(),
  rate: z.strictObject({ min: Rate.optional(), max: Rate.optional() }).optional(),
  dev: z.string().optional(),
  via: z.string().optional(),
  src: z.string().optional(),
  table: z.union([z.string(), z.int()]).optional(),
  exit: z.int().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  response: Regex('tcp, udp: what the client received matches this regex (each byte one character)').optional(),
  status: z.int().min(100).max(599).optional().describe('http: the response status'),
  body: Regex('http: the response body matches this regex').optional(),
  header: z
    .record(HeaderName, Regex('the header value matches this regex'))
    .optional()
    .describe('http: response header name (any case) to a regex its value matches'),
});

/**
 * The expectations each probe can judge. Any other key would be checked by
 * nothing and pass on what the probe never looked at (a `source` on an exec
 * test), so validation refuses it and the API's matchers say it cannot be shown.
 */
const PATH_KEYS = ['path', 'reply-path', 'reply-via', 'symmetric', 'source', 'seen', 'not-seen'] as const;
export const JUDGES: Record<ProbeKind, readonly (keyof z.infer<typeof Expect>)[]> = {
  ping: ['replies', 'reachable', ...PATH_KEYS],
  tcp: ['connected', 'reachable', 'response', ...PATH_KEYS],
  udp: ['reachable', 'replies', 'response', ...PATH_KEYS],
  http: ['connected', 'reachable', 'status', 'body', 'header', ...PATH_KEYS],
  route: ['reachable', 'dev', 'via', 'src', 'table'],
  exec: ['exit', 'stdout', 'stderr'],
  flows: ['spread', 'tolerance', 'sticky'],
  throughput: ['reachable', 'rate'],
};

/** The keys of `expect` that a probe of this kind does not judge (unknown keys are the schema's to report). */
export function unjudged(probe: ProbeKind, expect: object): string[] {
  const judges: readonly string[] = JUDGES[probe];
  return Object.keys(expect).filter((k) => k in Expect.shape && !judges.includes(k));
}

export const TestSpec = z.strictObject({
  name: z.string().min(1),
  requires: z
    .array(z.enum(['netem', 'tbf', 'htb']))
    .optional()
    .describe('Kernel features; the test is skipped without them'),
  ...(Object.fromEntries(PROBE_KINDS.map((k) => [k, Probes[k].optional()])) as {
    [K in ProbeKind]: z.ZodOptional<(typeof Probes)[K]>;
  }),
  expect: Expect.optional(),
  hint: z.string().min(1).optional().describe('Shown under the test when it fails in `nslab check` (workshops)'),
});

export const StageSpec = z.strictObject({
  name: z.string().min(1),
  description: z.string().optional(),
  solution: z
    .boolean()
    .optional()
    .describe("true: this stage's apply is the fix students must find; `nslab exercise` writes the lab without it"),
  apply: z.record(z.string(), ApplySpec).optional().describe('Node settings applied when the stage starts'),
  tests: z.array(TestSpec).optional(),
});

export const LabSpec = z
  .strictObject({
    $schema: z.string().optional(),
    name: LabName,
    description: z.string().optional(),
    nodes: z.record(z.string(), NodeSpec),
    links: z.array(LinkSpec).optional(),
    stages: z.array(StageSpec).optional(),
  })
  .describe('An nslab lab file (format v1)');

export type LabSpecT = z.infer<typeof LabSpec>;
export type NodeSpecT = z.infer<typeof NodeSpec>;
export type ApplySpecT = z.infer<typeof ApplySpec>;
export type LinkSpecT = z.infer<typeof LinkSpec>;
export type TestSpecT = z.infer<typeof TestSpec>;
export type StageSpecT = z.infer<typeof StageSpec>;
export type ExpectT = z.infer<typeof Expect>;
export type InterfaceSpecT = z.infer<typeof InterfaceSpec>;

// What nslab needs from the machine: every program it runs and every file it
// relies on, each with the Debian/Ubuntu package that brings it. The one
// table: `nslab doctor` checks every entry, the preflights of `test` and `up`
// check the ones they need, and scripts/bootstrap.sh installs from
// scripts/requirements.tsv, which is rendered from this table (`npm run
// requirements`; test/unit/requirements.test.ts fails when the two differ).
// The bootstrap runs before node_modules and the build exist, hence a plain
// file it can read with `read` in bash.
import { statSync } from 'node:fs';
import type { LabModel } from '../lab/model.js';
import { buildPlan } from '../plan/build.js';

/**
 * When it is needed:
 *   lab       bringing any lab up (up, test, check, reset, the API)
 *   test      running a lab's tests (test, check, explain): probes and captures
 *   rootless  a rootless run (`nslab test` without root)
 *   optional  only for what `use` says; without it, just that fails, saying so
 *   suite     only nslab's own test suite (the bootstrap installs it); nslab never runs it, doctor does not ask for it
 */
export type Need = 'lab' | 'test' | 'rootless' | 'optional' | 'suite';

export interface Requirement {
  kind: 'program' | 'file';
  /** a program, looked up on PATH; a file, by its absolute path */
  name: string;
  /** the Debian/Ubuntu package that provides it */
  package: string;
  need: Need;
  /**
   * Present in every Debian and Ubuntu image, even a minimal one (debootstrap's
   * minbase, from which debian:12 is built): Essential or Priority required.
   * CI recipes need not install these; the container test checks the claim.
   */
  minimal: boolean;
  /** what nslab needs it for ("needed for ...") */
  use: string;
  /** how doctor reads its version (programs that print one) */
  version?: string[];
}

export const REQUIREMENTS: readonly Requirement[] = [
  {
    kind: 'program',
    name: 'ip',
    package: 'iproute2',
    need: 'lab',
    minimal: false,
    version: ['ip', '-V'],
    use: 'namespaces, veth pairs, addresses, routes and rules (ip -batch, ip netns exec)',
  },
  {
    kind: 'program',
    name: 'sysctl',
    package: 'procps',
    need: 'lab',
    minimal: false,
    use: "a node's sysctls (forwarding, rp_filter, no IPv6 duplicate address detection)",
  },
  {
    kind: 'program',
    name: 'nsenter',
    package: 'util-linux',
    need: 'lab',
    minimal: true,
    version: ['nsenter', '--version'],
    use: "commands in a node's network namespace",
  },
  {
    kind: 'program',
    name: 'unshare',
    package: 'util-linux',
    need: 'lab',
    minimal: true,
    version: ['unshare', '--version'],
    use: "the scratch namespaces where the kernel's qdiscs, veth and nf_tables are tried; rootless runs",
  },
  {
    kind: 'program',
    name: 'sh',
    package: 'dash',
    need: 'lab',
    minimal: true,
    use: "the loop that runs a lab's ip, tc, sysctl and nft batches; the kernel trials; nslab shell without bash",
  },
  {
    kind: 'program',
    name: 'setpriv',
    package: 'util-linux',
    need: 'test',
    minimal: true,
    version: ['setpriv', '--version'],
    use: "captures and probe agents that die with nslab (--pdeathsig); a service's user:",
  },
  {
    kind: 'program',
    name: 'tcpdump',
    package: 'tcpdump',
    need: 'test',
    minimal: false,
    version: ['tcpdump', '--version'],
    use: 'the capture in every node during a test: the evidence of what crossed the wire',
  },
  {
    kind: 'program',
    name: 'ping',
    package: 'iputils-ping',
    need: 'test',
    minimal: false,
    version: ['ping', '-V'],
    use: "ping probes, and a node's round-trip time, which sets how long a negative verdict waits",
  },
  {
    kind: 'program',
    name: 'perl',
    package: 'perl-base',
    need: 'test',
    minimal: true,
    version: ['perl', '-e', 'print "perl $^V\\n"'],
    use: 'the marker frames that bound each probe in the captures',
  },
  {
    kind: 'program',
    name: 'mount',
    package: 'mount',
    need: 'lab',
    minimal: true,
    use: "each node's own mount namespace (its /run, its files:); the private /run and /etc/netns of a rootless run",
  },
  {
    kind: 'program',
    name: 'umount',
    package: 'mount',
    need: 'lab',
    minimal: true,
    use: "removing a node's mount namespace at down",
  },
  {
    kind: 'program',
    name: 'awk',
    package: 'mawk',
    need: 'lab',
    minimal: true,
    use: "the mounts under a folder that a node's files: overlay carries over",
  },
  {
    kind: 'program',
    name: 'true',
    package: 'coreutils',
    need: 'rootless',
    minimal: true,
    use: "the trial of a rootless run's namespaces (unshare ... true)",
  },
  {
    kind: 'program',
    name: 'tc',
    package: 'iproute2',
    need: 'optional',
    minimal: false,
    version: ['tc', '-V'],
    use: 'links with rate, delay or loss (traffic shaping)',
  },
  {
    kind: 'program',
    name: 'nft',
    package: 'nftables',
    need: 'optional',
    minimal: false,
    version: ['nft', '--version'],
    use: 'labs with nftables rulesets or masquerade',
  },
  {
    kind: 'program',
    name: 'getent',
    package: 'libc-bin',
    need: 'optional',
    minimal: true,
    use: "a service's user: (looked up as login does, through NSS)",
  },
  {
    kind: 'program',
    name: 'cat',
    package: 'coreutils',
    need: 'optional',
    minimal: true,
    use: "nslab snapshot --node (a node's sysctls)",
  },
  {
    kind: 'file',
    name: '/etc/protocols',
    package: 'netbase',
    need: 'optional',
    minimal: false,
    use:
      'nftables rulesets that name a protocol nft has no keyword for (ip protocol gre, ip6 nexthdr ipv6-icmp); ' +
      "nslab's own commands give protocols as numbers",
  },
  {
    kind: 'file',
    name: '/etc/services',
    package: 'netbase',
    need: 'optional',
    minimal: false,
    use: 'nftables rulesets that name a service (tcp dport ssh)',
  },
  {
    kind: 'program',
    name: 'tar',
    package: 'tar',
    need: 'optional',
    minimal: true,
    use: 'nslab import of a sos report tarball (xz-utils for .tar.xz; a report unpacked needs no tar)',
  },
  {
    kind: 'program',
    name: 'sos',
    package: 'sosreport',
    need: 'suite',
    minimal: false,
    use: "the import tests on real sos reports (nslab import reads a report's files; it never runs sos)",
  },
  {
    kind: 'program',
    name: 'keepalived',
    package: 'keepalived',
    need: 'suite',
    minimal: false,
    version: ['keepalived', '--version'],
    use: "nslab's own test suite: the keepalived lab (examples/keepalived/vip-keepalived.yaml), a real daemon in two nodes",
  },
];

export const requirementOf = (name: string): Requirement | undefined => REQUIREMENTS.find((r) => r.name === name);

/** The programs needed for these purposes. */
export const programsFor = (...needs: Need[]): string[] =>
  REQUIREMENTS.filter((r) => r.kind === 'program' && needs.includes(r.need)).map((r) => r.name);

/** The programs a lab's own steps run, every stage applied (the optional ones among them: tc, nft). */
export function labPrograms(model: LabModel): string[] {
  const steps = buildPlan(model, { instance: model.name, stage: model.stages.at(-1)?.name }).steps;
  return [...new Set(steps.map((s) => s.tool).filter((t) => t !== 'service'))];
}

/** How to install what provides a program or file: `apt-get install PKG`. */
export const installHint = (name: string): string => `apt-get install ${requirementOf(name)?.package ?? name}`;

/**
 * Whether a file requirement is met: a regular file with something in it (an
 * empty /etc/protocols resolves no name either).
 */
export function fileUsable(path: string): boolean {
  try {
    const s = statSync(path);
    return s.isFile() && s.size > 0;
  } catch {
    return false;
  }
}

/**
 * nft's messages for a name it could not resolve through /etc/protocols or
 * /etc/services: when the file is missing, the fix is its package.
 */
export function nameResolutionHint(stderr: string): string | undefined {
  const file = /Could not resolve protocol name/.test(stderr)
    ? '/etc/protocols'
    : /Could not resolve service/.test(stderr)
      ? '/etc/services'
      : undefined;
  if (!file || fileUsable(file)) return undefined;
  return `nft reads names from ${file}, which this machine lacks: ${installHint(file)}, or write the number`;
}

/** scripts/requirements.tsv: one line per entry, what the bootstrap installs from. */
export function requirementsTsv(): string {
  const head = [
    '# Rendered from src/engine/requirements.ts by `npm run requirements`; do not edit by hand.',
    '# scripts/bootstrap.sh installs the package of every entry that is missing.',
    '# kind\tname\tpackage\tneed\tminimal\tuse',
  ];
  const rows = REQUIREMENTS.map((r) => [r.kind, r.name, r.package, r.need, r.minimal ? 'yes' : 'no', r.use].join('\t'));
  return [...head, ...rows].join('\n') + '\n';
}

// What this machine can do, and what stands in the way with how to fix it:
// privilege (root, a container's capabilities, rootless user namespaces),
// tools, kernel modules, and the pitfalls of containers (a read-only
// /proc/sys, a /run/netns without shared propagation).
import chalk from 'chalk';
import { EXIT } from '../errors.js';
import {
  isPrivileged,
  isRoot,
  kernelBasics,
  kernelFeatures,
  netnsPropagation,
  procSysReadOnly,
  toolVersion,
} from '../engine/capabilities.js';
import { onPath } from '../engine/capabilities.js';
import { fileUsable, installHint, REQUIREMENTS, type Requirement } from '../engine/requirements.js';
import { rootlessProblem } from '../engine/rootless.js';
import { stateDir } from '../engine/state.js';
import { verbVerdicts } from './doctor-verbs.js';

export interface Finding {
  id: string;
  severity: 'error' | 'warning';
  problem: string;
  fix: string;
}

const ROOTLESS_NOTE = () =>
  `${stateDir()} (the records of rootless labs; each lab's own state is on a tmpfs private to its holder)`;
const PROGRAMS = REQUIREMENTS.filter((r) => r.kind === 'program');
const FILES = REQUIREMENTS.filter((r) => r.kind === 'file');

/** A program's version where it prints one, else that it is there; null when missing. */
async function programState(r: Requirement): Promise<string | null> {
  if (r.version) return (await toolVersion(r.version)) ?? null;
  return onPath(r.name) ? 'installed' : null;
}

const MODULE_FIX = (m: string) =>
  `modprobe ${m} on the host, as root (a container cannot load modules; the host's kernel may need linux-modules-extra-$(uname -r))`;

export async function run(opts: { json?: boolean }): Promise<number> {
  const root = isRoot();
  const privileged = isPrivileged();
  const [tools, qdiscs, basics, blocked] = await Promise.all([
    Promise.all(PROGRAMS.map(async (r) => [r.name, await programState(r)] as const)).then(
      Object.fromEntries,
    ) as Promise<Record<string, string | null>>,
    kernelFeatures(),
    kernelBasics(),
    privileged ? Promise.resolve(undefined) : rootlessProblem(),
  ]);
  const mode = privileged ? 'root' : blocked ? 'none' : 'rootless';
  const verbs = verbVerdicts(blocked, onPath);
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);

  if (!privileged && root)
    add({
      id: 'no-capabilities',
      severity: blocked ? 'error' : 'warning',
      problem: 'root, but without CAP_NET_ADMIN and CAP_SYS_ADMIN (an unprivileged container)',
      fix: 'run the container with --privileged (docker run --privileged ..., or securityContext.privileged: true in Kubernetes)',
    });
  if (!privileged && blocked)
    add({
      id: 'userns-disabled',
      severity: 'error',
      problem: `${root ? 'no capabilities' : 'not root'}, and no rootless run: ${blocked.reason}`,
      fix: `${blocked.fix}${root ? '' : '; or run as root'}`,
    });
  if (!privileged && !blocked)
    add({
      id: 'rootless',
      severity: 'warning',
      problem:
        "not root: 'nslab test' runs rootless (in a user namespace of its own), and 'nslab up' leaves each lab in a holder of its own, private to this user (the verbs below)",
      fix: 'nothing to fix for rootless labs; run as root for what needs root; see docs/rootless.md',
    });
  // every entry of src/engine/requirements.ts: what the run needs is an error, what some labs need a warning
  const files = Object.fromEntries(FILES.map((r) => [r.name, fileUsable(r.name)])) as Record<string, boolean>;
  for (const r of PROGRAMS) {
    if (tools[r.name]) continue;
    const needed = r.need === 'lab' || r.need === 'test' || (r.need === 'rootless' && mode === 'rootless');
    const id = `missing-${r.name}`;
    // on PATH, but the kernel refuses to run it: file capabilities (ping's cap_net_raw) beyond what a container grants
    if (onPath(r.name))
      add({
        id: `unrunnable-${r.name}`,
        severity: needed ? 'error' : 'warning',
        problem: `'${r.name}' is installed but cannot be run here (it needs capabilities this process may not have)`,
        fix: 'run the container with --privileged (or grant the capability, e.g. --cap-add NET_RAW for ping)',
      });
    else if (needed)
      add({
        id,
        severity: 'error',
        problem: `'${r.name}' is not installed`,
        fix: `${installHint(r.name)} (or your distribution's package with ${r.name}); nslab needs it for ${r.use}`,
      });
    else if (r.need === 'optional')
      add({
        id,
        severity: 'warning',
        problem: `'${r.name}' is not installed: needed for ${r.use}`,
        fix: installHint(r.name),
      });
  }
  for (const r of FILES)
    if (!files[r.name])
      add({
        id: `missing-${r.name}`,
        severity: 'warning',
        problem: `${r.name} is missing or empty: needed for ${r.use}`,
        fix: installHint(r.name),
      });
  if (procSysReadOnly())
    add({
      id: 'proc-sys-read-only',
      severity: 'error',
      problem:
        '/proc/sys is mounted read-only (a container default): no sysctl can be set in a lab node (forwarding, rp_filter, accept_dad)',
      fix: 'run the container with --privileged, which mounts /proc/sys read-write',
    });
  const netns = netnsPropagation();
  if (netns === 'private')
    add({
      id: 'netns-not-shared',
      severity: 'warning',
      problem:
        "/run/netns is a mount without shared propagation: the lab namespaces nslab binds there are invisible to other mount namespaces (the host, other containers, 'ip netns' outside this one)",
      fix: "harmless for 'nslab test' in this container; to see labs from outside: mount --make-shared /run/netns, or bind it with shared propagation (docker run -v /run/netns:/run/netns:shared)",
    });
  // a trial that needs a missing program proves nothing about the kernel: only the missing program is reported
  if (basics.veth === false && mode !== 'none' && tools.ip)
    add({
      id: 'module-veth',
      severity: 'error',
      problem: 'the kernel cannot make veth pairs',
      fix: MODULE_FIX('veth'),
    });
  if (basics.nftables === false && tools.nft)
    add({
      id: 'module-nf_tables',
      severity: 'warning',
      problem: 'nftables rulesets cannot be loaded (no nf_tables in the kernel)',
      fix: MODULE_FIX('nf_tables'),
    });
  if (mode !== 'none' && tools.ip && tools.tc)
    for (const [q, v] of Object.entries(qdiscs))
      if (!v)
        add({
          id: `module-sch_${q}`,
          severity: 'warning',
          problem: `the kernel has no sch_${q}: labs and tests needing ${q} are reported as skipped`,
          fix: MODULE_FIX(`sch_${q}`),
        });

  const ok = !findings.some((f) => f.severity === 'error');
  if (opts.json) {
    process.stdout.write(
      JSON.stringify(
        {
          root,
          privileged,
          mode,
          tools,
          files,
          qdiscs,
          kernel: basics,
          netns,
          procSysReadOnly: procSysReadOnly(),
          stateDir: stateDir(),
          ...(privileged ? {} : { verbs }),
          node: process.version,
          ok,
          problems: findings,
        },
        null,
        2,
      ) + '\n',
    );
    return ok ? EXIT.ok : EXIT.environment;
  }
  const mark = (b: boolean) => (b ? chalk.green('yes') : chalk.red('no'));
  const lines = [
    `root:        ${mark(root)}`,
    `privileged:  ${mark(privileged)}${privileged ? '' : `  (mode: ${mode === 'rootless' ? "rootless, for 'nslab test'" : 'none'})`}`,
    `node:        ${process.version}`,
  ];
  for (const [t, v] of Object.entries(tools))
    lines.push(`${(t + ':').padEnd(12)} ${v ?? chalk.red(onPath(t) ? 'cannot be run here' : 'missing')}`);
  for (const [f, v] of Object.entries(files)) lines.push(`${f}: ${v ? 'yes' : chalk.yellow('missing')}`);
  if (tools.ip)
    for (const [k, v] of Object.entries(basics)) if (v !== undefined) lines.push(`${(k + ':').padEnd(12)} ${mark(v)}`);
  if (tools.ip && tools.tc)
    for (const [q, v] of Object.entries(qdiscs))
      lines.push(
        `${('qdisc ' + q + ':').padEnd(12)} ${mark(v)}${v ? '' : `  (labs and tests needing ${q} are skipped)`}`,
      );
  lines.push(`state dir:   ${mode === 'rootless' ? ROOTLESS_NOTE() : stateDir()}`);
  if (!privileged) {
    lines.push('without root, here:');
    const w = Math.max(...verbs.map((v) => v.verb.length));
    for (const v of verbs)
      lines.push(
        `  ${v.verb.padEnd(w)} ${v.rootless ? chalk.green('yes') : chalk.red('no')}${v.why ? `: ${v.why}` : ''}${v.note ? `  (${v.note})` : ''}${v.fix ? `\n  ${''.padEnd(w)}    fix: ${v.fix}` : ''}`,
      );
  }
  for (const f of findings)
    lines.push(
      `${f.severity === 'error' ? chalk.red('✗ error:') : chalk.yellow('! warning:')} ${f.problem}`,
      `    fix: ${f.fix}`,
    );
  lines.push(
    ok
      ? chalk.green(`ok: nslab can run here${mode === 'rootless' ? ' (rootless)' : ''}`)
      : chalk.red('not ok: fix the errors above'),
  );
  process.stdout.write(lines.join('\n') + '\n');
  return ok ? EXIT.ok : EXIT.environment;
}

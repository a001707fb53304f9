// Looking at the machine after a try, and removing what a try left. Only what
// this run made is ever removed: namespaces by the names of its labs and of its
// CLIs' probe namespaces, processes by pid and start time when they carry the
// run's marker or its sleep argument.
import { readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { $ } from 'zx/core';
import { MARK, SLEEP, nslab, sleep, startTime } from './run.mjs';

/** The lab's namespaces, by hand or as instances. */
export const nsOf = (lab) => (n) => n.startsWith(`nslab-${lab}.`);
export const netnsList = async () =>
  (await $({ nothrow: true })`ip netns list`).stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter(Boolean);
/** The capability-probe namespace names of these CLIs (nslab-probe-PID-START). */
export const probeNames = (clis) => new Set(clis.filter((c) => c.start).map((c) => `nslab-probe-${c.pid}-${c.start}`));
export const ls = (d) => {
  try {
    return readdirSync(d);
  } catch {
    return [];
  }
};
/** Deletes these namespaces, in one `ip -batch` (-force: one that is gone already does not stop the rest). */
export async function removeNamespaces(names) {
  if (names.length)
    await $({ input: names.map((n) => `netns del ${n}\n`).join(''), nothrow: true })`ip -force -batch -`;
}

function mountedNsInodes() {
  const s = new Set();
  for (const n of ls('/run/netns'))
    try {
      s.add(String(statSync(join('/run/netns', n)).ino));
    } catch {
      /* vanished */
    }
  return s;
}
/** Every process but this script: pid, start time, network namespace inode, command line, and whether it is ours. */
export function scanProcs() {
  const out = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    let ino,
      cmd = '',
      marked = false;
    try {
      ino = /\[(\d+)\]/.exec(readlinkSync(`/proc/${d}/ns/net`))?.[1];
    } catch {
      continue;
    }
    try {
      cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1').split('\0').filter(Boolean).join(' ');
    } catch {
      /* gone */
    }
    try {
      marked = readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(MARK);
    } catch {
      /* gone */
    }
    out.push({ pid: Number(d), start: startTime(d), ino, cmd, marked, ours: marked || cmd.includes(SLEEP) });
  }
  return out;
}
// the namespaces processes were in when this module loaded, before the run started anything
const startInodes = new Set(scanProcs().map((p) => p.ino));

/** SIGKILLs the processes of this run still there (by pid, the start time checked again first). */
export function killOurs() {
  for (const p of scanProcs())
    if (p.ours && startTime(p.pid) === p.start)
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
}

/**
 * What a try left: lab its lab name, dirs its private dirs, clis its CLI processes, completed whether the command ran
 * to its end.
 */
export async function leftovers(lab, dirs, clis, completed) {
  const probes = probeNames(clis);
  const netns = (await netnsList()).filter((n) => nsOf(lab)(n) || probes.has(n));
  const suspect = (p, mounted) => p.ours || (!startInodes.has(p.ino) && !mounted.has(p.ino));
  let procs = scanProcs().filter((p) => suspect(p, mountedNsInodes()));
  if (procs.length) {
    await sleep(500);
    const mounted = mountedNsInodes();
    const now = new Map(scanProcs().map((p) => [p.pid, p]));
    procs = procs.filter((p) => {
      const q = now.get(p.pid);
      return q && q.start === p.start && suspect(q, mounted);
    });
  }
  const state = ls(dirs.state)
    .filter((n) => !((n === 'logs' || n === 'work') && !ls(join(dirs.state, n)).length))
    .flatMap((n) => (n === 'logs' || n === 'work' ? ls(join(dirs.state, n)).map((m) => `${n}/${m}`) : [n]));
  const workDirs = state.filter((n) => n.startsWith('work/'));
  const tmp = ls(dirs.tmp);
  const arts = tmp.filter((n) => n.startsWith('nslab-artifacts-'));
  const show = (p) => `${p.pid} ${p.cmd}`.slice(0, 160);
  return {
    netns,
    procs: procs.filter((p) => p.ours).map(show),
    foreign: procs.filter((p) => !p.ours).map(show),
    state: state.filter((n) => !n.startsWith('work/')),
    work: workDirs,
    artifacts: completed ? tmp.filter((n) => !arts.includes(n)) : tmp,
    kept: completed ? arts.map((a) => `${a}: ${ls(join(dirs.tmp, a)).join(' ')}`) : [],
  };
}

/**
 * Removes what is left of a lab of this run: its records (down --all on its private state dir), namespaces by name,
 * processes by pid.
 */
export async function sweep(lab, dirs, clis) {
  if (ls(dirs.state).some((n) => n.endsWith('.json'))) await nslab(['down', '--all'], dirs, 120_000);
  const probes = probeNames(clis);
  const ns = (await netnsList()).filter((n) => nsOf(lab)(n) || probes.has(n));
  killOurs();
  await removeNamespaces(ns);
  rmSync(dirs.state, { recursive: true, force: true });
  rmSync(dirs.tmp, { recursive: true, force: true });
}

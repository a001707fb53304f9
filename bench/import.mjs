#!/usr/bin/env node
// Benchmark: `nslab import` of generated snapshots of a multi-homed machine
// with N interfaces, and `nslab validate` of the lab it writes: wall time, CPU
// time (user + system: what a loaded machine changes least) and peak RSS (GNU
// time's %M, the maximum resident set size in KiB), medians; the load average
// before and after, since other work on the machine moves the wall times.
// The snapshot is what `nslab snapshot` writes of such a machine: interface K
// (eth0..) with 10.A.B.10/24 (and every fourth with 2001:db8:K::10/64), the
// kernel's own routes (subnet routes, the local table), a default route via
// eth0's gateway, and per interface a routing table (a name for every tenth)
// with its subnet route and default route, and a rule from its address: what
// policy routing on a multi-homed server looks like. Needs no root.
// Usage: node bench/import.mjs [runs=5] [sizes=100,1000]
//        node bench/import.mjs --write N FILE   (only write the snapshot)
// NSLAB_BENCH_CLI=path/to/main.js measures another build (before/after).
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { $ } from 'zx/core';

export function multiHomed(n) {
  const sub = (k) => `10.${Math.floor(k / 256)}.${k % 256}`;
  const lo = {
    ifindex: 1,
    ifname: 'lo',
    flags: ['LOOPBACK', 'UP', 'LOWER_UP'],
    mtu: 65536,
    operstate: 'UNKNOWN',
    link_type: 'loopback',
  };
  const links = [lo];
  const forever = { valid_life_time: 4294967295, preferred_life_time: 4294967295 };
  const hex = (n) => n.toString(16).padStart(2, '0');
  const flags = [];
  const addresses = [
    {
      ...links[0],
      addr_info: [
        { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host', label: 'lo' },
        { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
      ],
    },
  ];
  const r4 = [{ dst: 'default', gateway: '10.0.0.1', dev: 'eth0', flags: [] }];
  const r6 = [];
  const u4 = [{ priority: 0, src: 'all', table: 'local' }];
  const tables = {};
  const sysctl = {
    'net.ipv4.ip_forward': '0',
    'net.ipv4.conf.all.rp_filter': '2',
    'net.ipv4.conf.default.rp_filter': '2',
  };
  for (let k = 0; k < n; k++) {
    const ifname = `eth${k}`;
    const link = {
      ifindex: k + 2,
      ifname,
      flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'],
      mtu: 1500,
      operstate: 'UP',
      link_type: 'ether',
      address: `02:00:00:00:${hex(k >> 8)}:${hex(k & 255)}`,
    };
    links.push(link);
    const info = [{ family: 'inet', local: `${sub(k)}.10`, prefixlen: 24, scope: 'global', label: ifname, ...forever }];
    if (k % 4 === 0) {
      info.push({
        family: 'inet6',
        local: `2001:db8:${k.toString(16)}::10`,
        prefixlen: 64,
        scope: 'global',
        ...forever,
      });
      r6.push({
        dst: `2001:db8:${k.toString(16)}::/64`,
        dev: ifname,
        protocol: 'kernel',
        metric: 256,
        flags: [],
        pref: 'medium',
      });
    }
    addresses.push({ ...link, addr_info: info });
    const table = 1000 + k;
    if (k % 10 === 0) tables[table] = `uplink${k}`;
    const t = tables[table] ?? String(table);
    r4.push(
      { dst: `${sub(k)}.0/24`, dev: ifname, protocol: 'kernel', scope: 'link', prefsrc: `${sub(k)}.10`, flags: [] },
      { dst: `${sub(k)}.0/24`, dev: ifname, table: t, scope: 'link', prefsrc: `${sub(k)}.10`, flags: [] },
      { dst: 'default', gateway: `${sub(k)}.1`, dev: ifname, table: t, flags: [] },
      {
        type: 'local',
        dst: `${sub(k)}.10`,
        dev: ifname,
        table: 'local',
        protocol: 'kernel',
        scope: 'host',
        prefsrc: `${sub(k)}.10`,
        flags,
      },
      {
        type: 'broadcast',
        dst: `${sub(k)}.255`,
        dev: ifname,
        table: 'local',
        protocol: 'kernel',
        scope: 'link',
        prefsrc: `${sub(k)}.10`,
        flags,
      },
    );
    u4.push({ priority: 1000 + k, src: `${sub(k)}.10`, table: t });
    sysctl[`net.ipv4.conf.${ifname}.rp_filter`] = '2';
  }
  u4.push({ priority: 32766, src: 'all', table: 'main' }, { priority: 32767, src: 'all', table: 'default' });
  return {
    'nslab-snapshot': 1,
    taken: '2026-11-23T12:00:00.000Z',
    name: `multihomed${n}`,
    source: `bench/import.mjs, ${n} interfaces`,
    links,
    addresses,
    routes: { 4: r4, 6: r6 },
    rules: {
      4: u4,
      6: [
        { priority: 0, src: 'all', table: 'local' },
        { priority: 32766, src: 'all', table: 'main' },
      ],
    },
    tables,
    sysctl,
  };
}

const cli = process.env.NSLAB_BENCH_CLI || new URL('../dist/bin/main.js', import.meta.url).pathname;
const GNU_TIME = '/usr/bin/time';
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

/** Wall and CPU seconds and peak RSS (KiB) of one command, by GNU time; its stderr if it failed. */
async function timed(argv) {
  // GNU time times its child alone: the shell zx starts it from is not in the figures
  const r = await $({ nothrow: true, quiet: true })`${GNU_TIME} -f ${'@@ %e %U %S %M'} ${argv}`;
  const m = /@@ ([\d.]+) ([\d.]+) ([\d.]+) (\d+)\s*$/.exec(r.stderr);
  if (r.exitCode !== 0 || !m) throw new Error(`${argv.join(' ')} failed (${r.exitCode}): ${r.stderr.slice(-2000)}`);
  return { s: Number(m[1]), cpu: Number(m[2]) + Number(m[3]), kib: Number(m[4]) };
}

async function main() {
  if (process.argv[2] === '--write') {
    writeFileSync(process.argv[4], JSON.stringify(multiHomed(Number(process.argv[3])), null, 1) + '\n');
    return;
  }
  if (!existsSync(GNU_TIME)) {
    console.error('bench: GNU time is missing (peak RSS): apt-get install time');
    process.exit(3);
  }
  const runs = Number(process.argv[2] ?? 5);
  const sizes = (process.argv[3] ?? '100,1000').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'nslab-bench-import-'));
  const rows = [];
  const load = [loadavg()[0]];
  try {
    for (const n of sizes) {
      const snap = join(dir, `snap${n}.json`);
      const lab = join(dir, `lab${n}.yaml`);
      writeFileSync(snap, JSON.stringify(multiHomed(n), null, 1) + '\n');
      const imp = [],
        val = [];
      for (let i = 0; i < runs; i++) {
        rmSync(lab, { force: true });
        imp.push(await timed([process.execPath, cli, 'import', snap, '-o', lab]));
        val.push(await timed([process.execPath, cli, 'validate', lab]));
      }
      const row = {
        interfaces: n,
        snapshotBytes: statSync(snap).size,
        labBytes: statSync(lab).size,
        importS: median(imp.map((x) => x.s)),
        importCpuS: median(imp.map((x) => x.cpu)),
        importMiB: median(imp.map((x) => x.kib)) / 1024,
        validateS: median(val.map((x) => x.s)),
        validateCpuS: median(val.map((x) => x.cpu)),
        validateMiB: median(val.map((x) => x.kib)) / 1024,
      };
      rows.push(row);
      const f = (s, cpu, mib) => `${s.toFixed(2)} s (cpu ${cpu.toFixed(2)} s), ${mib.toFixed(0)} MiB`;
      console.log(
        `${n} interfaces (snapshot ${(row.snapshotBytes / 1e6).toFixed(2)} MB, lab ${(row.labBytes / 1e6).toFixed(2)} MB): ` +
          `import ${f(row.importS, row.importCpuS, row.importMiB)}; ` +
          `validate ${f(row.validateS, row.validateCpuS, row.validateMiB)} (medians of ${runs})`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  load.push(loadavg()[0]);
  console.log(`load average ${load[0].toFixed(2)} at the start, ${load[1].toFixed(2)} at the end`);
  const results = { date: new Date().toISOString(), runs, load, rows };
  writeFileSync(new URL('./results-import.json', import.meta.url), JSON.stringify(results, null, 1) + '\n');
}

if (process.argv[1] && new URL(import.meta.url).pathname === process.argv[1]) await main();

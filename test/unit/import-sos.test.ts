// nslab import of a sos report (issue 18, item 3), without root: the text parsers against lines saved from real sos
// 4.0 output (test/fixtures/sos: a report of a namespace built as the corpus hosts are, and `nslab snapshot` of the
// same namespace), the report read as a folder and as a tarball into the same lab as the snapshot's (less the
// recorded decisions, which a sos report has not, said), and hostile reports: each refused with exit 2 at the file
// inside the report and its line, nothing left behind.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { reported } from './reported.js';
import { LabFileError } from '../../src/errors.js';
import { importFile } from '../../src/import/import-file.js';
import { readRegularFile } from '../../src/import/sos-report.js';
import { parseAddresses, parseRoutes, parseRules } from '../../src/import/iproute-text.js';

const FIX = 'test/fixtures/sos';
const REPORT = `${FIX}/sosreport-vm-2026-12-07-oaqhzag`;
const NET = `${REPORT}/sos_commands/networking`;
const SNAP = JSON.parse(readFileSync(`${FIX}/vm-snapshot.json`, 'utf8')) as {
  routes: Record<'4' | '6', Record<string, unknown>[]>;
  rules: Record<'4' | '6', Record<string, unknown>[]>;
  addresses: { ifname: string; mtu: number; flags: string[]; addr_info: Record<string, unknown>[] }[];
};
const temps: string[] = [];
const temp = () => {
  const d = mkdtempSync(join(tmpdir(), 'nslab-sos-test-'));
  temps.push(d);
  return d;
};
afterAll(() => temps.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Only the fields `ip -j` prints that the text has too (ip -j adds lifetimes, labels, ifindex, ...). */
const pick = (o: Record<string, unknown>, keys: string[]) =>
  Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));

describe('the text parsers read what ip -j says of the same namespace', () => {
  it('routes: both files, every field the snapshot has', () => {
    const six = parseRoutes(readFileSync(`${NET}/ip_-6_route_show_table_all`, 'utf8'));
    expect(six.problems).toEqual([]);
    expect(six.items.map((x) => x.item)).toEqual(SNAP.routes['6']);
    const all = parseRoutes(readFileSync(`${NET}/ip_route_show_table_all`, 'utf8'));
    expect(all.problems).toEqual([]);
    // iproute2 6.x prints both families here: the IPv4 routes first, then the -6 file's
    expect(all.items.map((x) => x.item)).toEqual([...SNAP.routes['4'], ...SNAP.routes['6']]);
    // the twin: a route lost its `from` (source-specific) and a nexthop its weight: not equal
    const lost = parseRoutes(
      readFileSync(`${NET}/ip_-6_route_show_table_all`, 'utf8').replace('from 2001:db8:1::/64 ', ''),
    );
    expect(lost.items.map((x) => x.item)).not.toEqual(SNAP.routes['6']);
  });

  it('rules of both families: not, uidrange, a port range, goto [unresolved], a mask', () => {
    for (const f of ['4', '6'] as const) {
      const r = parseRules(readFileSync(`${NET}/ip_-${f}_rule`, 'utf8'), f === '4' ? 4 : 6);
      expect(r.problems).toEqual([]);
      expect(r.items.map((x) => x.item)).toEqual(SNAP.rules[f]);
    }
    const notLost = parseRules('32764:\tfrom all fwmark 0xca6c lookup 51820\n', 4).items[0]!.item;
    expect(notLost).not.toEqual(SNAP.rules['4'].find((r) => r.priority === 32764));
  });

  it('addresses: names, flags, MTU, each address with its prefix and scope', () => {
    const a = parseAddresses(readFileSync(`${NET}/ip_-d_address`, 'utf8'));
    expect(a.problems).toEqual([]);
    const keys = ['family', 'local', 'prefixlen', 'scope', 'address'];
    expect(
      a.items.map(({ item }) => ({
        ...item,
        addr_info: (item.addr_info as Record<string, unknown>[]).map((x) => pick(x, keys)),
      })),
    ).toEqual(
      SNAP.addresses.map((l) => ({
        ifname: l.ifname,
        flags: l.flags,
        mtu: l.mtu,
        addr_info: l.addr_info.map((x) => pick(x, keys)),
      })),
    );
    const peer = parseAddresses(
      '7: wg0: <POINTOPOINT,UP> mtu 1420 qdisc noqueue\n    inet 10.0.0.1 peer 10.0.0.2/32 scope global wg0\n',
    );
    expect(peer.items[0]!.item.addr_info).toEqual([
      { family: 'inet', local: '10.0.0.1', address: '10.0.0.2', prefixlen: 32, scope: 'global' },
    ]);
  });

  it('refuses what iproute2 does not print, at its line and column', () => {
    expect(parseRules('100:\tfrom all frobnicate 3 lookup 5\n', 4).problems).toEqual([
      { line: 1, col: 15, message: "'frobnicate' is not a word nslab import knows in a rule" },
    ]);
    expect(parseRules('from all lookup main\n', 4).problems[0]).toMatchObject({ line: 1, col: 1 });
    expect(parseRules('100:\tfrom 2001:db8::/64 lookup 5\n', 4).problems[0]!.message).toMatch(/not 'all' or an IPv4/);
    expect(parseRoutes('10.0.0.0/8 dev eth0 sideways\n').problems[0]).toMatchObject({ line: 1, col: 21 });
    expect(parseRoutes('  nexthop via 10.0.0.1\n').problems[0]!.message).toMatch(/not a nexthop of the route above/);
    expect(parseRoutes('10.0.0.0/8 dev eth0 metric lots\n').problems[0]!.message).toMatch(
      /metric 'lots' is not a number/,
    );
    expect(parseAddresses('hello\n').problems[0]).toMatchObject({ line: 1, col: 1 });
    expect(
      parseAddresses('2: eth0: <UP> mtu 1500\n    inet 10.0.0.300/24 scope global eth0\n').problems[0],
    ).toMatchObject({
      line: 2,
    });
    expect(parseRoutes('default via 10.0.0.1 dev eth0\u001b[2J\n').problems[0]!.message).toMatch(/control character/);
  });
});

/** What `nslab import` prints on stderr and its exit status, in process. */
async function imported(path: string, netns?: string) {
  const notes: string[] = [];
  try {
    const r = await importFile(path, { netns });
    notes.push(...r.notes);
    return { code: 0, stderr: '', text: r.text, notes, summary: r.summary };
  } catch (e) {
    return { ...reported(e), text: '', notes, summary: '' };
  }
}

type Lab = { nodes: Record<string, Record<string, unknown>>; stages: { tests: { name: string }[] }[] };
/** The lab less its descriptions and the recorded decisions' tests (which a sos report has not). */
function comparable(text: string) {
  const lab = parse(text) as Lab & { description?: string };
  delete lab.description;
  for (const n of Object.values(lab.nodes)) delete n.description;
  for (const s of lab.stages) s.tests = s.tests.filter((t) => !t.name.startsWith('decides as the host did'));
  return lab;
}

describe('nslab import of a sos report', () => {
  it('the folder and the tarball give the lab the snapshot of the same host gives, less its recorded decisions', async () => {
    const snap = await imported(`${FIX}/vm-snapshot.json`);
    expect(snap.code, snap.stderr).toBe(0);
    const folder = await imported(REPORT);
    expect(folder.code, folder.stderr).toBe(0);
    expect(comparable(folder.text)).toEqual(comparable(snap.text));
    expect(folder.summary).toMatch(/no recorded decisions \(a sos report has none\)/);
    expect(folder.text).toMatch(/^# note: a sos report holds no answers of 'ip route get'/m);
    expect(folder.notes.join('\n')).toMatch(/also holds namespace hsos-probe: import one with --netns NAME/);
    // the same notes on what the lab lacks (the report adds its own: no decisions, no sysctls, the namespace)
    for (const n of snap.notes) expect(folder.notes).toContain(n);
    const dir = temp();
    const tarball = join(dir, 'sosreport-vm-2026-12-07-oaqhzag.tar.xz');
    expect(spawnSync('tar', ['-cJf', tarball, '-C', FIX, 'sosreport-vm-2026-12-07-oaqhzag']).status).toBe(0);
    const tar = await imported(tarball);
    expect(tar.code, tar.stderr).toBe(0);
    expect(comparable(tar.text)).toEqual(comparable(snap.text));
    // the twin: a report whose rule lost its `not` is not the same lab
    const changed = join(temp(), 'r');
    cpSync(REPORT, changed, { recursive: true });
    const rules = join(changed, 'sos_commands/networking/ip_-4_rule');
    writeFileSync(rules, readFileSync(rules, 'utf8').replace('not from all', 'from all'));
    expect(comparable((await imported(changed)).text)).not.toEqual(comparable(snap.text));
    // nothing of the tarball is left in the temporary directory
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('nslab-sos-') && !f.startsWith('nslab-sos-test'))).toEqual(
      [],
    );
  });

  it('--netns: a namespace of the report, with what sos did not save for it said; an unknown one lists the others', async () => {
    const ns = await imported(REPORT, 'hsos-probe');
    expect(ns.code, ns.stderr).toBe(0);
    expect(ns.notes.join('\n')).toMatch(/no ip -4 rule for namespace 'hsos-probe'/);
    const none = await imported(REPORT, 'nope');
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /sosreport-vm-2026-12-07-oaqhzag:1:1: the report has no namespace 'nope' \(its namespaces: hsos-probe\)/,
    );
    const snapNs = await imported(`${FIX}/vm-snapshot.json`, 'x');
    expect(snapNs.code).toBe(2);
  });
});

/** A copy of the fixture report, changed by EDIT, imported: refused with exit 2 at FILE:LINE. */
async function hostile(edit: (dir: string) => void) {
  const dir = join(temp(), 'sosreport-x-2026-01-01-abc');
  cpSync(REPORT, dir, { recursive: true });
  edit(dir);
  return { dir, ...(await imported(dir)) };
}

describe('hostile and malformed reports: exit 2, located, nothing made', () => {
  it('an unknown line in a file, at the file inside the report and its line', async () => {
    const r = await hostile((d) =>
      writeFileSync(join(d, 'sos_commands/networking/ip_-6_rule'), '0:\tfrom all lookup local\nrm -rf /\n'),
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/sos_commands\/networking\/ip_-6_rule:2:1: not a line of ip rule/);
    expect(r.stderr).toMatch(/hint: this is not what iproute2 prints/);
  });

  it('a symlink leading outside the folder', async () => {
    const r = await hostile((d) => symlinkSync('/etc/shadow', join(d, 'sos_commands/networking/ip_-4_rule_list')));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ip_-4_rule_list:1:1: a symlink to '\/etc\/shadow', outside the report/);
    const up = await hostile((d) => symlinkSync('../../../../..', join(d, 'etc/up')));
    expect(up.stderr).toMatch(/etc\/up:1:1: a symlink to '..\/..\/..\/..\/..', outside the report/);
    // the twin: a symlink inside the report (as sos makes: proc/net -> self/net) is no problem
    const ok = await hostile((d) => symlinkSync('sos_commands/networking/ip_-4_rule', join(d, 'route')));
    expect(ok.code, ok.stderr).toBe(0);
  });

  it('a tarball with a member named ../ or a link out is refused before anything is extracted', async () => {
    const d = temp();
    mkdirSync(join(d, 'a'));
    cpSync(REPORT, join(d, 'a/r'), { recursive: true });
    writeFileSync(join(d, 'evil'), 'x');
    const t = join(d, 'a/bad.tar.gz');
    expect(spawnSync('tar', ['-czf', t, '-C', join(d, 'a'), '-P', 'r', '../evil']).status).toBe(0);
    const r = await imported(t);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/member '..\/evil': its name leaves the report/);
    symlinkSync('/etc', join(d, 'a/r/etc/out'));
    const t2 = join(d, 'a/bad2.tar.gz');
    expect(spawnSync('tar', ['-czf', t2, '-C', join(d, 'a'), 'r']).status).toBe(0);
    const r2 = await imported(t2);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/member 'r\/etc\/out': a symlink to '\/etc', outside the report/);
    expect(existsSync(join(d, 'evil'))).toBe(true);
  });

  it('a huge file, an empty folder, a file that is no tarball', async () => {
    const big = await hostile((d) => {
      const f = join(d, 'sos_commands/networking/ip_-4_rule');
      writeFileSync(f, '0:\tfrom all lookup local\n'.repeat((33 << 20) / 24));
    });
    expect(big.code).toBe(2);
    expect(big.stderr).toMatch(/ip_-4_rule:1:1: \d+ bytes, more than the 33554432 nslab import reads of one file/);
    const empty = await imported(temp());
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/not a sos report with its networking plugin/);
    const junk = join(temp(), 'x.tar.xz');
    writeFileSync(junk, 'not a tarball');
    const j = await imported(junk);
    expect(j.code).toBe(2);
    expect(j.stderr).toMatch(/x\.tar\.xz:1:1: not a tarball tar can read/);
  });

  it('a problem found after parsing is said at the line it came from (an address where import puts its routers)', async () => {
    const r = await hostile((d) => {
      const f = join(d, 'sos_commands/networking/ip_-d_address');
      writeFileSync(f, readFileSync(f, 'utf8').replace('inet 10.0.0.220/24', 'inet 198.18.0.9/24'));
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/ip_-d_address:13:1: 198\.18\.0\.9\/24 is in 198\.18\.0\.0\/15/);
  });

  it('a tarball with a device, a FIFO or a name given twice (a hard link too) is refused at listing, nothing extracted', async () => {
    const d = temp();
    const tmp = join(d, 'tmp');
    mkdirSync(tmp);
    cpSync(REPORT, join(d, 'r'), { recursive: true });
    const addr = 'r/sos_commands/networking/ip_-d_address';
    // python's tarfile writes members tar -c cannot (a device without root), after the regular ones
    const make = (name: string, extra: string) => {
      const t = join(d, name);
      const py = [
        'import sys, tarfile',
        'with tarfile.open(sys.argv[1], "w:gz") as t:',
        '    t.add("r")',
        ...extra.split('\n').map((l) => `    ${l}`),
      ].join('\n');
      const r = spawnSync('python3', ['-c', py, t], { cwd: d, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return t;
    };
    const member = (type: string, more = '') =>
      `m = tarfile.TarInfo(${JSON.stringify(addr)}); m.type = tarfile.${type}; ${more}t.addfile(m)`;
    const dev = make('dev.tar.gz', member('CHRTYPE', 'm.devmajor = 1; m.devminor = 5; '));
    const fifo = make('fifo.tar.gz', member('FIFOTYPE'));
    const link = make('link.tar.gz', member('LNKTYPE', 'm.linkname = "r/etc/hostname"; '));
    const fine = make('fine.tar.gz', 'pass');
    const env = process.env.TMPDIR;
    process.env.TMPDIR = tmp; // where the extraction would go
    try {
      const r = await imported(dev);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(
        /dev\.tar\.gz:1:1: .*member 'r\/sos_commands\/networking\/ip_-d_address': a character device/,
      );
      const f = await imported(fifo);
      expect(f.code).toBe(2);
      expect(f.stderr).toMatch(/member 'r\/sos_commands\/networking\/ip_-d_address': a FIFO/);
      // a hard link named as a file import reads replaced its text with another file's
      const l = await imported(link);
      expect(l.code).toBe(2);
      expect(l.stderr).toMatch(/member 'r\/sos_commands\/networking\/ip_-d_address': given twice in the tarball/);
      expect(readdirSync(tmp)).toEqual([]);
      // the twin: the same report without the extra member imports, and its temporary directory is gone
      const ok = await imported(fine);
      expect(ok.code, ok.stderr).toBe(0);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      if (env === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = env;
    }
  });

  it('the reader opens nothing but a regular file, and says a problem at the name it is given', () => {
    const d = temp();
    writeFileSync(join(d, 'f'), 'text\n');
    expect(readRegularFile(join(d, 'f'), 'r.tar: member f')).toBe('text\n');
    const problem = (path: string) => {
      try {
        readRegularFile(path, 'r.tar: member x');
      } catch (e) {
        expect(e).toBeInstanceOf(LabFileError);
        return (e as LabFileError).problems[0]!;
      }
      throw new Error('read');
    };
    // a device is not opened (lstat first): opening one can have effects
    expect(problem('/dev/null')).toMatchObject({
      file: 'r.tar: member x',
      message: /a character device, not a regular/,
    });
    symlinkSync(join(d, 'f'), join(d, 'l'));
    expect(problem(join(d, 'l'))).toMatchObject({ file: 'r.tar: member x', message: /a symlink, not a regular file/ });
    expect(spawnSync('mkfifo', [join(d, 'p')]).status).toBe(0);
    expect(problem(join(d, 'p'))).toMatchObject({ message: /a FIFO, not a regular file: not opened/ });
  });

  it('an input that is a FIFO named like a tarball is refused, not waited on', async () => {
    const p = join(temp(), 'x.tar');
    expect(spawnSync('mkfifo', [p]).status).toBe(0);
    const r = await imported(p);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/x\.tar:1:1: not a regular file or folder \(a FIFO\)/);
  });

  it('SIGTERM while a tarball is extracted: exit 143, its temporary directory removed', async () => {
    const d = temp();
    const tmp = join(d, 'tmp');
    mkdirSync(tmp);
    cpSync(REPORT, join(d, 'r'), { recursive: true });
    // a member import does not read, after those it does: tar -x reads through it while the directory exists
    expect(spawnSync('truncate', ['-s', '256M', join(d, 'r/zz')]).status).toBe(0);
    const t = join(d, 'big.tar.gz');
    const made = spawnSync('sh', ['-c', `tar -cf - --sort=name -C "${d}" r | gzip -1 > "${t}"`]);
    expect(made.status).toBe(0);
    rmSync(join(d, 'r'), { recursive: true });
    const child = spawn(process.execPath, [join(process.cwd(), 'dist/bin/main.js'), 'import', t], {
      env: { ...process.env, TMPDIR: tmp },
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    let sawDir = false;
    for (let i = 0; i < 3000 && child.exitCode === null; i++) {
      if (readdirSync(tmp).some((n) => n.startsWith('nslab-sos-'))) {
        sawDir = true;
        break;
      }
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(sawDir).toBe(true); // the twin: the directory was there while tar ran
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

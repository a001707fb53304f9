// Issue 18, item 3, end to end through the shipped CLI on real sos output: each host of the import corpus
// (corpus-hosts.ts) is built in a namespace of this test's own; `nslab snapshot` is taken inside it, and `sos report
// --batch --only-plugins networking` is run inside it; both are imported, the report as its tarball and as the folder
// it unpacks to, and the labs must be the same (addresses, routes, rules, tables, notes; less the recorded decisions,
// which a sos report has not, said in the notes and the summary); `nslab test` passes on the lab made of the report.
// SAFETY: sos's networking plugin runs commands in every namespace `ip netns` lists, and other people's labs are on
// this machine. sos runs in a private mount namespace in which /run/netns is a fresh tmpfs holding only this test's
// namespace, /var/tmp a folder of this test's (sos makes its own temporary files there), and the report goes to a
// temporary directory of this test's: sos touches nothing it did not create. Where sos is not installed, skipped.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildHost, CORPUS } from './corpus-hosts.js';
import { CLI, cli, isRoot, NOT_ROOT, sh, tempDir, uid } from './helpers.js';

const RUN = `his${uid()}`;
const made: string[] = [];
const dirs: string[] = [];
afterAll(() => {
  for (const ns of made) spawnSync('ip', ['netns', 'del', ns]);
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  expect(sh(['ip', 'netns', 'list']).includes(RUN)).toBe(false);
});

const hasSos = spawnSync('sos', ['--help'], { encoding: 'utf8' }).status === 0;
const NO_SOS = "sos is not installed (Debian's sosreport package: apt-get install sosreport; scripts/test installs it)";

/** `sos report` inside the namespace NS, seeing no namespace but NS: the tarball it wrote, in DIR. */
function sosReport(ns: string, dir: string): string {
  mkdirSync(join(dir, 'var-tmp'));
  mkdirSync(join(dir, 'out'));
  writeFileSync(join(dir, 'net'), '');
  const script = [
    'set -e',
    // the namespace is kept by a file of our own before /run/netns is hidden by a fresh, private tmpfs
    'mount --bind "/run/netns/$1" "$2/net"',
    'mount -t tmpfs -o mode=0755 nslab-sos-netns /run/netns',
    'touch "/run/netns/$1"',
    'mount --bind "$2/net" "/run/netns/$1"',
    'mount --bind "$2/var-tmp" /var/tmp',
    'exec ip netns exec "$1" sos report --batch --only-plugins networking --tmp-dir "$2/out"',
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', ns, dir], {
    encoding: 'utf8',
    env: { ...process.env, TMPDIR: join(dir, 'var-tmp') },
  });
  expect(r.status, r.stderr + r.stdout).toBe(0);
  const tarballs = readdirSync(join(dir, 'out')).filter((f) => /^sosreport-.*\.tar\.xz$/.test(f));
  expect(tarballs.length).toBe(1);
  return join(dir, 'out', tarballs[0]!);
}

type Lab = {
  description?: string;
  nodes: Record<string, Record<string, unknown>>;
  stages: { tests: { name: string }[] }[];
};
/**
 * The lab less its descriptions, the recorded decisions' tests and the host's sysctls: a sos report has no decisions,
 * and its networking plugin saves no sysctls (both said in the notes, checked below).
 */
function comparable(text: string) {
  const lab = parse(text) as Lab;
  delete lab.description;
  for (const n of Object.values(lab.nodes)) {
    delete n.description;
    delete n.sysctl;
  }
  for (const s of lab.stages) s.tests = s.tests.filter((t) => !t.name.startsWith('decides as the host did'));
  return lab;
}
/** The verdict of each reply test of a lab (`nslab test --grep 'replies to'`): ✓ or ✗ and its name. */
function verdicts(lab: string): string[] {
  const t = cli(['test', lab, '--grep', 'replies to']);
  expect(t.code === 0 || t.code === 1, t.stderr).toBe(true);
  return t.stdout
    .split('\n')
    .filter((l) => /^[✓✗] /.test(l))
    .map((l) => l.replace(/ \d+ ms$/, ''))
    .sort();
}
const notesOf = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('nslab import: note: '));
/** The notes only a report has: what sos does not save, the other namespaces. */
const SOS_ONLY = /a sos report holds no answers|the report has no sysctl -a|the report also holds namespace/;

describe.skipIf(!isRoot || !hasSos)('nslab import of a real sos report of each corpus host (issue 18)', () => {
  for (const key of Object.keys(CORPUS))
    it(`${key}: the tarball and the folder give the lab its snapshot gives, and nslab test the same verdicts`, () => {
      const ns = `${RUN}-${key}`;
      sh(['ip', 'netns', 'add', ns]);
      made.push(ns);
      buildHost(ns, key);
      const dir = tempDir();
      dirs.push(dir);
      const snapFile = join(dir, 'snap.json');
      const s = spawnSync('ip', ['netns', 'exec', ns, 'node', CLI, 'snapshot', '-o', snapFile], { encoding: 'utf8' });
      expect(s.status, s.stderr).toBe(0);
      // the snapshot's name is this machine's host name, as the report's is (etc/hostname)
      const fromSnap = cli(['import', snapFile, '-o', join(dir, 'snap.yaml')]);
      expect(fromSnap.code, fromSnap.stderr).toBe(0);
      const tarball = sosReport(ns, dir);
      const fromTar = cli(['import', tarball, '-o', join(dir, 'tar.yaml')]);
      expect(fromTar.code, fromTar.stderr).toBe(0);
      const unpacked = join(dir, 'unpacked');
      mkdirSync(unpacked);
      sh(['tar', '-xf', tarball, '-C', unpacked]);
      const folder = join(unpacked, readdirSync(unpacked)[0]!);
      const fromDir = cli(['import', folder, '-o', join(dir, 'dir.yaml')]);
      expect(fromDir.code, fromDir.stderr).toBe(0);

      const snapLab = comparable(readFileSync(join(dir, 'snap.yaml'), 'utf8'));
      const tarText = readFileSync(join(dir, 'tar.yaml'), 'utf8');
      expect(comparable(tarText)).toEqual(snapLab);
      expect(comparable(readFileSync(join(dir, 'dir.yaml'), 'utf8'))).toEqual(snapLab);
      // the same notes, but for those only a report has (and the snapshot's sysctls: sos's networking plugin has none)
      const snapNotes = notesOf(fromSnap.stderr);
      expect(notesOf(fromTar.stderr).filter((n) => !SOS_ONLY.test(n))).toEqual(snapNotes);
      expect(notesOf(fromDir.stderr)).toEqual(notesOf(fromTar.stderr));
      // no recorded decisions, said: in the notes, the lab file and the summary
      expect(fromTar.stderr).toMatch(/note: a sos report holds no answers of 'ip route get'/);
      expect(tarText).toMatch(/^# note: a sos report holds no answers of 'ip route get'/m);
      expect(fromTar.stderr).toMatch(/no recorded decisions \(a sos report has none\); left out: /);
      // the summary counts the same addresses, routes and rules
      const counts = (e: string) => /imported (\d+ address\w*, \d+ routes?, \d+ rules?)/.exec(e)?.[1];
      expect(counts(fromTar.stderr)).toBe(counts(fromSnap.stderr));

      // nslab test on the report's lab gives the verdicts the snapshot's lab gives: all pass where the host answers
      // where it was asked; where the host itself replies by another interface (a default route elsewhere and no
      // rule for that source), the same reply tests fail in both, as on the host
      const fromReport = verdicts(join(dir, 'tar.yaml'));
      expect(fromReport.length).toBeGreaterThan(0);
      expect(fromReport).toEqual(verdicts(join(dir, 'snap.yaml')));
    }, 600_000);

  it('the twin: a report of the host with one rule less is not the same lab', () => {
    const ns = `${RUN}-twin`;
    sh(['ip', 'netns', 'add', ns]);
    made.push(ns);
    buildHost(ns, 'dualisp');
    const dir = tempDir();
    dirs.push(dir);
    const s = spawnSync('ip', ['netns', 'exec', ns, 'node', CLI, 'snapshot', '-o', join(dir, 's.json')], {
      encoding: 'utf8',
    });
    expect(s.status, s.stderr).toBe(0);
    expect(cli(['import', join(dir, 's.json'), '-o', join(dir, 's.yaml')]).code).toBe(0);
    sh(['ip', '-n', ns, 'rule', 'del', 'prio', '301']);
    const tarball = sosReport(ns, dir);
    expect(cli(['import', tarball, '-o', join(dir, 't.yaml')]).code).toBe(0);
    expect(comparable(readFileSync(join(dir, 't.yaml'), 'utf8'))).not.toEqual(
      comparable(readFileSync(join(dir, 's.yaml'), 'utf8')),
    );
  }, 600_000);
});

if (!isRoot) describe('nslab import of sos reports', () => it.skip(`sos reports: ${NOT_ROOT}`, () => {}));
else if (!hasSos) describe('nslab import of sos reports', () => it.skip(`sos reports: ${NO_SOS}`, () => {}));

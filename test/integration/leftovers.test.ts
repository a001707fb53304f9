// scripts/leftovers.mjs, which scripts/test runs after the suite: a namespace
// that appeared during the run and whose record names a lab file of this
// checkout or of the run's temporary directory fails it (exit 1); one that was
// there before, one without a record and another checkout's are named or passed
// over, never failed. A real namespace of this test's own, and private state and
// run directories (other tests' labs come and go meanwhile: found without a
// record here, they are only named).
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRoot, namespaces, sh, tempDir } from './helpers.js';

describe.skipIf(!isRoot)('scripts/leftovers.mjs', () => {
  const ns = `nslab-lefttest-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const dir = tempDir();
  const state = join(dir, 'state');
  const runTmp = join(dir, 'run');
  const before = join(dir, 'before');
  const beforeWithNs = join(dir, 'before-with-ns');
  const leftovers = (beforeFile: string) =>
    spawnSync(process.execPath, ['scripts/leftovers.mjs', beforeFile, process.cwd(), runTmp], {
      encoding: 'utf8',
      env: { ...process.env, NSLAB_STATE_DIR: state },
    });
  const record = (where: string, file: string) => {
    rmSync(state, { recursive: true, force: true });
    rmSync(runTmp, { recursive: true, force: true });
    mkdirSync(state);
    mkdirSync(join(runTmp, 'a', 'b'), { recursive: true });
    if (where) writeFileSync(join(where, 'lab.json'), JSON.stringify({ file, namespaces: [{ ns }] }));
  };

  beforeAll(() => {
    writeFileSync(before, namespaces().join('\n') + '\n');
    writeFileSync(beforeWithNs, [...namespaces(), ns].join('\n') + '\n');
    sh(['ip', 'netns', 'add', ns]);
  });
  afterAll(() => {
    if (namespaces().includes(ns)) sh(['ip', 'netns', 'del', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  it("fails on a namespace that appeared with a record naming this checkout's lab file (record in the run's dir)", () => {
    record(join(runTmp, 'a', 'b'), join(process.cwd(), 'labs', 'x.yaml'));
    const r = leftovers(before);
    expect(r.stderr).toMatch(new RegExp(`namespaces the suite left behind: .*${ns}`));
    expect(r.status).toBe(1);
  });

  it("fails on one whose record, in the state directory, names a lab file in the run's directory", () => {
    record(state, join(runTmp, 'scratch.yaml'));
    const r = leftovers(before);
    expect(r.stderr).toMatch(new RegExp(`namespaces the suite left behind: .*${ns}`));
    expect(r.status).toBe(1);
  });

  it('the twins: there before the run, it is not named; with no record, or a record of another checkout, it is named and passed', () => {
    record(join(runTmp, 'a', 'b'), join(process.cwd(), 'labs', 'x.yaml'));
    const was = leftovers(beforeWithNs);
    expect(was.stderr).not.toContain(ns);
    expect(was.status).toBe(0);

    record('', '');
    const unknown = leftovers(before);
    expect(unknown.stderr).toMatch(new RegExp(`with no record found .*not judged: .*${ns}`));
    expect(unknown.stderr).not.toMatch(new RegExp(`left behind: .*${ns}`));
    expect(unknown.status).toBe(0);

    record(state, '/elsewhere/labs/x.yaml');
    const other = leftovers(before);
    expect(other.stderr).toMatch(new RegExp(`not this run's \\(not judged, not touched\\): .*${ns}`));
    expect(other.status).toBe(0);
  });
});

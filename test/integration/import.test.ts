// nslab snapshot + nslab import, end to end through the shipped CLI: a lab
// node is snapshotted (never the machine's own namespace), imported as a lab,
// and the imported lab's host reproduces the node's routes and rules (a
// snapshot of it says the same) and its verdicts: at dual-nic-reply-path's bug
// stage the generated reply-via test for eth1 fails (replies leave by eth0),
// at its fix stage every generated test passes.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, isRoot, namespaces, NOT_ROOT, tempDir, uid } from './helpers.js';

const RUN = `im${uid()}`;
const up: string[] = [];
afterAll(() => {
  for (const inst of up) cli(['down', inst]);
  expect(namespaces().filter((n) => n.includes(`.${RUN}`))).toEqual([]);
});

type Snap = {
  routes: Record<'4' | '6', Record<string, unknown>[]>;
  rules: Record<'4' | '6', Record<string, unknown>[]>;
};

/** The routes and rules a snapshot shows, less what the kernel makes itself, in a form two machines can share. */
function config(s: Snap): { routes: string[]; rules: string[] } {
  const routes = (['4', '6'] as const)
    .flatMap((f) =>
      s.routes[f]
        .filter(
          (r) =>
            r.table !== 'local' &&
            r.protocol !== 'kernel' &&
            !String(r.dst).startsWith('fe80:') &&
            !String(r.dst).startsWith('ff00:'),
        )
        .map(
          (r) =>
            `${f} ${r.type ?? 'unicast'} ${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} src ${r.prefsrc ?? '-'} table ${r.table ?? 'main'} metric ${r.metric ?? 0}`,
        ),
    )
    .sort();
  const rules = (['4', '6'] as const)
    .flatMap((f) =>
      s.rules[f].map(
        (r) => `${f} ${r.priority} from ${r.src}${r.srclen !== undefined ? `/${r.srclen}` : ''} table ${r.table}`,
      ),
    )
    .sort();
  return { routes, rules };
}

async function snapshotImport(stage: string, tag: string) {
  const dir = tempDir();
  const id = `${RUN}${tag}`;
  const inst = `dual-nic-reply-path.${id}`;
  const u = cli(['up', 'labs/dual-nic-reply-path.yaml', '--instance', id, '--stage', stage]);
  expect(u.code, u.stderr).toBe(0);
  up.push(inst);
  const snap = join(dir, 'server.json');
  const s = cli(['snapshot', '--node', inst, 'server', '-o', snap]);
  expect(s.code, s.stderr).toBe(0);
  cli(['down', inst]);
  up.splice(up.indexOf(inst), 1);
  const lab = join(dir, 'imported.yaml');
  const i = cli(['import', snap, '-o', lab]);
  expect(i.code, i.stderr).toBe(0);
  expect(cli(['validate', lab]).code).toBe(0);
  // the imported lab's host, snapshotted in turn, has the node's routes and rules
  const id2 = `${RUN}${tag}x`;
  const labName = readFileSync(lab, 'utf8').match(/^name: (.+)$/m)![1]!;
  const inst2 = `${labName}.${id2}`;
  const u2 = cli(['up', lab, '--instance', id2, '--stage', 'as in the snapshot']);
  expect(u2.code, u2.stderr).toBe(0);
  up.push(inst2);
  const snap2 = join(dir, 'host.json');
  expect(cli(['snapshot', '--node', inst2, 'server', '-o', snap2]).code).toBe(0);
  cli(['down', inst2]);
  up.splice(up.indexOf(inst2), 1);
  const [a, b] = [snap, snap2].map((f) => config(JSON.parse(readFileSync(f, 'utf8')) as Snap));
  // and the verdicts: the generated tests, run by nslab test
  const t = cli(['test', lab, '--artifacts', join(dir, 'artifacts')]);
  return { original: a!, imported: b!, test: t, lab: readFileSync(lab, 'utf8') };
}

describe.skipIf(!isRoot).concurrent('nslab import of a lab node (dual-nic-reply-path server)', () => {
  it('bug stage: same routes and rules; the generated reply-via test for eth1 fails, showing the reply on eth0', async () => {
    const r = await snapshotImport('without policy routing', 'b');
    expect(r.imported).toEqual(r.original);
    expect(r.original.routes.some((x) => x.includes('default via 10.0.0.1'))).toBe(true);
    expect(r.test.code, r.test.stdout).toBe(1);
    expect(r.test.stdout).toMatch(
      /✗ .*replies to 192\.168\.1\.220 leave through eth1 \d+ ms\n\s+reply-via: expected server:eth1, observed server:eth0/,
    );
    expect(r.test.stdout).toMatch(/✓ .*replies to 10\.0\.0\.220 leave through eth0/);
  });

  it('fix stage: same routes, table and rule; every generated test passes', async () => {
    const r = await snapshotImport('with a routing table for eth1', 'f');
    expect(r.imported).toEqual(r.original);
    // the node knows its table names (/etc/netns), as a real host does: ip prints them
    expect(r.original.rules).toContain('4 32765 from 192.168.1.220 table gateway1');
    expect(r.original.routes.filter((x) => x.includes('table gateway1'))).toHaveLength(2);
    expect(r.test.code, r.test.stdout).toBe(0);
    expect(r.test.stdout).toMatch(/✓ .*replies to 192\.168\.1\.220 leave through eth1/);
  });
});

describe.skipIf(!isRoot)('nslab snapshot and import: bad input', () => {
  it('a node the lab does not have, a file that is no snapshot: exit 2, nothing written', () => {
    const dir = tempDir();
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"hello": 1}');
    const r = cli(['import', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not an nslab snapshot/);
    expect(cli(['import', join(dir, 'missing.json')]).stderr).toMatch(/no such file/);
    const s = cli(['snapshot', '--node', `nosuchlab${RUN}`, 'server']);
    expect(s.code).toBe(2);
  });
});

if (!isRoot) describe('nslab import of lab nodes', () => it.skip(`nslab import of lab nodes: ${NOT_ROOT}`, () => {}));

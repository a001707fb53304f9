// The example project (examples/vitest) as a user has it: nslab installed from
// this repository by path, its own vitest and TypeScript. Its tests, written
// as docs/api.md teaches, must pass; its types must reject misspelled options.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { listStates, ownerAlive } from '../../src/engine/state.js';
import { USER_TSC_FLAGS } from '../user-tsc.js';
import { isRoot, namespaces } from './helpers.js';

const EXAMPLE = join(process.cwd(), 'examples/vitest');
const bin = (name: string) => join(EXAMPLE, 'node_modules/.bin', name);
// tsc as a user's project runs it, on one file
const TSC = () => [bin('tsc'), ...USER_TSC_FLAGS];
const run = (argv: string[]) =>
  spawnSync(argv[0]!, argv.slice(1), {
    cwd: EXAMPLE,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: undefined, NO_COLOR: '1' },
  });

beforeAll(() => {
  // idempotent: installs only when the example or nslab's build changed
  const r = spawnSync('bash', ['-c', 'source scripts/bootstrap.sh && nslab_need_example'], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
}, 240_000);

describe('examples/vitest', () => {
  it('type-checks under tsc --strict', () => {
    const r = run([bin('tsc'), '--noEmit', '-p', 'tsconfig.json']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 120_000);

  it('tsc --strict rejects misspelled probe options, expectations, lab keys and matchers', () => {
    const r = run([...TSC(), 'type-errors/misspelled.ts']);
    expect(r.status).toBe(2);
    const errors = r.stdout
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => /\((\d+),\d+\): error (TS\d+): .*?'(\w+)'/.exec(l)?.slice(1));
    expect(errors).toEqual([
      ['10', 'TS2353', 'form'],
      ['12', 'TS2561', 'tabel'],
      ['14', 'TS2561', 'interface'],
      ['16', 'TS2551', 'toReplyVai'],
    ]);
  }, 120_000);

  it("tsc --strict rejects a defined lab's misspelled node, interface and stage names", () => {
    const r = run([...TSC(), 'type-errors/names.ts']);
    expect(r.status).toBe(2);
    const errors = r.stdout
      .split('\n')
      .filter((l) => l.includes('error TS'))
      .map((l) => /\((\d+),\d+\): error (TS\d+): Argument of type '"([\w:]+)"'/.exec(l)?.slice(1));
    expect(errors).toEqual([
      ['19', 'TS2345', 'srever'],
      ['21', 'TS2345', 'server:eth9'],
      ['23', 'TS2345', 'fxi'],
    ]);
  }, 120_000);

  it.skipIf(!isRoot)(
    'its tests pass, and leave no lab behind',
    () => {
      const r = run([bin('vitest'), 'run']);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/Tests +7 passed \(7\)/);
      // the example's labs are owned by its vitest workers, all gone now: none of their records may be left
      // (other labs of the same bundled file may be up: left up on purpose, or owned by live processes)
      expect(
        listStates()
          .filter((s) => ['dual-nic-reply-path', 'two-uplinks'].includes(s.lab) && s.status !== 'up' && !ownerAlive(s))
          .map((s) => s.instance),
      ).toEqual([]);
      expect(namespaces('nslab-two-uplinks.')).toEqual([]);
    },
    180_000,
  );
});

// The safety rules that need no root: names are injective, state files are
// checked before anything acts on them, plan output keeps lab content inert.
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readState, validState } from '../../src/engine/state.js';
import { nftProblem } from '../../src/lab/nft-text.js';
import { instanceName, nsName, parseNsName } from '../../src/plan/names.js';
import { renderScript } from '../../src/plan/render.js';
import type { Plan } from '../../src/plan/step.js';

describe('namespace names map back to exactly one instance and node', () => {
  it('separates lab, id and node so that no two combinations collide', () => {
    const labs = ['coll', 'coll-x', 'coll-x-y', 'a', 'a-b'];
    const nodes = ['x-y', 'y', 'x', 'b', 'b_c', 'y-z'];
    const ids = [undefined, 'x', 'y1', 'b'];
    const seen = new Map<string, string>();
    for (const l of labs)
      for (const id of ids)
        for (const n of nodes) {
          const inst = instanceName(l, id);
          const ns = nsName(inst, n);
          expect(seen.get(ns), `${ns} from ${inst}/${n}`).toBeUndefined();
          seen.set(ns, `${inst}/${n}`);
          expect(parseNsName(ns)).toEqual({ instance: inst, node: n });
        }
  });
  it('refuses to build a name from an invalid instance or node', () => {
    expect(() => nsName('../x', 'a')).toThrow();
    expect(() => nsName('lab', 'a.b')).toThrow();
    expect(parseNsName('nslab-probe-12')).toBeUndefined();
    expect(parseNsName('other-lab.a')).toBeUndefined();
  });
});

describe('state files are checked before anything acts on them', () => {
  const good = (inst: string, dir: string) => ({
    version: 1,
    instance: inst,
    lab: 'l',
    file: 'f',
    status: 'testing',
    owner: { pid: 10, start: '5' },
    createdAt: '',
    namespaces: [{ node: 'a', ns: `nslab-${inst}.a` }],
    services: [],
    stages: [],
    logDir: join(dir, 'logs', inst),
  });
  it('accepts a record whose namespaces are those of its instance, and nothing else', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-state-'));
    process.env.NSLAB_STATE_DIR = dir;
    expect(validState(good('l.x1', dir), 'l.x1')).toBeDefined();
    expect(validState({ ...good('l.x1', dir), namespaces: [{ node: 'a', ns: 'victim' }] }, 'l.x1')).toBeUndefined();
    expect(validState({ ...good('l.x1', dir), owner: { pid: 'x' } }, 'l.x1')).toBeUndefined();
    expect(validState({ ...good('l.x1', dir), logDir: '/etc' }, 'l.x1')).toBeUndefined();
    // the /etc/netns entries a record names (removed at down) must be its own namespaces' names
    expect(validState({ ...good('l.x1', dir), etc: ['nslab-l.x1.a'] }, 'l.x1')).toBeDefined();
    expect(validState({ ...good('l.x1', dir), etc: ['nslab-other.a'] }, 'l.x1')).toBeUndefined();
    expect(validState({ ...good('l.x1', dir), etc: ['../iproute2'] }, 'l.x1')).toBeUndefined();
    expect(validState({ ...good('l.x1', dir), etc: 'nslab-l.x1.a' }, 'l.x1')).toBeUndefined();
    expect(validState(good('l.x1', dir), 'l.x2')).toBeUndefined();
    writeFileSync(
      join(dir, 'l.x3.json'),
      JSON.stringify({ ...good('l.x3', dir), namespaces: [{ node: 'a', ns: 'nslab-other.a' }] }),
    );
    expect(readState('l.x3')).toBeUndefined();
    expect(readState('../../etc/passwd')).toBeUndefined();
  });
  it('refuses a state directory that others can write', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nslab-state-'));
    chmodSync(dir, 0o777);
    process.env.NSLAB_STATE_DIR = dir;
    expect(() => readState('l')).toThrow(/not private/);
  });
});

describe('plan output keeps lab content inert', () => {
  const plan = (stage: string, nft: string): Plan => ({
    lab: 'l',
    instance: 'l',
    file: 'f.yaml',
    stages: [stage],
    namespaces: [{ node: 'a', ns: 'nslab-l.a' }],
    steps: [{ phase: 'configure', ns: 'nslab-l.a', node: 'a', tool: 'nft', args: ['-f', '-'], input: nft }],
  });
  it('a line break in a name stays inside its comment', () => {
    const out = renderScript(plan('s\ntouch /tmp/pwned', 'table ip t {}'));
    expect(out.split('\n').some((l) => l.startsWith('touch'))).toBe(false);
    expect(out).toMatch(/stages: s\\ntouch/);
  });
  it('a ruleset line equal to the here-document delimiter does not end it', () => {
    const out = renderScript(plan('s', 'table ip t {}\nEOF\ntouch /tmp/pwned\nEOF_'));
    expect(out).toMatch(/<<'EOF__'\n/);
    expect(out.split('\n').filter((l) => l === 'EOF__')).toHaveLength(1);
  });
  it('nft rulesets may not include host files, however spelt', () => {
    // the word is refused anywhere: a scanner reading nft's quotes a bit differently could otherwise miss one (`define
    // x = "a\"`)
    for (const t of [
      'include "/etc/shadow"',
      'flush ruleset; include "/etc/shadow"',
      'include"/etc/shadow"',
      'table ip t {\n include "/x"\n}',
      'define x = "a\\"\ninclude "/etc/shadow"',
      'table ip t { comment "include me" }',
      '# include nothing',
    ])
      expect(nftProblem(t)?.message, t).toMatch(/include/);
    expect(nftProblem('table ip t { chain c { type filter hook input priority 0; } }')).toBeUndefined();
  });
});

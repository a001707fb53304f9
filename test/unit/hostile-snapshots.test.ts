// The hostile snapshots: every file under test/fixtures/hostile/snapshots is a
// snapshot that is wrong or malicious in one way (a wrong type anywhere, a
// missing field, huge numbers, names with control characters, line breaks or
// quotes, words smuggled into routes and rules, a name given twice, absurd
// prefixes, what a lab cannot hold). `nslab import FILE` must refuse each with
// exit 2 and exactly the stderr of its .err file beside it: every line
// `FILE: JSON.path: what` or a hint, never an internal error or a stack trace;
// the shipped CLI must say the same. UPDATE_GOLDEN=1 rewrites the goldens (then
// read every diff: a golden is a promise about what a user sees).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAX_INTERFACES } from '../../src/import/addressing.js';
import { importFile } from '../../src/import/import-file.js';
import { reported } from './reported.js';

const dir = 'test/fixtures/hostile/snapshots';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const goldenOf = (f: string) => `${dir}/${f.replace(/\.json$/, '.err')}`;
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * What must never reach a terminal raw from a snapshot: control characters but the newline ending each line, Unicode
 * line breaks.
 */
const RAW_CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/;
const CLI = join(process.cwd(), 'dist/bin/main.js');

/**
 * What `nslab import FILE` prints on stderr and its exit status, in process: importFile, then the CLI's own
 * reportError.
 */
async function imported(file: string): Promise<{ code: number; stderr: string }> {
  try {
    await importFile(file);
    return { code: 0, stderr: '' };
  } catch (e) {
    return reported(e);
  }
}

describe('hostile snapshots are refused with their exact messages', () => {
  it('has a corpus of at least 80 snapshots, each with its golden', () => {
    expect(files.length).toBeGreaterThanOrEqual(80);
    if (!process.env.UPDATE_GOLDEN) expect(files.filter((f) => !existsSync(goldenOf(f)))).toEqual([]);
  });

  it('the snapshot they are made from imports (each hostile file is wrong in its own way, not in the base)', async () => {
    const r = await imported('test/fixtures/snapshots/small-server.json');
    expect(r).toEqual({ code: 0, stderr: '' });
  });

  for (const f of files) {
    it(f, async () => {
      const { code, stderr } = await imported(`${dir}/${f}`);
      expect(code).toBe(2);
      if (process.env.UPDATE_GOLDEN) writeFileSync(goldenOf(f), stderr);
      expect(stderr).toBe(readFileSync(goldenOf(f), 'utf8'));
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      // one line per problem or hint: nothing from the snapshot starts a line of its own
      const head = new RegExp(`^${escape(`${dir}/${f}`)}: \\S`);
      const lines = stderr.slice(0, -1).split('\n');
      expect(lines[0]).toMatch(head);
      for (const line of lines) {
        const shown = JSON.stringify(line.slice(0, 200));
        expect(head.test(line) || /^ {4}hint: \S/.test(line), `line not in FILE: or hint form: ${shown}`).toBe(true);
        expect(RAW_CONTROL.test(line), `raw control character in ${JSON.stringify(line.slice(0, 200))}`).toBe(false);
      }
    });
  }

  it(`more interfaces than the addressing plan has room for (${MAX_INTERFACES}): refused with the limit and why`, async () => {
    const d = mkdtempSync(join(tmpdir(), 'nslab-hostile-snap-'));
    const write = (n: number) => {
      const s = JSON.parse(readFileSync('test/fixtures/snapshots/small-server.json', 'utf8'));
      s.addresses = s.addresses.slice(0, 1);
      s.routes = { 4: [], 6: [] };
      s.rules = { 4: [], 6: [] };
      for (let k = 0; k < n; k++) {
        const addr_info = [{ family: 'inet', local: `10.${k >> 8}.${k & 255}.1`, prefixlen: 24, scope: 'global' }];
        s.addresses.push({ ifname: `e${k}`, flags: ['UP'], addr_info });
      }
      const f = join(d, `${n}.json`);
      writeFileSync(f, JSON.stringify(s));
      return f;
    };
    const over = write(MAX_INTERFACES + 1);
    const r = await imported(over);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      `${over}: addresses: ${MAX_INTERFACES + 1} interfaces have a global address, ` +
        `and nslab import can make a lab of at most ${MAX_INTERFACES}: each gets a router and a client, ` +
        "and its addressing plan gives each a /30 of 198.18.0.0/15 for the client's link and for the core's\n" +
        '    hint: leave out of the snapshot the interfaces the question is not about ' +
        '(their entries under addresses, with their routes and rules)\n',
    );
    // its twin, a snapshot that fits, is in import.test.ts (and at the limit itself in bench/import.mjs: it takes
    // seconds)
  });
});

describe('the shipped CLI refuses the hostile snapshots with the same messages', () => {
  it('nslab import HOSTILE -o FILE writes nothing; its twin, a good snapshot, writes the lab', () => {
    const d = mkdtempSync(join(tmpdir(), 'nslab-hostile-snap-'));
    const run = (snapshot: string, out: string) =>
      spawnSync(process.execPath, [CLI, 'import', snapshot, '-o', out], { encoding: 'utf8' });
    const bad = run(`${dir}/type-dst-null.json`, join(d, 'bad.yaml'));
    expect(bad.status).toBe(2);
    expect(existsSync(join(d, 'bad.yaml'))).toBe(false);
    const good = run('test/fixtures/snapshots/small-server.json', join(d, 'good.yaml'));
    expect(good.status, good.stderr).toBe(0);
    expect(readFileSync(join(d, 'good.yaml'), 'utf8')).toMatch(/^name: server-import$/m);
  });

  // a slice: every fourth file (a process each), enough to prove the bundle says what the modules say
  const slice = files.filter((_, i) => i % 4 === 0);
  for (const f of slice) {
    it(`nslab import ${f} exits 2 with its golden on stderr, nothing on stdout`, () => {
      expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
      const env = { ...process.env, FORCE_COLOR: '0' };
      const r = spawnSync(process.execPath, [CLI, 'import', `${dir}/${f}`], { encoding: 'utf8', env });
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(readFileSync(goldenOf(f), 'utf8'));
      expect(r.status).toBe(2);
    });
  }
});

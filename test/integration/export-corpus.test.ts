// The export corpus, round-tripped: each host of test/fixtures/export/ is brought
// up by nslab, its node's links, addresses, rules and routes of every table (both
// families) read, and then, for each format, the node cleared, the export applied
// by the real program (export-apply.ts) and the same read back: they must be the
// same, except for exactly the routes and rules the format refuses. Without
// --allow-partial such an export exits 2 and writes nothing; with it, the left-out
// lines are named on stderr and are the only difference (what each contributes to
// the lab's state is measured by deleting it from the lab's node and putting it
// back). Labs run side by side, the formats of one lab one after another in it.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { leftOutOf } from '../../src/export/index.js';
import { finalNode, FORMATS, type Format } from '../../src/export/index.js';
import { loadLab } from '../../src/lab/resolve.js';
import { CORPUS_CASES, corpusFile } from '../export-cases.js';
import {
  applyExport,
  cannotApply,
  clearNode,
  daemonLog,
  nodeState,
  settle,
  stop,
  stopAll,
  withoutNmOwn,
} from './export-apply.js';
import { CLI, isRoot, namespaces, NOT_ROOT, sh, tempDir, uid } from './helpers.js';

const run = promisify(execFile);
const RUN = `xc${uid()}`;

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run('node', [CLI, ...args], { env: { ...process.env, FORCE_COLOR: '0' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

interface LabCtx {
  ns: string;
  /** The node's state as the lab made it, and without what each format leaves out. */
  want: Map<Format, string[]>;
}

const labs = new Map<string, Promise<LabCtx>>();
const turns = new Map<string, Promise<unknown>>();

/**
 * Brings the lab up once, reads its node, and for each format that leaves lines out, reads it again without them (they
 * are deleted, then put back).
 */
async function setUp(c: (typeof CORPUS_CASES)[number]): Promise<LabCtx> {
  const file = corpusFile(c.lab);
  const u = await cli(['up', file, '--instance', RUN]);
  if (u.code !== 0) throw new Error(`nslab up ${file}: ${u.stderr}`);
  const ns = `nslab-${c.lab}.${RUN}.${c.node}`;
  const full = nodeState(ns);
  const fin = finalNode(loadLab(file), c.node);
  const want = new Map<Format, string[]>();
  for (const format of FORMATS) {
    const leftOut = leftOutOf(fin, format);
    // a left-out setting is taken back to the kernel's default (0) and set again
    const each = (verb: 'del' | 'add') =>
      leftOut.forEach((l) => {
        if (l.sysctl) {
          const [key, value] = l.sysctl;
          sh(['ip', 'netns', 'exec', ns, 'sysctl', '-q', '-w', `${key}=${verb === 'del' ? '0' : value}`]);
          return;
        }
        const r = (l.route ?? l.rule)!;
        sh(['ip', '-n', ns, r.family === 6 ? '-6' : '-4', l.kind, verb, ...r.args]);
      });
    each('del');
    want.set(format, nodeState(ns));
    each('add');
    expect(nodeState(ns), `the lines ${format} leaves out, put back`).toEqual(full);
  }
  return { ns, want };
}

/** Runs one format's round trip in the lab's node, after the ones before it. */
function inTurn<T>(lab: string, f: () => Promise<T>): Promise<T> {
  const next = (turns.get(lab) ?? Promise.resolve()).then(f, f);
  turns.set(
    lab,
    next.catch(() => undefined),
  );
  return next;
}

afterAll(async () => {
  await stopAll();
  for (const c of CORPUS_CASES) if (labs.has(c.lab)) await cli(['down', `${c.lab}.${RUN}`]);
  expect(namespaces().filter((n) => n.includes(`.${RUN}.`))).toEqual([]);
});

if (!isRoot) describe('export corpus', () => it.skip(`export corpus: ${NOT_ROOT}`, () => {}));

// format-major: the first tests to run are of different labs, which then proceed side by side
describe.skipIf(!isRoot).concurrent('export corpus: every export applied by the real program gives the lab', () => {
  for (const format of FORMATS)
    for (const c of CORPUS_CASES) {
      const why = cannotApply(format);
      if (why) {
        it.skip(`${c.lab} ${format}: ${why}`, () => {});
        continue;
      }
      it(`${c.lab} ${format}`, { timeout: 180_000 }, async () => {
        if (!labs.has(c.lab)) labs.set(c.lab, setUp(c));
        const ctx = await labs.get(c.lab)!;
        await inTurn(c.lab, () => roundTrip(c, format, ctx));
      });
    }
});

/** Every file under a directory, recursively. */
const filesUnder = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );

async function roundTrip(c: (typeof CORPUS_CASES)[number], format: Format, ctx: LabCtx): Promise<void> {
  const file = corpusFile(c.lab);
  const leftOut = leftOutOf(finalNode(loadLab(file), c.node), format);
  const args = ['export', file, '--node', c.node, '--format', format];
  // refused: exit 2, every left-out line named, nothing written
  const refused = tempDir();
  const whole = await cli([...args, '-o', refused]);
  if (leftOut.length) {
    expect(whole.code, whole.stderr).toBe(2);
    for (const l of leftOut) expect(whole.stderr).toContain(l.line);
    expect(readdirSync(refused)).toEqual([]);
  } else expect(whole.code, whole.stderr).toBe(0);
  // the rest, with each left-out line on stderr
  const dir = leftOut.length ? tempDir() : refused;
  if (leftOut.length) {
    const part = await cli([...args, '--allow-partial', '-o', dir]);
    expect(part.code, part.stderr).toBe(0);
    expect(part.stderr.split('\n').filter((l) => l.startsWith('nslab export: left out: '))).toEqual(
      leftOut.map((l) => `nslab export: left out: ${l.note}`),
    );
    // and marked in the files, each where it would have been (or at the top)
    const written = filesUnder(dir)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const l of leftOut) expect(written).toContain(`LEFT OUT: ${l.note}`);
  }
  const want = ctx.want.get(format)!;
  clearNode(ctx.ns);
  const d = applyExport(format, dir, ctx.ns);
  try {
    const got = await settle(ctx.ns, want, format === 'nm' ? withoutNmOwn : undefined);
    const missing = want.filter((x) => !got.includes(x));
    const extra = got.filter((x) => !want.includes(x));
    expect({ missing, extra }, `${format} in ${join(dir)}\n${daemonLog(d, dir)}`).toEqual({ missing: [], extra: [] });
  } finally {
    await stop(d);
  }
}

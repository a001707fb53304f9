// `nslab up` on every file of the hostile corpus (test/fixtures/hostile) must
// exit 2 with the file's golden messages and create nothing: no namespace and
// no state file or log directory of any corpus lab. Other people's labs may come
// and go on the machine meanwhile, so only names a corpus lab could produce are
// compared.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { CLI, namespaces, STATE_DIR } from './helpers.js';

const dir = 'test/fixtures/hostile';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** Every lab name the corpus declares, however hostile: as YAML reads it, and as the first `name:` line spells it. */
function labNames(): string[] {
  const names = new Set<string>(['hc-']); // every corpus lab whose name is valid starts with hc-
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    try {
      const name = (
        parse(text, { maxAliasCount: 100, uniqueKeys: false, logLevel: 'silent' }) as { name?: unknown } | null
      )?.name;
      if (typeof name === 'string' && name) names.add(name);
    } catch {
      /* not YAML: the line below still names it */
    }
    const line = /^name:[ \t]*["']?([a-z0-9][^"'\s]*)/m.exec(text)?.[1];
    if (line) names.add(line);
  }
  return [...names];
}

const names = labNames();
/** An instance (`<lab>` or `<lab>.<id>`) or namespace (`nslab-<instance>.<node>`) of a corpus lab. */
const isCorpusInstance = (s: string) => names.some((n) => s === n || s.startsWith(n.endsWith('-') ? n : `${n}.`));
const corpusNamespaces = () =>
  namespaces()
    .filter((ns) => isCorpusInstance(ns.slice('nslab-'.length)))
    .sort();

/** Entries of the state directory (records, logs, scratch) that a corpus lab could own. */
function corpusState(): string[] {
  if (!existsSync(STATE_DIR)) return [];
  const out: string[] = [];
  for (const sub of ['', 'logs', 'work']) {
    const d = join(STATE_DIR, sub);
    if (!existsSync(d)) continue;
    for (const e of readdirSync(d)) if (isCorpusInstance(e.replace(/\.json$/, ''))) out.push(join(sub, e));
  }
  return out.sort();
}

interface Run {
  file: string;
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[]): Promise<Omit<Run, 'file'>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', reject);
    p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe.skipIf(process.getuid?.() !== 0)('nslab up refuses every hostile lab file and creates nothing', () => {
  it(`up exits 2 on all ${files.length} corpus files, with their goldens, leaving no namespace or state behind`, async () => {
    expect(files.length).toBeGreaterThanOrEqual(120);
    expect(existsSync(CLI), 'dist/bin/main.js is missing: run bash scripts/build.sh').toBe(true);
    const nsBefore = corpusNamespaces();
    const stateBefore = corpusState();
    expect(nsBefore, 'namespaces of corpus labs exist before the test').toEqual([]);
    expect(stateBefore, 'state of corpus labs exists before the test').toEqual([]);

    const results: Run[] = [];
    const jobs = Math.min(8, availableParallelism() + 2);
    for (let i = 0; i < files.length; i += jobs) {
      const batch = files.slice(i, i + jobs);
      const rs = await Promise.all(batch.map(async (file) => ({ file, ...(await run(['up', join(dir, file)])) })));
      // a file that was (wrongly) brought up is taken down again at once, by its own name only
      for (const r of rs) if (r.code === 0) await run(['down', join(dir, r.file)]);
      results.push(...rs);
      expect(corpusNamespaces(), `namespaces after up of ${batch.join(', ')}`).toEqual(nsBefore);
      expect(corpusState(), `state after up of ${batch.join(', ')}`).toEqual(stateBefore);
    }

    const wrong = results
      .filter((r) => r.code !== 2)
      .map((r) => `${r.file}: exit ${r.code ?? r.signal}\n${r.stderr.slice(0, 300)}`);
    expect(wrong, 'up did not exit 2').toEqual([]);
    for (const r of results) {
      expect(r.stdout, r.file).toBe('');
      expect(r.stderr, r.file).toBe(readFileSync(join(dir, r.file.replace(/\.yaml$/, '.err')), 'utf8'));
    }
    expect(corpusNamespaces()).toEqual([]);
    expect(corpusState()).toEqual([]);
  }, 240_000); // ~20 s on an idle 2-CPU machine (each up is a node start); a shared machine under load needs more
});

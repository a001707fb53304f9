// The one table of what nslab runs (src/engine/requirements.ts): the file the
// bootstrap installs from is rendered from it, the bootstrap reads it as the
// table says, every program src/ runs is in it, and docs/ci.md lists it. And
// nslab's own commands name IP protocols by number (iproute2 reads names from
// /etc/protocols, which minimal images lack): plans, route probes, imports.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { nameResolutionHint, programsFor, REQUIREMENTS, requirementsTsv } from '../../src/engine/requirements.js';
import { checkSnapshot } from '../../src/import/check.js';
import { snapshotToLab } from '../../src/import/to-lab.js';
import type { Snapshot } from '../../src/import/snapshot.js';
import { checkRule, ipprotoNumber, type NodeView } from '../../src/lab/iproute.js';
import { loadLab } from '../../src/lab/resolve.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderScript } from '../../src/plan/render.js';
import { route } from '../../src/probes/route.js';

/** The bootstrap's own reading of a requirements.tsv: name:package pairs. */
function bootstrapPairs(root = process.cwd()): string[] {
  const script = 'source scripts/bootstrap.sh && nslab_root="$1" && nslab_requirements';
  return execFileSync('bash', ['-c', script, 'bash', root], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

describe('the requirements table and the file the bootstrap installs from', () => {
  it('scripts/requirements.tsv is the table, rendered (npm run requirements)', () => {
    const why = 'scripts/requirements.tsv differs from src/engine/requirements.ts: run npm run requirements';
    expect(readFileSync('scripts/requirements.tsv', 'utf8'), why).toBe(requirementsTsv());
  });

  it('the bootstrap reads every entry, name and package; a file without an entry is not read into it', () => {
    expect(bootstrapPairs()).toEqual(REQUIREMENTS.map((r) => `${r.name}:${r.package}`));
    expect(bootstrapPairs()).toContain('sysctl:procps');
    // the twin: a table without procps's line gives no procps (the bootstrap reads the file, nothing else)
    const dir = mkdtempSync(join(tmpdir(), 'nslab-req-'));
    execFileSync('mkdir', ['-p', join(dir, 'scripts')]);
    writeFileSync(
      join(dir, 'scripts/requirements.tsv'),
      requirementsTsv()
        .split('\n')
        .filter((l) => !l.includes('\tprocps\t'))
        .join('\n'),
    );
    expect(bootstrapPairs(dir)).not.toContain('sysctl:procps');
    expect(bootstrapPairs(dir).length).toBe(REQUIREMENTS.length - 1);
  });

  it('what a test run needs includes sysctl (procps), which minimal images lack; optional ones are not needed by every run', () => {
    expect(programsFor('lab', 'test')).toEqual(
      expect.arrayContaining(['ip', 'sysctl', 'nsenter', 'setpriv', 'tcpdump', 'ping', 'perl']),
    );
    expect(programsFor('lab', 'test')).not.toContain('nft');
    expect(programsFor('optional')).toEqual(expect.arrayContaining(['tc', 'nft']));
    // every package is named, every purpose said
    for (const r of REQUIREMENTS) expect(r.package && r.use, r.name).toBeTruthy();
  });

  it("every program src/ runs is in the table (argv[0]s, the batch loop's script, the shell snippets)", () => {
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) =>
        statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : f.endsWith('.ts') ? [join(dir, f)] : [],
      );
    const found = new Set<string>();
    const patterns = [
      // runArgv(['x', ...]), spawn('x', ...), spawnSync('x', ...), diesWithUs(['x', ...])
      /(?:runArgv|spawn|spawnSync|execFile|execFileSync|diesWithUs|run)\(\s*\[?\s*'([a-z][a-z0-9-]*)'/g,
      // argv: ['x', ...], ['x', '-opt' or ...CONST], exec(node, ['x', ...]), [...scratch(), '--', 'x', ...]
      /argv: \[\s*'([a-z][a-z0-9-]*)'/g,
      /\[\s*'([a-z][a-z0-9-]*)',\s*(?:\.\.\.[A-Z]|'--?[a-zA-Z])/g,
      /\.exec\([^,()]+, \[\s*'([a-z][a-z0-9-]*)'/g,
      /'--', '([a-z][a-z0-9-]*)'/g,
      // programs inside sh scripts: the batch loop's `nsenter ... sysctl`, `ip link add ...; tc qdisc ...`, `| nft -f
      // -`
      /(?:^|[;|&(]\s*|'\s*|\)\s*)(ip|tc|nft|sysctl|nsenter|cat|mount)\s+[-a-z"]/gm,
      /nsenter --net="[^"]*" ([a-z]+)/g,
    ];
    for (const f of files('src')) {
      const text = readFileSync(f, 'utf8');
      for (const p of patterns) for (const m of text.matchAll(p)) found.add(m[1]!);
    }
    // the scan finds what it must (it would miss a program otherwise)
    const known = [
      'ip',
      'tc',
      'nft',
      'sysctl',
      'nsenter',
      'unshare',
      'setpriv',
      'tcpdump',
      'ping',
      'perl',
      'mount',
      'sh',
      'cat',
    ];
    expect([...found]).toEqual(expect.arrayContaining(known));
    const names = new Set(REQUIREMENTS.map((r) => r.name));
    expect(
      [...found].filter((p) => !names.has(p)),
      'programs src/ runs that src/engine/requirements.ts lacks',
    ).toEqual([]);
  });

  it('docs/ci.md lists the table', () => {
    const doc = readFileSync('docs/ci.md', 'utf8');
    const need = {
      lab: 'every lab',
      test: 'tests',
      rootless: 'rootless runs',
      optional: 'optional',
      suite: "nslab's test suite",
    } as const;
    const rows = REQUIREMENTS.map(
      (r) => `| \`${r.name}\` | ${r.package} | ${need[r.need]} | ${r.minimal ? 'yes' : 'no'} | ${r.use} |`,
    );
    const head = [
      '| program or file | Debian/Ubuntu package | needed by | in minimal images | for |',
      '|---|---|---|---|---|',
    ];
    const table = [...head, ...rows].join('\n');
    expect(doc, `docs/ci.md's table of what nslab runs should read:\n${table}`).toContain(table);
  });

  it('an nft failure to resolve a name gets the package to install only when the file is missing', () => {
    const said = 'ruleset.nft:7:15-17: Error: Could not resolve service: Servname not supported for ai_socktype';
    // this machine has netbase (the twin of the container test's minimal image, which has not)
    expect(readFileSync('/etc/services', 'utf8').length).toBeGreaterThan(0);
    expect(nameResolutionHint(said)).toBeUndefined();
    expect(nameResolutionHint('Error: Could not process rule: No such file or directory')).toBeUndefined();
  });
});

describe('IP protocols by number in the commands nslab runs', () => {
  const view: NodeView = {
    interfaces: new Map([
      ['lo', []],
      ['eth0', []],
    ]),
    tables: new Map([['t', 100]]),
  };

  it('a rule with ipproto tcp becomes ipproto 6; a number stays; out of range is an error', () => {
    expect(checkRule('ipproto tcp table t', view)).toMatchObject({
      args: ['ipproto', '6', 'table', '100'],
      errors: [],
    });
    expect(checkRule('ipproto ipv6-icmp table t', view).args).toEqual(['ipproto', '58', 'table', '100']);
    expect(checkRule('ipproto 17 table t', view).args).toEqual(['ipproto', '17', 'table', '100']);
    expect(checkRule('ipproto 300 table t', view).errors[0]?.message).toMatch(
      /ipproto 300' is out of range: at most 255/,
    );
    expect(checkRule('ipproto tpc table t', view).errors[0]?.message).toMatch(/'ipproto' takes a protocol/);
    expect(ipprotoNumber('udp')).toBe('17');
  });

  it('the plan of a lab whose rules say ipproto tcp runs ipproto 6 (rule-selectors.yaml)', () => {
    const lab = loadLab('test/fixtures/labs/rule-selectors.yaml');
    expect(lab.nodes.find((n) => n.name === 's')!.config.rules.map((r) => r.text)).toContain('ipproto tcp table t');
    const script = renderScript(buildPlan(lab, { instance: 'rule-selectors.t1' }));
    expect(script).toMatch(/rule add ipproto 6 table 100/);
    expect(script).toMatch(/-6 -n \S+ rule add ipproto 6 table 100/);
    expect(script).not.toMatch(/ipproto tcp/);
  });

  it('a route probe asks ip route get with the number', async () => {
    const asked: string[][] = [];
    const exec = async (_node: string, argv: string[]) => {
      asked.push(argv);
      return { exitCode: 1, stdout: '', stderr: 'no route' };
    };
    const lab = { exec };
    const test = { spec: { node: 's', to: '203.0.113.9', ipproto: 'tcp', dport: 2000 }, expect: { dev: 'eth1' } };
    await route({ lab, model: {}, test } as never);
    expect(asked).toEqual([['ip', '-j', 'route', 'get', '203.0.113.9', 'ipproto', '6', 'dport', '2000']]);
  });

  it('import: a rule that ip printed as ipproto-6 (no /etc/protocols where the snapshot was taken) becomes ipproto 6', () => {
    const snap = JSON.parse(readFileSync('docs/examples/dual-nic-server.snapshot.json', 'utf8')) as Snapshot;
    for (const [ipproto, want] of [
      ['ipproto-6', 'ipproto 6'],
      ['tcp', 'ipproto tcp'],
    ] as const) {
      const s = structuredClone(snap);
      s.rules[4].push({ priority: 100, src: 'all', ipproto, table: 'main' });
      const imp = snapshotToLab(checkSnapshot(s, 'x.json'));
      const rules = JSON.stringify(imp);
      expect(rules).toContain(want);
      expect(rules).not.toContain(`ipproto ipproto`);
    }
  });
});

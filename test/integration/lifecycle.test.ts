// Failure, signals and crashes leave nothing behind; instances do not collide.
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, cli, etcNetns, isRoot, namespaces, sh, sleep, STATE_DIR, tempDir, uid } from './helpers.js';

/** A chain lab big enough that `up` takes a while, to interrupt it half-way. */
function chainLab(name: string, n: number, extra = ''): string {
  const file = join(tempDir(), `${name}.yaml`);
  const nodes: string[] = [];
  const links: string[] = [];
  for (let i = 1; i <= n; i++) {
    const ifs = [
      i > 1 ? `l: 10.${Math.floor((i - 1) / 250)}.${(i - 1) % 250}.2/24` : '',
      i < n ? `r: 10.${Math.floor(i / 250)}.${i % 250}.1/24` : '',
    ].filter(Boolean);
    nodes.push(`  n${i}: { interfaces: { ${ifs.join(', ')} }${i === 1 ? ', tables: { t1: 101 }' : ''} }`); // n1's table names: /etc/netns is unwound too
    if (i < n) links.push(`  - n${i}:r n${i + 1}:l`);
  }
  writeFileSync(file, `name: ${name}\nnodes:\n${nodes.join('\n')}\n${extra}links:\n${links.join('\n')}\n`);
  return file;
}

describe.skipIf(!isRoot)('nothing is left behind', () => {
  const env: Record<string, string> = {};

  it('a step that fails half-way unwinds everything, with exit 1 and the failing command', () => {
    const name = `bad${uid()}`;
    const file = join(tempDir(), 'bad.yaml');
    writeFileSync(
      file,
      `name: ${name}\nnodes:\n  a: { interfaces: { eth0: 10.0.0.1/24 }, tables: { t1: 101 }, nftables: "table inet x { chain y { tcp dport nonsense drop } }" }\n  b: { interfaces: { eth0: 10.0.0.2/24 } }\nlinks: [a:eth0 b:eth0]\n`,
    );
    const r = cli(['up', file], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/command failed in node 'a'/);
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
    expect(etcNetns(`nslab-${name}.`)).toEqual([]);
    expect(existsSync(join(STATE_DIR, `${name}.json`))).toBe(false);
  });

  it('a lab-file error creates nothing and exits 2', () => {
    const r = cli(['up', 'test/fixtures/bad/many-problems.yaml'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('test/fixtures/bad/many-problems.yaml:'))).toHaveLength(7);
    expect(namespaces('nslab-many-')).toEqual([]);
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGINT', 130],
  ] as const) {
    it(`${sig} during up unwinds and exits ${code}`, async () => {
      const name = `sig${uid()}`;
      const file = chainLab(name, 60);
      const child = spawn('node', [CLI, 'up', file], { env: { ...process.env, ...env }, stdio: 'ignore' });
      // wait until it has really started creating (the state file is written first)
      for (let t = 0; t < 2000 && !existsSync(join(STATE_DIR, `${name}.json`)); t++) await sleep(5);
      child.kill(sig);
      const exit = await new Promise<number | null>((res) =>
        child.on('exit', (c, s) => res(c ?? (s ? 128 + (s === 'SIGINT' ? 2 : 15) : null))),
      );
      expect(exit).toBe(code);
      expect(namespaces(`nslab-${name}.`)).toEqual([]);
      expect(etcNetns(`nslab-${name}.`)).toEqual([]);
      expect(existsSync(join(STATE_DIR, `${name}.json`))).toBe(false);
    });
  }

  it('Ctrl-C (SIGINT to the whole process group) mid-probe: exit 130, the JSON report of what ran, the test cut short reported as interrupted', async () => {
    const name = `int${uid()}`;
    const file = join(tempDir(), `${name}.yaml`);
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a: { interfaces: { eth0: 10.0.0.1/24 } }
  b: { interfaces: { eth0: 10.0.0.2/24 } }
links: [a:eth0 b:eth0]
stages:
  - name: one
    tests:
      - { name: answered, ping: { from: a, to: b, count: 1 }, expect: { replies: 1 } }
      - { name: slow, ping: { from: a, to: 10.0.0.9, count: 5, timeout: 20s }, expect: { replies: 0 } }
  - name: two
    tests:
      - { name: never reached, ping: { from: a, to: b, count: 1 }, expect: { replies: 1 } }
`,
    );
    // a terminal's Ctrl-C reaches every process of the foreground group: nslab, its ping, its tcpdumps
    const child = spawn('node', [CLI, 'test', file, '--reporter', 'json'], {
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    const exited = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
    // nslab test runs an instance: nslab-NAME.ID.a
    const nodeA = () => namespaces(`nslab-${name}.`).find((n) => n.endsWith('.a')) ?? 'none';
    const slowPingRuns = () => {
      try {
        return sh(['ip', 'netns', 'pids', nodeA()])
          .split('\n')
          .filter(Boolean)
          .some((p) => {
            try {
              return sh(['cat', `/proc/${p}/cmdline`]).includes('10.0.0.9');
            } catch {
              return false;
            }
          });
      } catch {
        return false;
      }
    };
    for (let t = 0; t < 1500 && !slowPingRuns(); t++) await sleep(10);
    expect(slowPingRuns()).toBe(true);
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(130);
    const tests = JSON.parse(out).labs[0].tests as { name: string; status: string; reason?: string }[];
    expect(tests.map((t) => t.name)).toEqual(['answered', 'slow']);
    expect(tests[0]!.status).toBe('passed');
    expect(tests[1]).toMatchObject({ status: 'failed', reason: 'interrupted by SIGINT' }); // not tcpdump's or ping's death
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
    expect(existsSync(join(STATE_DIR, `${name}.json`))).toBe(false);
  });

  it('SIGKILL during up, then cleanup, leaves nothing (and spares a lab that is up on purpose)', async () => {
    const keep = `keep${uid()}`;
    expect(cli(['up', chainLab(keep, 2)], env).code).toBe(0);
    const name = `kill${uid()}`;
    const file = chainLab(name, 80);
    const child = spawn('node', [CLI, 'up', file], { env: { ...process.env, ...env }, stdio: 'ignore' });
    for (let t = 0; t < 2000 && namespaces(`nslab-${name}.`).length === 0; t++) await sleep(5);
    child.kill('SIGKILL');
    await new Promise((res) => child.on('exit', res));
    expect(namespaces(`nslab-${name}.`).length).toBeGreaterThan(0); // the crash really left something
    // its table names too (made before the namespaces)
    expect(etcNetns(`nslab-${name}.`)).toEqual([`nslab-${name}.n1`]);
    const r = cli(['cleanup', name, keep], env); // scoped: the suite never cleans up what it did not create
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`removed lab '${name}'`));
    expect(namespaces(`nslab-${name}.`)).toEqual([]);
    expect(etcNetns(`nslab-${name}.`)).toEqual([]);
    expect(namespaces(`nslab-${keep}.`)).toHaveLength(2);
    expect(etcNetns(`nslab-${keep}.`)).toHaveLength(1); // spared with its table names
    expect(cli(['down', keep], env).code).toBe(0);
    expect(namespaces(`nslab-${keep}.`)).toEqual([]);
    expect(etcNetns(`nslab-${keep}.`)).toEqual([]);
  });

  it('two instances of the same lab run at once, isolated, and go down separately', () => {
    const lab = 'labs/dual-nic-reply-path.yaml';
    const a = uid();
    const b = uid();
    expect(cli(['up', lab, '--instance', a], env).code).toBe(0);
    expect(cli(['up', lab, '--instance', b], env).code).toBe(0);
    expect(cli(['up', lab, '--instance', b], env).code).toBe(2); // same instance twice: refused
    const ping = (inst: string) =>
      cli(['exec', `dual-nic-reply-path.${inst}`, 'pc2', '--', 'ping', '-c1', '-W2', '192.168.1.220'], env).code;
    expect(ping(a)).toBe(0);
    expect(ping(b)).toBe(0);
    expect(cli(['down', `dual-nic-reply-path.${a}`], env).code).toBe(0);
    expect(namespaces(`nslab-dual-nic-reply-path.${a}.`)).toEqual([]);
    expect(ping(b)).toBe(0);
    const ls = cli(['ls'], env).stdout;
    expect(ls).toMatch(`dual-nic-reply-path.${b}`);
    expect(ls).not.toMatch(`dual-nic-reply-path.${a}`);
    expect(cli(['down', `dual-nic-reply-path.${b}`], env).code).toBe(0);
    expect(namespaces('nslab-dual-nic-reply-path.')).toEqual(
      expect.not.arrayContaining([expect.stringMatching(new RegExp(`\\.(${a}|${b})\\.`))]),
    );
  });

  it('test --keep leaves a failed lab up for inspection, and down removes it', () => {
    const file = join(tempDir(), 'keep.yaml');
    writeFileSync(
      file,
      'name: keepme\nnodes:\n  a: { interfaces: { eth0: 10.0.0.1/24 } }\n  b: { interfaces: { eth0: 10.0.0.2/24 } }\nlinks: [a:eth0 b:eth0]\nstages:\n  - name: s\n    tests:\n      - { name: wrong on purpose, ping: { from: a, to: 10.0.0.2, count: 1 }, expect: { replies: 0 } }\n',
    );
    const r = cli(['test', file, '--keep'], env);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/0 passed, 1 failed\n$/);
    const kept = /kept up for inspection: (keepme\.\w+)/.exec(r.stdout)?.[1];
    expect(kept).toBeDefined();
    expect(namespaces(`nslab-${kept}.`)).toHaveLength(2);
    expect(cli(['down', kept!], env).code).toBe(0);
    expect(namespaces(`nslab-${kept}.`)).toEqual([]);
  });

  it('exec runs inside the node and passes its exit status through', () => {
    const id = uid();
    expect(cli(['up', 'labs/dual-nic-reply-path.yaml', '--instance', id], env).code).toBe(0);
    try {
      const r = cli(['exec', `dual-nic-reply-path.${id}`, 'server', '--', 'ip', '-br', 'addr'], env);
      expect(r.stdout).toMatch(/eth1@\S+\s+UP\s+192\.168\.1\.220\/24/);
      expect(cli(['exec', `dual-nic-reply-path.${id}`, 'server', '--', 'sh', '-c', 'exit 7'], env).code).toBe(7);
    } finally {
      cli(['down', `dual-nic-reply-path.${id}`], env);
    }
  });
});

describe('doctor and validate', () => {
  it('validate needs no root and reports a good lab', () => {
    const r = cli(['validate', 'labs/']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok labs\/dual-nic-reply-path.yaml/);
  });
  it.skipIf(!isRoot)('doctor reports the qdiscs the kernel really has', () => {
    const r = cli(['doctor', '--json']);
    const d = JSON.parse(r.stdout);
    expect(d.root).toBe(true);
    const probe = (q: string) => {
      const ns = `nslab-doctor-${uid()}`;
      try {
        sh(['ip', 'netns', 'add', ns]);
        sh(['ip', '-n', ns, 'link', 'add', 'name', 'a', 'type', 'veth', 'peer', 'name', 'b']);
        try {
          sh([
            'tc',
            '-n',
            ns,
            'qdisc',
            'add',
            'dev',
            'a',
            'root',
            ...(q === 'netem'
              ? ['netem', 'delay', '1ms']
              : ['tbf', 'rate', '1mbit', 'burst', '3200', 'latency', '50ms']),
          ]);
          return true;
        } catch {
          return false;
        }
      } finally {
        sh(['ip', 'netns', 'del', ns]);
      }
    };
    expect(d.qdiscs.netem).toBe(probe('netem'));
    expect(d.qdiscs.tbf).toBe(probe('tbf'));
  });
});

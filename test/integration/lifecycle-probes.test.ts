// What probing starts in a lab ends with it: once closeProbes has begun (a run
// handing a kept lab back, or down), no capture or agent starts there; and a
// broken capture is replaced without failing the probes still reading it.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Watch } from '../../src/capture/watch.js';
import { Lab } from '../../src/engine/lab.js';
import { loadLab } from '../../src/lab/resolve.js';
import { agentOf } from '../../src/probes/agent.js';
import { closeProbes } from '../../src/probes/index.js';
import { CLI, cli, isRoot, namespaces, sh, sleep, tempDir, uid } from './helpers.js';

/** The pids of every process inside the lab's namespaces (nslab's captures and agents, the lab's services). */
const pidsIn = (instance: string) =>
  namespaces(`nslab-${instance}.`).flatMap((ns) => sh(['ip', 'netns', 'pids', ns]).split('\n').filter(Boolean));

/** The same, once what was killed has had a moment to die (stop sends SIGKILL and does not wait). */
async function pidsLeftIn(instance: string): Promise<string[]> {
  for (let t = 0; t < 40 && pidsIn(instance).length; t++) await sleep(25);
  return pidsIn(instance);
}

function twoNodes(name: string): Lab['model'] & object {
  const file = join(tempDir(), `${name}.yaml`);
  writeFileSync(
    file,
    `name: ${name}\nnodes:\n  a: { interfaces: { eth0: 10.0.0.1/24 } }\n  b: { interfaces: { eth0: 10.0.0.2/24 } }\nlinks: [a:eth0 b:eth0]\n`,
  );
  return loadLab(file);
}

describe.skipIf(!isRoot)('nothing of probing starts in a lab once its probes are closed', () => {
  it("test --keep after a stage fails to apply exits, with no later stage's agent in the kept lab", () => {
    const name = `lcrace${uid()}`;
    const file = join(tempDir(), `${name}.yaml`);
    // stage one's apply fails while stage two's agents (c, d) are still to start in the background
    writeFileSync(
      file,
      `name: ${name}
nodes:
  a: { interfaces: { eth0: 10.80.1.2/24 } }
  b: { interfaces: { eth0: 10.80.1.3/24 } }
  c: { interfaces: { eth0: 10.80.2.2/24 } }
  d: { interfaces: { eth0: 10.80.2.3/24 } }
links:
  - a:eth0 b:eth0
  - c:eth0 d:eth0
stages:
  - name: one
    apply:
      a:
        nftables: |
          table inet x { chain y { type filter hook input priority 0; bogus stuff } }
    tests:
      - { name: "a to b", tcp: { from: a, to: b }, expect: { connected: true } }
  - name: two
    tests:
      - { name: "c to d", tcp: { from: c, to: d }, expect: { connected: true } }
`,
    );
    const r = spawnSync('node', [CLI, 'test', '--keep', file], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    const kept = /kept up for inspection: (\S+) /.exec(r.stdout)?.[1];
    try {
      expect(r.stdout).toMatch(/0 passed, 2 failed\n$/);
      expect(
        { code: r.status, signal: r.signal },
        'an agent started after the run handed the lab back kept nslab from exiting',
      ).toEqual({ code: 1, signal: null });
      expect(kept).toBeDefined();
      expect(namespaces(`nslab-${kept}.`)).toHaveLength(4);
      expect(pidsIn(kept!)).toEqual([]); // nslab has exited: whatever it started there is dead
    } finally {
      if (kept) cli(['down', kept]);
    }
    expect(namespaces(`nslab-${kept}.`)).toEqual([]);
  });

  it('after closeProbes, agentOf and Watch.for refuse, and nothing runs in the lab', async () => {
    await using lab = await Lab.up(twoNodes(`lcclose${uid()}`), { id: uid() });
    await Watch.for(lab);
    await agentOf(lab, 'a');
    expect(pidsIn(lab.instance).length).toBeGreaterThan(0);
    await closeProbes(lab);
    await expect(agentOf(lab, 'b')).rejects.toThrow(
      /probe agent in node 'b' not started: the probes of lab '.*' are closed/,
    );
    await expect(Watch.for(lab)).rejects.toThrow(/captures not started: the probes of lab '.*' are closed/);
    expect(await pidsLeftIn(lab.instance)).toEqual([]);
  });
});

describe.skipIf(!isRoot)('a broken watch is replaced without failing the probes still reading it', () => {
  let lab: Lab;
  // the markers are broken at lo's netdev egress hook (Linux 5.16+), the one place that can drop them
  const NO_EGRESS = "this kernel has no netdev egress hook (Linux 5.16+), which the test drops nslab's markers with";
  let egress = false;
  beforeAll(async () => {
    lab = await Lab.up(twoNodes(`lcwatch${uid()}`), { id: uid() });
    egress =
      (
        await lab.exec('b', ['nft', '-f', '-'], {
          input: 'table netdev lcprobe {\n chain out {\n  type filter hook egress device "lo" priority 0;\n }\n}\n',
        })
      ).exitCode === 0;
    if (egress) await lab.exec('b', ['nft', 'delete', 'table', 'netdev', 'lcprobe']);
  });
  afterAll(async () => {
    if (!lab) return;
    try {
      await closeProbes(lab);
      expect(await pidsLeftIn(lab.instance), 'retired captures are stopped with the rest').toEqual([]);
    } finally {
      await lab.down();
    }
  });

  /**
   * Breaks the lab's watch for real: node a drops its end-of-probe markers (frames of ethertype 0x88b5 on lo, at lo's
   * netdev egress: no IP hook sees them) while one window ends, which then times out.
   */
  async function breakIt(w: Watch): Promise<void> {
    const late = w.begin();
    expect(
      (
        await lab.exec('a', ['nft', '-f', '-'], {
          input:
            'table netdev lcblock {\n chain out {\n  type filter hook egress device "lo" priority 0;\n  meta protocol 0x88b5 drop\n }\n}\n',
        })
      ).exitCode,
    ).toBe(0);
    try {
      await expect(w.end(late)).rejects.toThrow(
        /tcpdump in node 'a': the end-of-probe marker .*did not happen within 3000 ms/,
      );
    } finally {
      await lab.exec('a', ['nft', 'delete', 'table', 'netdev', 'lcblock']);
    }
  }

  const tcpdumpsIn = (node: string) =>
    sh(['ip', 'netns', 'pids', lab.ns(node)])
      .split('\n')
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'tcpdump';
        } catch {
          return false;
        }
      }).length;
  // each ping its own payload pattern, as each probe of nslab's has: a window may begin before the records of the
  // previous ping have been read from tcpdump, and those must not be counted as this one's
  const ping = (pattern = 'abcdef0123') => lab.exec('a', ['ping', '-c1', '-W2', '-p', pattern, '10.0.0.2']);
  const echoes = (windows: Awaited<ReturnType<Watch['end']>>, node: string, pattern = 'abcdef0123') =>
    windows.find((x) => x.node === node)!.packets.filter((p) => p.payload.includes(Buffer.from(pattern, 'hex'))).length;

  it('a window open on the old watch when it is replaced still ends with its evidence', async (ctx) => {
    ctx.skip(!egress, NO_EGRESS);
    const old = await Watch.for(lab);
    const reading = old.begin(); // a probe still running when another's marker comes late
    await breakIt(old);
    const fresh = await Watch.for(lab); // the next probe's
    expect(fresh).not.toBe(old);
    expect((await ping()).exitCode).toBe(0);
    const windows = await old.end(reading); // before: "tcpdump in node 'a' exited" (the replacement stopped it)
    expect(echoes(windows, 'a')).toBe(2); // request and reply, in node a
    expect(echoes(windows, 'b')).toBe(2);
    // its last window closed, the old watch stops: one tcpdump per node is left, the new watch's
    for (let t = 0; t < 40 && tcpdumpsIn('a') > 1; t++) await sleep(25);
    expect([tcpdumpsIn('a'), tcpdumpsIn('b')]).toEqual([1, 1]);
    // the new watch sees traffic too
    const w = fresh.begin();
    expect((await ping('fedcba3210')).exitCode).toBe(0);
    expect(echoes(await fresh.end(w), 'b', 'fedcba3210')).toBe(2);
  });

  it('two probes finding the watch broken at once share one replacement, which works', async (ctx) => {
    ctx.skip(!egress, NO_EGRESS);
    const old = await Watch.for(lab);
    await breakIt(old);
    const [x, y] = await Promise.all([Watch.for(lab), Watch.for(lab)]);
    expect(x).toBe(y); // before: the second restart stopped the first one's new watch
    expect(x).not.toBe(old);
    const w = x.begin();
    expect((await ping()).exitCode).toBe(0);
    expect(echoes(await x.end(w), 'a')).toBe(2);
  });

  it('closeProbes stops a retired watch at once, though a window is still open on it (the last test: the lab is closed after it)', async (ctx) => {
    ctx.skip(!egress, NO_EGRESS);
    const old = await Watch.for(lab);
    old.begin(); // a probe cut short: never ended
    await breakIt(old);
    await Watch.for(lab);
    expect(tcpdumpsIn('a')).toBe(2);
    await closeProbes(lab);
    expect(await pidsLeftIn(lab.instance)).toEqual([]);
  });
});

// The test API on real labs: probes as typed calls, and every matcher with a
// passing test and its failing twin (whose message must carry what the CLI
// shows: expected vs observed, both paths, the pcap files).
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundledLab, Lab } from '../../src/api/index.js';
import { useLab } from '../../src/api/vitest.js';
import { multipath } from '../fixtures/api/multipath.js';
import { fails, isRoot, namespaces, tempDir } from './helpers.js';

const pcapsIn = (msg: string) => (/pcaps kept: (.+)/.exec(msg)?.[1] ?? '').split(' ').filter(Boolean);

describe.skipIf(!isRoot)('matchers on dual-nic-reply-path', () => {
  const lab = useLab('labs/dual-nic-reply-path.yaml', { artifacts: tempDir() });

  it('ping: reply via, symmetry, source, path, seen', async () => {
    const r = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    expect(r.ok).toBe(true); // no expectation given: no checks
    expect(r.requestPath).toBe('pc2>eth0 -> lan>router>net1 -> p2>sw1>p1 -> eth1>server');
    await expect(r).toReplyVia('server:eth0');
    await expect(r).not.toReplyVia('server:eth1');
    await expect(r).not.toBeSymmetric();
    await expect(r).toHaveSource('192.168.2.17');
    await expect(r).toFollowPath(['pc2', 'router', 'sw1', 'server:eth1']);
    await expect(r).toFollowPath(['server:eth0', 'router', 'pc2'], { reply: true });
    await expect(r).toBeSeenAt(['server:eth1', 'server:eth0']);
    await expect(r).not.toBeSeenAt('pc1:eth0');
    await expect(r).toBeReachable();
    await expect(r).toMeet({ replies: 3, 'reply-via': 'server:eth0' });

    const m = await fails(() => expect(r).toReplyVia('server:eth1'));
    expect(m).toMatch(/reply-via: expected server:eth1, observed server:eth0/);
    expect(m).toMatch(/request path: pc2>eth0 -> lan>router>net1/);
    expect(m).toMatch(/reply path: +server>eth0 -> net0>router/);
    expect(m).toMatch(/api\.test\.ts:\d+:\d+/); // where the probe was called
    expect(pcapsIn(m).length).toBeGreaterThan(0);
    for (const f of pcapsIn(m)) expect(existsSync(f), f).toBe(true);
    expect(await fails(() => expect(r).toBeSymmetric())).toMatch(/symmetric: expected true, observed false \(/);
    expect(await fails(() => expect(r).toHaveSource('10.0.0.1'))).toMatch(
      /source: expected 10\.0\.0\.1, observed 192\.168\.2\.17 \(at server\)/,
    );
    expect(await fails(() => expect(r).toFollowPath(['pc2', 'server']))).toMatch(
      /path: expected pc2 -> server, observed pc2>eth0 -> lan>router/,
    );
    expect(await fails(() => expect(r).toBeSeenAt('pc1:eth0'))).toMatch(
      /seen pc1:eth0: expected seen, observed not seen/,
    );
    expect(await fails(() => expect(r).not.toBeSeenAt('server:eth0'))).toMatch(
      /not-seen server:eth0: expected not seen, observed seen/,
    );
    expect(await fails(() => expect(r).not.toBeReachable())).toMatch(/reachable: expected false, observed true/);
  });

  it('a claim about a place that saw nothing fails both ways', async () => {
    const r = await lab.ping({ from: 'pc1', to: '192.168.1.220', count: 1 });
    // pc1 is on the server's own segment: its reply never crosses the router
    expect(await fails(() => expect(r).toReplyVia('router:lan'))).toMatch(
      /reply-via: expected router:lan, observed not observed at router/,
    );
    expect(await fails(() => expect(r).not.toReplyVia('router:lan'))).toMatch(/not observed at router/);
  });

  it('route: toUseTable, after applying stages', async () => {
    await lab.applyStage('eth0 down, without policy routing');
    await lab.applyStage('with a routing table for eth1');
    const r = await lab.route({ node: 'server', to: '192.168.2.17', from: '192.168.1.220' });
    await expect(r).toUseTable('gateway1');
    await expect(r).toUseTable(201);
    expect(await fails(() => expect(r).toUseTable('main'))).toMatch(/table: expected main, observed gateway1/);
    const p = await lab.ping({ from: 'pc2', to: '192.168.1.220' });
    await expect(p).toBeSymmetric();
    await expect(p).toReplyVia('server:eth1');
  });

  it('node $: execa template in the node, with stdout, stderr, exitCode, failed', async () => {
    const r = await lab.node('server').$`ip -j route show table ${201}`;
    expect(r.exitCode).toBe(0);
    expect(r.failed).toBe(false);
    expect(JSON.parse(r.stdout).map((x: { dst: string }) => x.dst)).toContain('default');
    const bad = await lab.node('server').$({ reject: false })`ip route show table nosuchtable`;
    expect(bad.failed).toBe(true);
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/table/i);
    await expect(lab.node('server').$`false`).rejects.toThrow(/failed with exit code 1/);
  });

  it('options are checked at run time too (JavaScript callers), before anything is sent', async () => {
    await expect(lab.ping({ from: 'pc2', to: 'server', form: 'x' } as never)).rejects.toThrow(
      /invalid ping options: unknown key 'form'/,
    );
    await expect(lab.ping({ from: 'nosuch', to: 'server' })).rejects.toThrow(/has no node 'nosuch'/);
  });
});

describe.skipIf(!isRoot)('IPv6, as IPv4', () => {
  const lab = useLab(bundledLab('dual-nic-reply-path-v6'));

  it('ping and tcp to an IPv6 target, and their twins', async () => {
    const p = await lab.ping({ from: 'pc2', to: 'server:eth1', ipv6: true });
    expect(p.requestPath).toMatch(/^pc2>eth0 -> .* -> eth1>server$/);
    await expect(p).toReplyVia('server:eth0');
    await expect(p).not.toBeSymmetric();
    expect(await fails(() => expect(p).toReplyVia('server:eth1'))).toMatch(
      /reply-via: expected server:eth1, observed server:eth0/,
    );
    const t = await lab.tcp({ from: 'pc2', to: '2001:db8:1::220' });
    await expect(t).toMeet({ connected: true });
    await expect(t).toHaveSource('2001:db8:2::17');
    expect(await fails(() => expect(t).toHaveSource('2001:db8:2::99'))).toMatch(
      /source: expected 2001:db8:2::99, observed 2001:db8:2::17 \(at server\)/,
    );
  });
});

describe.skipIf(!isRoot)('flows, udp, exec and throughput on an inline lab (defineLab)', () => {
  const lab = useLab(multipath);

  it('udp, exec (lab.run) and throughput as typed calls', async () => {
    const u = await lab.udp({ from: 'client', to: 'server' });
    await expect(u).toBeReachable();
    await expect(u).toBeSeenAt('server:eth0');
    const e = await lab.run({ node: 'server', command: 'ip -br addr show eth0' }, { stdout: '10.61.3.10/24' });
    expect(e.ok).toBe(true);
    await expect(e).toMeet({ exit: 0, stdout: '/UP|UNKNOWN/' });
    expect(await fails(() => expect(e).toMeet({ stdout: '10.61.3.11' }))).toMatch(
      /stdout: expected 10\.61\.3\.11, observed eth0/,
    );
    // an exec result shows nothing about sources, reachability or reply paths: those claims fail, with and without .not
    expect(await fails(() => expect(e).toHaveSource('10.9.9.9'))).toMatch(
      /the exec probe cannot show whether the target saw source 10\.9\.9\.9/,
    );
    expect(await fails(() => expect(e).not.toHaveSource('10.9.9.9'))).toMatch(/cannot show/);
    expect(await fails(() => expect(e).toBeReachable())).toMatch(/cannot show/);
    expect(await fails(() => expect(e).toReplyVia('server:eth0'))).toMatch(/cannot show/);
    await expect(lab.run({ node: 'server', command: 'true' }, { source: '10.9.9.9' })).rejects.toThrow(
      /the exec probe cannot judge 'source'/,
    );
    const t = await lab.throughput({ from: 'client', to: 'server', seconds: 1 });
    await expect(t).toMeet({ rate: { min: '1mbit' } });
    expect(await fails(() => expect(t).toMeet({ rate: { max: '1kbit' } }))).toMatch(
      /rate max: expected <= 1kbit, observed [\d.]+mbit/,
    );
  });

  it('toSpread: over both uplinks, and its twin', async () => {
    const r = await lab.flows({ from: 'client', to: 'server:eth0', count: 64 });
    await expect(r).toSpread({ 'client:a': 1, 'client:b': 1 }, 0.25);
    expect(await fails(() => expect(r).toSpread({ 'client:a': 1 }, 0.1))).toMatch(
      /spread client:a: expected 100% ±10, observed \d+% \(\d+ of 64 flows/,
    );
  });
});

describe.skipIf(!isRoot)('await using', () => {
  it('takes the lab down at the end of the block, also when it throws', async () => {
    let instance = '';
    await expect(
      (async () => {
        await using lab = await Lab.up(multipath);
        instance = lab.instance;
        expect(namespaces(`nslab-${instance}.`)).toHaveLength(5);
        throw new Error('midway');
      })(),
    ).rejects.toThrow('midway');
    expect(namespaces(`nslab-${instance}.`)).toEqual([]);
  });

  it('takes a lab file as a path or a file URL', async () => {
    await using lab = await Lab.up(pathToFileURL('test/fixtures/labs/probes.yaml'));
    expect(lab.name).toBe('probes');
  });

  it('gives each lab its own instance id', async () => {
    await using a = await Lab.up(multipath);
    await using b = await Lab.up(multipath);
    expect(a.instance).not.toBe(b.instance);
    expect(a.instance).toMatch(/^api-multipath\.[a-z0-9]{6}$/);
  });
});

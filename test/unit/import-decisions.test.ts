// Issue 18: the host kernel's recorded decisions. Tuples derived from a snapshot's configuration (each local source
// and none against each destination class, each rule's selectors), `ip -batch`'s answers read back line by line, and
// the decisions written as route tests of the host node ("the lab decides as the host did"). No root: pure parts.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { batchLine, decisionTuples, parseBatch } from '../../src/import/decisions.js';
import { checkSnapshot } from '../../src/import/check.js';
import { renderImported } from '../../src/import/render.js';
import type { Snapshot } from '../../src/import/snapshot.js';
import { snapshotToLab } from '../../src/import/to-lab.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';

const snap = () => JSON.parse(readFileSync('docs/examples/dual-nic-server.snapshot.json', 'utf8')) as Snapshot;

describe('recorded decisions: the tuples', () => {
  it('every local source and none against each destination class, both families; each rule with its selectors', () => {
    const s = snap();
    s.rules[4].splice(1, 0, { priority: 100, not: null, src: 'all', fwmark: '0xca6c', table: '51820' } as never);
    s.rules[4].splice(2, 0, {
      priority: 101,
      src: '192.168.1.0',
      srclen: 24,
      ipproto: 'udp',
      sport_start: 1000,
      sport_end: 2000,
      uid_start: 7,
      uid_end: 9,
      table: '201',
    } as never);
    s.rules[4].splice(3, 0, { priority: 102, src: 'all', iif: 'eth1', tos: '0x10', table: '202' } as never);
    const t = decisionTuples(s).map(batchLine);
    // destinations: elsewhere, each route's destination and gateway, each own address
    for (const to of [
      '203.0.113.77',
      '10.0.0.1',
      '10.0.0.220',
      '192.168.1.1',
      '192.168.1.220',
      '2001:db8:1::1',
      '2001:db8:ffff:ffff::77',
    ])
      expect(t).toContain(`route get to ${to}`);
    expect(t).toContain('route get to 203.0.113.77 from 10.0.0.220');
    expect(t).toContain('route get to 203.0.113.77 from 192.168.1.220');
    expect(t).toContain('route get to 2001:db8:ffff:ffff::77 from 2001:db8:1::220');
    // the rules' selectors: a mark; ports, protocol and uid with a local source its from matches; iif with a neighbour
    expect(t).toContain('route get to 203.0.113.77 mark 0xca6c');
    expect(t).toContain('route get to 203.0.113.77 from 192.168.1.220 uid 7 ipproto 17 sport 1000');
    expect(t).toContain('route get to 203.0.113.77 from 192.168.1.1 iif eth1 tos 0x10');
    // the twin: no tuple asks from an address of another family, none repeats
    expect(t.some((l) => /to \d+\.\S+ from \S*:/.test(l))).toBe(false);
    expect(new Set(t).size).toBe(t.length);
  });

  it(`bounded: a host with 1000 rules gives at most the bound, every group kept`, () => {
    const s = snap();
    for (let k = 0; k < 1000; k++)
      s.rules[4].splice(1, 0, {
        priority: 100 + k,
        src: 'all',
        fwmark: `0x${(k + 1).toString(16)}`,
        table: '201',
      } as never);
    const t = decisionTuples(s);
    expect(t).toHaveLength(2000);
    // round-robin: the last rule's mark is still asked, and the plain tuples are all there
    expect(t.map(batchLine)).toContain('route get to 203.0.113.77 mark 0x3e8');
    expect(t.map(batchLine)).toContain('route get to 203.0.113.77 from 10.0.0.220');
    expect(decisionTuples(s, 50)).toHaveLength(50);
  });
});

describe('recorded decisions: ip -batch read back', () => {
  it('answers in order, the failed lines (-force) by their number, with the message', () => {
    const stdout =
      '[{"dst":"10.50.1.1","gateway":"10.9.0.2","dev":"veth0","prefsrc":"10.9.0.1","flags":[],"uid":0,"cache":[]}]\n' +
      '[{"type":"local","dst":"100.64.100.5","dev":"lo","table":"local","prefsrc":"100.64.100.5","flags":[],"uid":0,"cache":["local"]}]\n';
    const stderr =
      'RTNETLINK answers: Invalid argument\nCommand failed -:1\nRTNETLINK answers: Permission denied\nCommand failed -:3\n';
    expect(parseBatch(4, stdout, stderr)).toEqual([
      { error: 'RTNETLINK answers: Invalid argument' },
      { dev: 'veth0', gateway: '10.9.0.2', prefsrc: '10.9.0.1' },
      { error: 'RTNETLINK answers: Permission denied' },
      { type: 'local', dev: 'lo', prefsrc: '100.64.100.5', table: 'local' },
    ]);
    // the twin: without the failures, the answers are the lines in order
    expect(parseBatch(2, stdout, '')[0]).toEqual({ dev: 'veth0', gateway: '10.9.0.2', prefsrc: '10.9.0.1' });
  });
});

describe('recorded decisions: route tests of the imported lab', () => {
  it('each decision a route test with its selectors and the answer; a refusal is reachable: false; an interface the lab does not keep: left out, counted', async () => {
    const s = snap();
    s.tables = { 201: 'gateway1' };
    s.routes[4].push({ dst: 'default', gateway: '192.168.1.254', dev: 'eth1', table: 'gateway1', flags: [] });
    s.rules[4].splice(1, 0, { priority: 100, src: '192.168.1.220', table: 'gateway1' } as never);
    s.decisions = [
      {
        to: '203.0.113.77',
        from: '192.168.1.220',
        answer: { dev: 'eth1', gateway: '192.168.1.254', prefsrc: '192.168.1.220', table: 'gateway1' },
      },
      {
        to: '203.0.113.77',
        mark: '0x5',
        tos: '0x10',
        uid: 7,
        ipproto: '17',
        sport: 1000,
        dport: 53,
        answer: { dev: 'eth0', gateway: '10.0.0.1', prefsrc: '10.0.0.220' },
      },
      { to: '10.99.0.1', answer: { error: 'RTNETLINK answers: Invalid argument' } },
      { to: '172.17.0.5', answer: { dev: 'docker0', prefsrc: '172.17.0.1' } },
    ];
    const imp = snapshotToLab(checkSnapshot(JSON.parse(JSON.stringify(s)), 'x.json'), 'x.json');
    const text = await renderImported(imp, 'x.json');
    const { model, problems } = checkLab(loadLabText(text, 'lab.yaml'));
    expect(problems).toEqual([]);
    const tests = model!.stages[0]!.tests.filter((t) => t.probe === 'route');
    expect(tests.map((t) => [t.name, t.spec, t.expect])).toEqual([
      [
        'decides as the host did: to 203.0.113.77 from 192.168.1.220 (dev eth1)',
        { node: 'server', to: '203.0.113.77', from: '192.168.1.220' },
        { reachable: true, dev: 'eth1', via: '192.168.1.254', src: '192.168.1.220', table: 'gateway1' },
      ],
      [
        'decides as the host did: to 203.0.113.77 mark 0x5 tos 0x10 uid 7 ipproto 17 sport 1000 dport 53 (dev eth0)',
        { node: 'server', to: '203.0.113.77', mark: '0x5', tos: '0x10', uid: 7, ipproto: '17', sport: 1000, dport: 53 },
        { reachable: true, dev: 'eth0', via: '10.0.0.1', src: '10.0.0.220', table: 'main' },
      ],
      [
        'decides as the host did: to 10.99.0.1 (Invalid argument)',
        { node: 'server', to: '10.99.0.1' },
        { reachable: false },
      ],
    ]);
    expect(imp.notes).toContain('1 recorded decision(s) left out: they name an interface the lab does not keep');
    expect(imp.summary).toBe(
      'imported 3 addresses, 2 routes, 1 rule, 3 recorded decisions as route tests; left out: 1 decision',
    );
  });
});

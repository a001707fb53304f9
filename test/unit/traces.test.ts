// The trace builder (pure): hops with their frames, dispositions, the divergence hop.
import { describe, expect, it } from 'vitest';
import { pathOf, type Observation, type Peers } from '../../src/capture/paths.js';
import { loadLab } from '../../src/lab/resolve.js';
import { broadcastTo } from '../../src/probes/ping.js';
import { traces } from '../../src/traces/build.js';

// pc2 eth0 — lan router net1 — eth1 server eth0 — net0 router
const peers: Peers = new Map([
  ['pc2:eth0', { node: 'router', iface: 'lan' }],
  ['router:lan', { node: 'pc2', iface: 'eth0' }],
  ['router:net1', { node: 'server', iface: 'eth1' }],
  ['server:eth1', { node: 'router', iface: 'net1' }],
  ['router:net0', { node: 'server', iface: 'eth0' }],
  ['server:eth0', { node: 'router', iface: 'net0' }],
]);
let frame = 0;
const o = (
  node: string,
  iface: string,
  dir: 'in' | 'out',
  ts: number,
  src = '192.168.2.17',
  dst = '192.168.1.220',
): Observation => ({ node, iface, dir, ts, frame: ++frame, src, dst });
const back = (node: string, iface: string, dir: 'in' | 'out', ts: number, src = '192.168.1.220') =>
  o(node, iface, dir, ts, src, '192.168.2.17');
const request = () =>
  pathOf(
    [
      o('pc2', 'eth0', 'out', 1),
      o('router', 'lan', 'in', 2),
      o('router', 'net1', 'out', 3),
      o('server', 'eth1', 'in', 4),
    ],
    peers,
  );
const base = { origin: 'pc2', target: 'server', to: '192.168.1.220', expect: {} };

describe('traces', () => {
  it('a delivered exchange: every hop cites its frames; both directions delivered', () => {
    const reply = pathOf(
      [
        back('server', 'eth1', 'out', 5),
        back('router', 'net1', 'in', 6),
        back('router', 'lan', 'out', 7),
        back('pc2', 'eth0', 'in', 8),
      ],
      peers,
    );
    const [q, r] = traces({ ...base, request: request(), reply });
    expect(q).toMatchObject({ direction: 'request', disposition: 'delivered', at: 'server' });
    expect(q!.hops.map((h) => [h.node, h.in, h.out])).toEqual([
      ['pc2', undefined, 'eth0'],
      ['router', 'lan', 'net1'],
      ['server', 'eth1', undefined],
    ]);
    expect(q!.hops[1]!.evidence).toEqual([
      expect.objectContaining({ iface: 'lan', dir: 'in', ts: 2 }),
      expect.objectContaining({ iface: 'net1', dir: 'out', ts: 3 }),
    ]);
    expect(q!.hops[1]!.evidence.every((e) => e.frame > 0)).toBe(true);
    expect(r).toMatchObject({ direction: 'reply', disposition: 'delivered', at: 'pc2' });
    expect(r!.divergesAt).toBeUndefined();
  });

  it('a reply that leaves by another interface is asymmetric, diverging at the server', () => {
    const reply = pathOf(
      [
        back('server', 'eth0', 'out', 5),
        back('router', 'net0', 'in', 6),
        back('router', 'lan', 'out', 7),
        back('pc2', 'eth0', 'in', 8),
      ],
      peers,
    );
    const [, r] = traces({ ...base, request: request(), reply });
    expect(r).toMatchObject({ disposition: 'asymmetric', at: 'server', divergesAt: 0 });
    expect(r!.detail).toMatch(/came in on eth1, the reply left through eth0/);
  });

  it('a reply that dies on the way is dropped where it was last seen, still diverging at the server', () => {
    const reply = pathOf([back('server', 'eth0', 'out', 5), back('router', 'net0', 'in', 6)], peers);
    const [, r] = traces({ ...base, request: request(), reply, expect: { 'reply-via': 'server:eth1' } });
    expect(r).toMatchObject({ disposition: 'dropped', at: 'router', divergesAt: 0 });
  });

  it('no reply at all: unanswered at the target; no request: not sent', () => {
    expect(traces({ ...base, request: request(), reply: [] })[1]).toMatchObject({
      disposition: 'unanswered',
      at: 'server',
    });
    const t = traces({ ...base, request: [], reply: [] });
    expect(t).toHaveLength(1);
    expect(t[0]).toMatchObject({ disposition: 'not-sent', at: 'pc2' });
  });

  it('a request that dies at the router is dropped there; its twin reaching the server is delivered', () => {
    const q = pathOf([o('pc2', 'eth0', 'out', 1), o('router', 'lan', 'in', 2)], peers);
    expect(traces({ ...base, request: q, reply: [] })).toEqual([
      expect.objectContaining({ disposition: 'dropped', at: 'router' }),
    ]);
    expect(traces({ ...base, request: request(), reply: [] })[0]).toMatchObject({ disposition: 'delivered' });
  });

  it('another source than expected at the target: wrong-source, at the node that chose it or the NAT that wrote it', () => {
    expect(traces({ ...base, request: request(), reply: [], expect: { source: '192.168.2.99' } })[0]).toMatchObject({
      disposition: 'wrong-source',
      at: 'pc2',
      divergesAt: 0,
    });
    expect(traces({ ...base, request: request(), reply: [], expect: { source: '192.168.2.17' } })[0]).toMatchObject({
      disposition: 'delivered',
    });
    // masquerade at the router: the hop shows the NAT, and the router is to blame
    const q = pathOf(
      [
        o('pc2', 'eth0', 'out', 1),
        o('router', 'lan', 'in', 2),
        o('router', 'net1', 'out', 3, '192.168.1.254'),
        o('server', 'eth1', 'in', 4, '192.168.1.254'),
      ],
      peers,
    );
    const [t] = traces({ ...base, request: q, reply: [], expect: { source: '192.168.2.17' } });
    expect(t!.hops[1]!.nat).toEqual({ src: '192.168.1.254', dst: '192.168.1.220' });
    expect(t).toMatchObject({ disposition: 'wrong-source', at: 'router', divergesAt: 1 });
  });

  it('a path other than the expected one marks the first hop that differs', () => {
    expect(
      traces({ ...base, request: request(), reply: [], expect: { path: ['pc2', 'router', 'server:eth0'] } })[0]!
        .divergesAt,
    ).toBe(2);
    expect(
      traces({ ...base, request: request(), reply: [], expect: { path: ['pc2', 'router', 'server:eth1'] } })[0]!
        .divergesAt,
    ).toBeUndefined();
  });
});

describe('why: reading ip -j rule and route output', async () => {
  const { lookup, tableEntry } = await import('../../src/explain/fib.js');
  // `ip -j rule` and `ip -j route show table all` as iproute2 6.x prints them (dual-nic-reply-path, fix stage)
  const rules = [
    { priority: 0, src: 'all', table: 'local' },
    { priority: 32765, src: '192.168.1.220', table: '201' },
    { priority: 32766, src: 'all', table: 'main' },
    { priority: 32767, src: 'all', table: 'default' },
  ];
  const main = [
    { dst: 'default', gateway: '10.0.0.1', dev: 'eth0' },
    { dst: '10.0.0.0/24', dev: 'eth0', prefsrc: '10.0.0.220' },
    { dst: '192.168.1.0/24', dev: 'eth1', prefsrc: '192.168.1.220' },
  ];
  const t201 = [{ dst: 'default', gateway: '192.168.1.254', dev: 'eth1', table: '201' }];

  it('the rule that chose the table: the first by priority that matches and whose table holds the destination', () => {
    const a = lookup(rules, [...main, ...t201], { to: '192.168.2.17', from: '192.168.1.220' });
    expect([a?.rule?.priority, a?.table, a?.route?.dev]).toEqual([32765, '201', 'eth1']);
    const b = lookup(rules, [...main, ...t201], { to: '192.168.2.17', from: '10.0.0.220' });
    expect([b?.rule?.priority, b?.table, b?.route?.dev]).toEqual([32766, '254', 'eth0']);
    // a locally sent packet comes in from lo as far as the rules see it: a rule for iif eth1 does not select it
    const c = lookup(
      [{ priority: 100, src: '10.0.0.0', srclen: 8, iif: 'eth1', table: '7' }, ...rules.slice(2)],
      [...main, { dst: 'default', dev: 'eth1', table: '7' }],
      { to: '1.1.1.1', from: '10.1.1.1' },
    );
    expect(c?.rule?.priority).toBe(32766);
  });

  it('a mark selects a table: fwmark 0x1 sends the packet to a table whose entry refuses it; without the mark, main', () => {
    const marked = [{ priority: 500, src: 'all', fwmark: '0x1', table: '100' }, ...rules];
    const routes = [...main, { type: 'unreachable', dst: '10.62.3.8', table: '100' }];
    expect(lookup(marked, routes, { to: '10.62.3.8', mark: 1 })).toMatchObject({
      rule: { priority: 500 },
      table: '100',
      type: 'unreachable',
    });
    expect(lookup(marked, routes, { to: '10.62.3.8', mark: 0 })).toMatchObject({
      rule: { priority: 32766 },
      type: 'unicast',
    });
    expect(lookup(marked, routes, { to: '10.62.3.8' })?.type).toBe('unicast');
  });

  it('the table entry: the longest prefix holding the destination (and, IPv6, the source)', () => {
    const entry = (rows: typeof main, to: string, from?: string) => {
      const e = tableEntry(rows, { to, ...(from ? { from } : {}) });
      return typeof e === 'object' ? e : undefined;
    };
    expect(entry(main, '192.168.2.17')?.dst).toBe('default');
    expect(entry(main, '192.168.1.5')?.dst).toBe('192.168.1.0/24');
    const v6 = [
      { dst: 'default', gateway: '2001:db8:10::1', dev: 'eth0' },
      { dst: 'default', from: '2001:db8:1::/64', gateway: '2001:db8:1::fe', dev: 'eth1' },
    ];
    expect(entry(v6, '2001:db8:2::17', '2001:db8:1::220')?.dev).toBe('eth1');
    expect(entry(v6, '2001:db8:2::17', '2001:db8:10::220')?.dev).toBe('eth0');
    // a multipath or dead entry: the kernel's own business, not claimed
    expect(tableEntry([{ dst: 'default', nexthops: [{}, {}] }], { to: '1.1.1.1' })).toBe('unknown');
  });
});

describe('firewall counters', async () => {
  const { parseCounters, moved } = await import('../../src/capture/counters.js');
  const ruleset = (n: number) =>
    `table inet fw {\n\tchain forward {\n\t\ttype filter hook forward priority filter; policy accept;\n\t\tip daddr 10.5.2.3 counter packets ${n} bytes ${n * 84} drop\n\t\tip6 daddr 2001:db8:52::3 drop\n\t}\n}\n`;
  it('reads the counted rules of `nft list ruleset`, and which moved', () => {
    expect([...parseCounters(ruleset(2))]).toEqual([
      ['table inet fw chain forward: ip daddr 10.5.2.3 counter drop', 2],
    ]);
    const before = new Map([['r', parseCounters(ruleset(2))]]);
    expect(moved(before, new Map([['r', parseCounters(ruleset(3))]]))).toEqual([
      { node: 'r', rule: 'table inet fw chain forward: ip daddr 10.5.2.3 counter drop', packets: 1 },
    ]);
    expect(moved(before, before)).toEqual([]);
  });
});

describe('a ping to a broadcast address', () => {
  const lab = loadLab('test/fixtures/labs/why/senders.yaml');
  it("is a subnet's broadcast of one of the sender's interfaces: its target the node at the link's other end", () => {
    expect(broadcastTo(lab, 'c', '10.64.3.255')).toEqual({ iface: 'eth2', peer: 'h' });
    expect(broadcastTo(lab, 'c', '10.64.4.255')).toEqual({ iface: 'eth3', peer: 'k' });
    // the twins: an address of the subnet, another node's subnet, IPv6
    expect(broadcastTo(lab, 'c', '10.64.3.2')).toBeUndefined();
    expect(broadcastTo(lab, 'h', '10.64.4.255')).toBeUndefined();
    expect(broadcastTo(lab, 'c', '2001:db8:64:1::ffff')).toBeUndefined();
  });
  it('is answered from the answering node’s own address: delivered, not wrong-source (but for a broadcast)', () => {
    const peers: Peers = new Map([
      ['c:eth2', { node: 'h', iface: 'eth0' }],
      ['h:eth0', { node: 'c', iface: 'eth2' }],
    ]);
    const q = (n: string, i: string, dir: 'in' | 'out', ts: number, src: string, dst: string): Observation => ({
      node: n,
      iface: i,
      dir,
      ts,
      frame: ts,
      src,
      dst,
    });
    const input = {
      request: pathOf(
        [q('c', 'eth2', 'out', 1, '10.64.3.1', '10.64.3.255'), q('h', 'eth0', 'in', 2, '10.64.3.1', '10.64.3.255')],
        peers,
      ),
      reply: pathOf(
        [q('h', 'eth0', 'out', 3, '10.64.3.2', '10.64.3.1'), q('c', 'eth2', 'in', 4, '10.64.3.2', '10.64.3.1')],
        peers,
      ),
      origin: 'c',
      target: 'h',
      to: '10.64.3.255',
      expect: { replies: 1 },
    };
    expect(traces({ ...input, broadcast: true })[1]).toMatchObject({ disposition: 'delivered' });
    expect(traces(input)[1]).toMatchObject({ disposition: 'wrong-source' });
  });
});

// nslab import without root: a snapshot (real `ip -j` output, taken from a lab
// node) becomes a lab that validates; table names, rules, routes that take the
// kernel's place, and what cannot be imported.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { multiHomed } from '../../bench/import.mjs';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';
import { inSubnet, parseCidr } from '../../src/lab/addr.js';
import { MAX_INTERFACES, routerPlan } from '../../src/import/addressing.js';
import { nodeTags } from '../../src/import/names.js';
import { renderImported } from '../../src/import/render.js';
import type { Snapshot } from '../../src/import/snapshot.js';
import { checkSnapshot } from '../../src/import/check.js';
import { snapshotToLab } from '../../src/import/to-lab.js';
import { loadLab } from '../../src/lab/resolve.js';

const FIXTURE = 'docs/examples/dual-nic-server.snapshot.json';
const snap = () => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Snapshot;

async function validLab(s: Snapshot) {
  const imp = snapshotToLab(checkSnapshot(s, 'x.json'));
  const text = await renderImported(imp, 'x.json');
  const f = join(mkdtempSync(join(tmpdir(), 'nslab-import-unit-')), 'lab.yaml');
  writeFileSync(f, text);
  return { imp, text, model: loadLab(f) };
}

describe('import: a snapshot becomes a lab', () => {
  it('the dual-NIC server of the docs: golden lab file', async () => {
    const { text } = await validLab(snap());
    await expect(text.replace(FIXTURE, 'SNAPSHOT')).toMatchFileSnapshot('__golden__/import/dual-nic-server.yaml');
  });

  it('the server with its addresses and route; a router per interface with the gateway; a client beyond each; a test per address', async () => {
    const { model } = await validLab(snap());
    const server = model.nodes.find((n) => n.name === 'server')!;
    expect(server.config.routes.map((r) => r.text)).toEqual(['default via 10.0.0.1 dev eth0']);
    expect(
      model.nodes
        .find((n) => n.name === 'gw-eth0')!
        .interfaces.find((i) => i.name === 'lan')!
        .addresses.map((a) => a.text),
    ).toEqual(['10.0.0.1/24']);
    expect(model.nodes.map((n) => n.name).sort()).toEqual([
      'client-eth0',
      'client-eth1',
      'core',
      'gw-eth0',
      'gw-eth1',
      'server',
    ]);
    const tests = model.stages[0]!.tests;
    expect(tests.map((t) => [t.spec.from, t.spec.to, t.expect['reply-via']])).toEqual([
      ['client-eth0', '10.0.0.220', 'server:eth0'],
      ['client-eth1', '192.168.1.220', 'server:eth1'],
      ['gw-eth1', '2001:db8:1::220', 'server:eth1'],
    ]);
  });

  it("table names, rules, and a route that takes the place of the kernel's subnet route", async () => {
    const s = snap();
    s.tables = { 201: 'gateway1' };
    s.routes[4].push({ dst: 'default', gateway: '192.168.1.254', dev: 'eth1', table: 'gateway1', flags: [] });
    s.routes[4].push({
      dst: '192.168.1.0/24',
      dev: 'eth1',
      protocol: 'boot',
      scope: 'link',
      prefsrc: '192.168.1.220',
      flags: [],
    });
    s.rules[4].splice(1, 0, { priority: 100, src: '192.168.1.220', table: 'gateway1' });
    s.rules[6].splice(1, 0, { priority: 200, src: 'all', fwmark: '0x1', table: '201' });
    const { model, imp } = await validLab(s);
    const server = model.nodes.find((n) => n.name === 'server')!;
    expect(server.tables).toEqual({ gateway1: 201 });
    expect(server.config.rules.map((r) => r.text)).toEqual([
      'priority 100 from 192.168.1.220 table gateway1',
      '-6 priority 200 fwmark 0x1 table gateway1',
    ]);
    expect(server.config.routes.map((r) => r.text)).toContain('default via 192.168.1.254 dev eth1 table gateway1');
    // the base only adds routes, and the kernel has this one already: the stage replaces it
    expect(model.stages[0]!.apply.get('server')!.routes.map((r) => r.text)).toEqual([
      '192.168.1.0/24 dev eth1 src 192.168.1.220',
    ]);
    expect(imp.notes).toEqual([]);
  });

  it('what a lab cannot hold is left out with a note: a route through an interface without address, an unknown table', async () => {
    const s = snap();
    s.routes[4].push(
      { dst: '172.17.0.0/16', dev: 'docker0', flags: [] },
      { dst: 'default', gateway: '10.0.0.1', table: 'nosuch', flags: [] },
    );
    const { imp } = await validLab(s);
    expect(imp.notes).toEqual([
      'ip route 172.17.0.0/16 dev docker0 left out: docker0 is not in the lab (no global address)',
      "ip route default via 10.0.0.1 table nosuch left out: table 'nosuch' has no number in the snapshot",
    ]);
  });

  it('fields iproute2 prints in other versions are kept unread: the same lab; a field import reads, with a wrong type, is refused', async () => {
    const s = snap();
    const extra = { future: { nested: [1, null, 'x'] }, 'odd key': null };
    Object.assign(s, extra);
    // in a route or a rule, a field import does not read may be a selector: those are left out (the next test)
    for (const o of [...s.links, ...s.addresses, ...s.addresses.flatMap((a) => a.addr_info ?? [])])
      Object.assign(o, extra);
    // a family import does not read: not checked
    s.addresses[1]!.addr_info!.push({ family: 'mpls', label: 5, ...extra });
    expect((await validLab(s)).text).toBe((await validLab(snap())).text);
    (s.routes[4][0] as Record<string, unknown>).dev = 5;
    expect(() => checkSnapshot(s, 'f.json')).toThrow(/^f\.json: routes\.4\[0\]\.dev: expected a string, got 5$/m);
  });

  it('a file that is no snapshot is refused with what to do', () => {
    expect(() => checkSnapshot({ hello: 1 }, 'f.json')).toThrow(
      /^f\.json: not an nslab snapshot: it has no 'nslab-snapshot' field/,
    );
    expect(() => checkSnapshot([], 'f.json')).toThrow(/not a JSON object/);
    const s = snap();
    s.addresses = s.addresses.filter((a) => a.ifname === 'lo');
    expect(() => snapshotToLab(s, 'f.json')).toThrow(
      /^f\.json: addresses: no interface of 'server' has a global address a lab can hold/,
    );
  });
});

/** The lab of a snapshot, checked in memory as `nslab validate` would check the file. */
async function checked(s: unknown) {
  const imp = snapshotToLab(checkSnapshot(s, 'x.json'), 'x.json');
  const text = await renderImported(imp, 'x.json');
  const { model, problems } = checkLab(loadLabText(text, 'lab.yaml'));
  expect(problems).toEqual([]);
  return { imp, text, model: model! };
}

describe('import: the addressing plan', () => {
  it(`gives every router valid, distinct addresses up to its limit (${MAX_INTERFACES}), in the ranges it reserves; refuses beyond`, () => {
    const clients4 = parseCidr('198.18.0.0/16')!,
      core4 = parseCidr('198.19.0.0/16')!,
      ula = parseCidr('fd00:6e73:6c62::/48')!;
    const seen = new Set<string>();
    for (const k of [0, 1, 63, 64, 254, 255, 256, 1000, 4095, MAX_INTERFACES - 1]) {
      const p = routerPlan(k, true, true);
      for (const [list, v4] of [
        [p.cli, clients4],
        [p.client, clients4],
        [p.coreSide, core4],
        [p.routerSide, core4],
      ] as const)
        for (const a of list) {
          const c = parseCidr(a);
          expect(c, a).toBeDefined();
          expect(inSubnet(c!.address, c!.family === 4 ? v4 : ula), a).toBe(true);
          expect(seen.has(c!.address), `${a} given twice`).toBe(false);
          seen.add(c!.address);
        }
      // the router's client link and core link are each one subnet, shared with the other end
      expect(inSubnet(parseCidr(p.client[0]!)!.address, parseCidr(p.cli[0]!)!)).toBe(true);
      expect(inSubnet(parseCidr(p.routerSide[0]!)!.address, parseCidr(p.coreSide[0]!)!)).toBe(true);
    }
    // where the old plan gave 198.18.255.1/24 and then 198.18.256.1
    expect(routerPlan(255, false, false).cli).toEqual(['198.18.3.253/30']);
    expect(routerPlan(MAX_INTERFACES - 1, false, false).client).toEqual(['198.18.255.254/30']);
    expect(() => routerPlan(MAX_INTERFACES, false, false)).toThrow(RangeError);
  });

  it('300 interfaces (the old plan broke at 255): a lab that validates, IPv4 and IPv6, each client behind the core', async () => {
    const { model } = await checked(multiHomed(300));
    expect(model.nodes).toHaveLength(2 * 300 + 2);
    const core = model.nodes.find((n) => n.name === 'core')!;
    expect(core.interfaces.filter((i) => i.name !== 'lo')).toHaveLength(300);
    // one route per client subnet on the core (300 IPv4, 75 IPv6), two aggregates per router
    expect(core.config.routes).toHaveLength(300 + 75);
    expect(core.config.routes.map((r) => r.text)).toContain('198.18.4.172/30 via 198.19.4.174 dev r299');
    const gw = model.nodes.find((n) => n.name === 'gw-eth299')!;
    expect(gw.config.routes.map((r) => r.text)).toEqual([
      '198.18.0.0/16 via 198.19.4.173 dev core',
      'fd00:6e73:6c62::/49 via fd00:6e73:6c62:812b::1 dev core',
    ]);
  });

  it('grows linearly: routes and links of the lab per interface do not depend on how many there are', async () => {
    const count = async (n: number) => {
      const { model } = await checked(multiHomed(n));
      return { routes: model.nodes.reduce((a, node) => a + node.config.routes.length, 0), links: model.links.length };
    };
    const [a, b, c] = [await count(40), await count(80), await count(160)];
    // 40 more interfaces add as much the second time as the first: no route per pair of routers (which would add 4
    // times as much)
    expect(c.routes - b.routes).toBe(2 * (b.routes - a.routes));
    expect(c.links - b.links).toBe(2 * (b.links - a.links));
    expect(b.routes - a.routes).toBeLessThan(40 * 8);
  });
});

describe('import: node names that cannot collide', () => {
  const ifs = (...names: string[]) => {
    const s = snap();
    const proto = s.addresses.find((a) => a.ifname === 'eth0')!;
    s.addresses = [
      s.addresses.find((a) => a.ifname === 'lo')!,
      ...names.map((ifname, k) => {
        const addr_info = [{ family: 'inet', local: `10.${k}.0.220`, prefixlen: 24, scope: 'global' }];
        return { ...proto, ifname, addr_info };
      }),
    ];
    s.routes = { 4: [], 6: [] };
    s.sysctl = {};
    return s;
  };
  const routers = (model: { nodes: { name: string }[] }) =>
    model.nodes
      .map((n) => n.name)
      .filter((n) => n.startsWith('gw-'))
      .sort();

  it('a.b and a-b, Eth0 and eth0: distinct routers and clients; the interface whose name is the node name keeps it', async () => {
    const { model, imp } = await checked(ifs('a.b', 'a-b', 'Eth0', 'eth0'));
    expect(routers(model)).toEqual(['gw-a-b', 'gw-a-b-2', 'gw-eth0', 'gw-eth0-2']);
    expect(model.nodes.filter((n) => n.name.startsWith('client-'))).toHaveLength(4);
    const links = imp.lab.links as string[];
    expect(links).toContain('server:a-b gw-a-b:lan');
    expect(links).toContain('server:a.b gw-a-b-2:lan');
    expect(links).toContain('server:eth0 gw-eth0:lan');
    expect(links).toContain('server:Eth0 gw-eth0-2:lan');
  });

  it("the same names whatever the order of the snapshot; a numbered name never takes another interface's own", async () => {
    const a = nodeTags(['eth0', 'Eth0', 'eth0-2', 'ETH0'], () => false);
    // eth0 keeps its name; then ETH0 and Eth0, in code point order ('T' < 't'), skipping eth0-2, another interface's
    // own
    expect(a).toEqual(['eth0', 'eth0-4', 'eth0-2', 'eth0-3']);
    expect(nodeTags(['ETH0', 'eth0-2', 'Eth0', 'eth0'], () => false)).toEqual(['eth0-3', 'eth0-2', 'eth0-4', 'eth0']);
    // its twin: names that differ as node names keep their own
    expect(nodeTags(['eth0', 'eth1', 'wlan0'], () => false)).toEqual(['eth0', 'eth1', 'wlan0']);
    const { model } = await checked(ifs('ETH0', 'eth0-2', 'Eth0', 'eth0'));
    expect(routers(model)).toEqual(['gw-eth0', 'gw-eth0-2', 'gw-eth0-3', 'gw-eth0-4']);
  });

  it('a host named like a router or the core: every node its own name', async () => {
    const s = ifs('eth0', 'eth1');
    s.name = 'gw-eth0';
    const { model } = await checked(s);
    expect(model.nodes.map((n) => n.name).sort()).toEqual([
      'client-eth0-2',
      'client-eth1',
      'core',
      'gw-eth0',
      'gw-eth0-2',
      'gw-eth1',
    ]);
    s.name = 'core';
    const c = await checked(s);
    expect(c.model.nodes.map((n) => n.name).sort()).toEqual([
      'client-eth0',
      'client-eth1',
      'core',
      'core-2',
      'gw-eth0',
      'gw-eth1',
    ]);
    // the machine is 'core'; the core router is 'core-2'
    expect(
      c.model.nodes
        .find((n) => n.name === 'core')!
        .interfaces.map((i) => i.name)
        .sort(),
    ).toEqual(['eth0', 'eth1', 'lo']);
    expect(c.model.links.some((l) => l.a.node === 'gw-eth0' && l.b.node === 'core-2')).toBe(true);
  });
});

describe('snapshot of this machine (read only, no root)', () => {
  it('has the shape import reads; nothing about this host is asserted', async () => {
    const { takeSnapshot } = await import('../../src/import/snapshot.js');
    const s = await takeSnapshot();
    expect(s['nslab-snapshot']).toBe(1);
    expect(s.source).toBe('this machine');
    expect(s.links.some((l) => l.ifname === 'lo')).toBe(true);
    for (const f of [4, 6] as const) {
      expect(Array.isArray(s.routes[f])).toBe(true);
      expect(Array.isArray(s.rules[f])).toBe(true);
    }
    expect(Object.keys(s.sysctl)).toContain('net.ipv4.ip_forward');
    expect(() => checkSnapshot(JSON.parse(JSON.stringify(s)), 'host.json')).not.toThrow();
  });
});

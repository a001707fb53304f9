// Issue 18: import keeps every construct the lab format can express, exactly, both families, and leaves the rest out
// at its place, with a note and in the summary, never weakened. Each construct is given as iproute2 6.1 prints it
// (`ip -j`, copied from a namespace configured with plain `ip`), and each "is" has its "is not" twin.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { checkSnapshot } from '../../src/import/check.js';
import { renderImported } from '../../src/import/render.js';
import type { Snapshot } from '../../src/import/snapshot.js';
import { snapshotToLab } from '../../src/import/to-lab.js';
import { parseCidr } from '../../src/lab/addr.js';
import { checkRoute } from '../../src/lab/iproute.js';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';

const FIXTURE = 'docs/examples/dual-nic-server.snapshot.json';
const snap = () => JSON.parse(readFileSync(FIXTURE, 'utf8')) as Snapshot;
type Obj = Record<string, unknown>;

/** The lab of a snapshot, validated as `nslab validate` would; its host node's routes and rules (base and stage). */
async function imported(edit: (s: Snapshot) => void) {
  const s = snap();
  edit(s);
  const imp = snapshotToLab(checkSnapshot(JSON.parse(JSON.stringify(s)), 'x.json'), 'x.json');
  const text = await renderImported(imp, 'x.json');
  const { model, problems } = checkLab(loadLabText(text, 'lab.yaml'));
  expect(problems).toEqual([]);
  const server = model!.nodes.find((n) => n.name === 'server')!;
  const stage = model!.stages[0]!.apply.get('server')?.routes.map((r) => r.text) ?? [];
  return {
    imp,
    text,
    model: model!,
    rules: server.config.rules.map((r) => r.text),
    routes: [...server.config.routes.map((r) => r.text), ...stage],
  };
}
const rule4 = (r: Obj) => (s: Snapshot) => s.rules[4].splice(1, 0, r as Snapshot['rules'][4][0]);
const rule6 = (r: Obj) => (s: Snapshot) => s.rules[6].splice(1, 0, r as Snapshot['rules'][6][0]);
const route4 =
  (...r: Obj[]) =>
  (s: Snapshot) =>
    s.routes[4].push(...(r as Snapshot['routes'][4]));
const route6 =
  (...r: Obj[]) =>
  (s: Snapshot) =>
    s.routes[6].push(...(r as Snapshot['routes'][6]));

describe('import: rules as iproute2 6.1 prints them', () => {
  it('`"not": null` is a negated rule (wg-quick), both families; without it, and with false, it is not', async () => {
    const not = await imported((s) => {
      rule4({ priority: 100, not: null, src: 'all', fwmark: '0xca6c', table: '51820' })(s);
      rule6({ priority: 100, not: null, src: 'all', fwmark: '0xca6c', table: '51820' })(s);
    });
    expect(not.rules).toEqual([
      'priority 100 not fwmark 0xca6c table 51820',
      '-6 priority 100 not fwmark 0xca6c table 51820',
    ]);
    const plain = await imported(rule4({ priority: 100, src: 'all', fwmark: '0xca6c', table: '51820' }));
    expect(plain.rules).toEqual(['priority 100 fwmark 0xca6c table 51820']);
    const no = await imported(rule4({ priority: 100, not: false, src: 'all', fwmark: '0xca6c', table: '51820' }));
    expect(no.rules).toEqual(['priority 100 fwmark 0xca6c table 51820']);
  });

  it('uidrange (uid_start/uid_end), port ranges (sport_start/sport_end) and single ports; not a catch-all', async () => {
    const r = await imported((s) => {
      rule4({ priority: 101, src: 'all', uid_start: 1000, uid_end: 1999, table: '200' })(s);
      rule4({ priority: 102, src: 'all', ipproto: 'udp', sport_start: 1000, sport_end: 2000, dport: 53, table: '201' })(
        s,
      );
      rule6({ priority: 50, not: null, src: '2001:db8::', srclen: 64, uid_start: 5, uid_end: 5, table: '300' })(s);
      rule6({ priority: 51, src: 'all', dport_start: 8000, dport_end: 8080, table: '300' })(s);
    });
    expect(r.rules).toEqual([
      'priority 102 ipproto udp sport 1000-2000 dport 53 table 201',
      'priority 101 uidrange 1000-1999 table 200',
      '-6 priority 51 dport 8000-8080 table 300',
      'priority 50 not from 2001:db8::/64 uidrange 5-5 table 300',
    ]);
    // the twin: no rule of them is written without its selector
    for (const t of r.rules) expect(t).toMatch(/uidrange|sport|dport/);
    expect(r.rules.join('\n')).not.toMatch(/^priority 10[12] table/m);
  });

  it('goto (`"goto": N`) and nop are actions, not `table main`; older goto (action + target) too', async () => {
    const r = await imported((s) => {
      rule4({ priority: 103, src: 'all', goto: 110 })(s);
      rule4({ priority: 104, src: 'all', action: 'goto', target: 120 })(s);
      rule4({ priority: 105, src: 'all', fwmark: '0x10', fwmask: '0xff', nop: null })(s);
      rule4({ priority: 120, src: 'all', iif: 'eth0', action: 'prohibit' })(s);
    });
    expect(r.rules).toEqual([
      'priority 120 iif eth0 prohibit',
      'priority 105 fwmark 0x10/0xff nop',
      'priority 104 goto 120',
      'priority 103 goto 110',
    ]);
    expect(r.rules.some((t) => t.includes('table main'))).toBe(false);
  });

  it('a selector import does not read (l3mdev, tun_id, a field of a newer iproute2) leaves the rule out, said at its place, in the notes and the summary; its twin is written', async () => {
    const r = await imported((s) => {
      rule4({ priority: 130, src: 'all', l3mdev: null, table: '5' })(s);
      rule4({ priority: 140, src: 'all', tun_id: 5, table: '5' })(s);
      rule4({ priority: 150, src: 'all', flowlabel: '0x5', table: '5' })(s);
      rule4({ priority: 160, src: 'all', fwmark: '0x1', table: '5' })(s);
    });
    expect(r.rules).toEqual(['priority 160 fwmark 0x1 table 5']);
    expect(r.imp.notes).toEqual([
      "rule 150 left out: 'flowlabel' is not read by nslab import",
      'rule 140 left out: tun_id is not supported in a lab',
      'rule 130 left out: l3mdev (VRF) is not supported in a lab',
    ]);
    // at the place in the rules where it would have been, and on top
    // (spliced in before the others: the snapshot lists 160, 150, 140, 130)
    expect(r.text).toMatch(
      /rules:\n\s+- priority 160 fwmark 0x1 table 5\n\s+# note: rule 150 left out: 'flowlabel'[^\n]*\n\s+# note: rule 140 [^\n]*\n\s+# note: rule 130 /,
    );
    expect(r.text).toMatch(/^# note: rule 130 left out/m);
    expect(r.imp.summary).toBe(
      'imported 3 addresses, 1 route, 1 rule, no recorded decisions (the snapshot has none); left out: 3 rules',
    );
    expect(r.text.trimEnd().split('\n').at(-1)).toBe(
      '# imported 3 addresses, 1 route, 1 rule, no recorded decisions (the snapshot has none); left out: 3 rules',
    );
  });

  it('with no rule imported at all, the note is on the host node', async () => {
    const r = await imported(rule4({ priority: 130, src: 'all', l3mdev: null, table: '5' }));
    expect(r.rules).toEqual([]);
    expect(r.text).toMatch(/\n {4}# note: rule 130 left out: l3mdev/);
  });
});

describe('import: routes as iproute2 6.1 prints them', () => {
  it('local routes in any table (AnyIP, TPROXY), both families; the kernel-made local routes are not copied', async () => {
    const r = await imported((s) => {
      route4(
        { type: 'local', dst: 'default', dev: 'lo', table: '100', scope: 'host', flags: [] },
        { type: 'local', dst: '100.64.100.0/24', dev: 'lo', table: 'local', scope: 'host', flags: [] },
      )(s);
      route6({ type: 'local', dst: 'default', dev: 'lo', table: '100', metric: 1024, flags: [], pref: 'medium' })(s);
    });
    expect(r.routes).toEqual([
      'default via 10.0.0.1 dev eth0',
      'local default dev lo table 100',
      'local 100.64.100.0/24 dev lo table 255',
      '-6 local default dev lo table 100',
    ]);
    // the twin: the kernel's own local and broadcast routes of the fixture are not there
    expect(r.routes.some((t) => t.includes('10.0.0.220') || t.includes('broadcast'))).toBe(false);
  });

  it("an IPv6 route's from, a link-local gateway (whose router holds it), blackhole/unreachable/prohibit/throw both families without `dev lo`", async () => {
    const r = await imported((s) => {
      route6(
        {
          dst: 'default',
          from: '2001:db8:1::/64',
          gateway: 'fe80::1',
          dev: 'eth1',
          metric: 1024,
          flags: [],
          pref: 'medium',
        },
        { type: 'blackhole', dst: '2001:db8:dead::/48', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
        { type: 'unreachable', dst: '2001:db8:2::/48', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
        { type: 'prohibit', dst: '2001:db8:3::/48', dev: 'lo', metric: 1024, flags: [], pref: 'medium' },
        { type: 'throw', dst: '2001:db8:4::/48', dev: 'lo', table: '300', metric: 1024, flags: [], pref: 'medium' },
      )(s);
      route4(
        { type: 'blackhole', dst: '10.99.0.0/16', flags: [] },
        { type: 'unreachable', dst: '10.98.0.0/16', table: '300', flags: [] },
        { type: 'prohibit', dst: '10.97.0.0/16', metric: 5, flags: [] },
        { type: 'throw', dst: '10.96.0.0/16', table: '300', flags: [] },
      )(s);
    });
    expect(r.routes).toEqual([
      'default via 10.0.0.1 dev eth0',
      'blackhole 10.99.0.0/16',
      'unreachable 10.98.0.0/16 table 300',
      'prohibit 10.97.0.0/16 metric 5',
      'throw 10.96.0.0/16 table 300',
      'default from 2001:db8:1::/64 via fe80::1 dev eth1',
      'blackhole 2001:db8:dead::/48',
      'unreachable 2001:db8:2::/48',
      'prohibit 2001:db8:3::/48',
      'throw 2001:db8:4::/48 table 300',
    ]);
    expect(r.imp.notes).toEqual([]);
    const gw = r.model.nodes.find((n) => n.name === 'gw-eth1')!;
    expect(gw.interfaces.find((i) => i.name === 'lan')!.addresses.map((a) => a.text)).toContain('fe80::1/64');
    // the twin: an IPv6 route without from is a general one
    const general = await imported(
      route6({ dst: 'default', gateway: 'fe80::1', dev: 'eth1', metric: 1024, flags: [] }),
    );
    expect(general.routes).toContain('default via fe80::1 dev eth1');
  });

  it('metric, mtu/advmss, tos, scope and protocol are kept; what a lab takes by default is not written', async () => {
    const r = await imported(
      route4(
        {
          dst: '10.51.0.0/16',
          gateway: '10.0.0.1',
          dev: 'eth0',
          protocol: 'static',
          metric: 50,
          flags: [],
          metrics: [{ mtu: 1300, advmss: 1260 }],
        },
        { dst: '10.52.0.0/16', tos: '0x10', dev: 'eth0', scope: 'link', flags: [] },
        { dst: '10.54.0.0/16', dev: 'eth0', scope: 'host', flags: [] },
        { dst: '10.55.0.0/16', gateway: '10.0.0.1', dev: 'eth0', protocol: 'boot', flags: [] },
      ),
    );
    expect(r.routes).toEqual([
      'default via 10.0.0.1 dev eth0',
      '10.51.0.0/16 via 10.0.0.1 dev eth0 metric 50 protocol static mtu 1300 advmss 1260',
      '10.52.0.0/16 tos 0x10 dev eth0',
      '10.54.0.0/16 dev eth0 scope host',
      '10.55.0.0/16 via 10.0.0.1 dev eth0',
    ]);
  });

  it('a metric import does not read leaves the route out, at its place and in the summary', async () => {
    const r = await imported(
      route4({ dst: '10.51.0.0/16', gateway: '10.0.0.1', dev: 'eth0', flags: [], metrics: [{ rto_min: 5 }] }),
    );
    expect(r.routes).toEqual(['default via 10.0.0.1 dev eth0']);
    expect(r.imp.notes).toEqual([
      "ip route 10.51.0.0/16 via 10.0.0.1 dev eth0 left out: its metric 'rto_min' is not read by nslab import",
    ]);
    expect(r.imp.summary).toBe(
      'imported 3 addresses, 1 route, 0 rules, no recorded decisions (the snapshot has none); left out: 1 route',
    );
    expect(r.text).toMatch(/routes:\n\s+- default via 10\.0\.0\.1 dev eth0\n\s+# note: ip route 10\.51/);
  });
});

describe('import: interfaces', () => {
  it("an interface's MTU is kept; 1500 (a lab veth's) is not written", async () => {
    const r = await imported((s) => {
      (s.addresses.find((a) => a.ifname === 'eth1') as Obj).mtu = 1400;
    });
    const eth = (n: string) => r.model.nodes.find((x) => x.name === 'server')!.interfaces.find((i) => i.name === n)!;
    expect(eth('eth1').mtu).toBe(1400);
    expect(eth('eth0').mtu).toBeUndefined();
    expect(r.text).toMatch(/eth1:\n\s+addresses:\n\s+- 192\.168\.1\.220\/24\n\s+- 2001:db8:1::220\/64\n\s+mtu: 1400/);
  });

  it('a point-to-point peer: the address alone, the route to the peer, routes via the peer onlink, from the address whose peer it is', async () => {
    const r = await imported((s) => {
      const eth0 = s.addresses.find((a) => a.ifname === 'eth0')!;
      eth0.addr_info!.push({ family: 'inet', local: '10.9.0.1', address: '10.9.0.2', prefixlen: 32, scope: 'global' });
      route4(
        { dst: '10.9.0.2', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.9.0.1', flags: [] },
        { dst: '10.50.0.0/16', gateway: '10.9.0.2', dev: 'eth0', flags: [] },
      )(s);
    });
    expect(r.routes).toEqual([
      'default via 10.0.0.1 dev eth0',
      '10.9.0.2 dev eth0 src 10.9.0.1 protocol kernel',
      '10.50.0.0/16 via 10.9.0.2 dev eth0 src 10.9.0.1 onlink',
    ]);
    const eth0 = r.model.nodes.find((x) => x.name === 'server')!.interfaces.find((i) => i.name === 'eth0')!;
    expect(eth0.addresses.map((a) => a.text)).toEqual(['10.0.0.220/24', '10.9.0.1/32']);
    // the twin: the kernel's routes for an address without peer are not copied
    expect(r.routes.some((t) => t.startsWith('10.0.0.0/24'))).toBe(false);
  });

  it('an interface without a global address (a bridge leg) is left out with a note', async () => {
    const r = await imported((s) => {
      s.addresses.push({ ifname: 'veth9', flags: ['UP'], addr_info: [] });
    });
    expect(r.imp.notes).toEqual(["interface 'veth9' left out: it has no global address"]);
    expect(r.imp.summary).toMatch(/left out: 1 interface$/);
  });
});

describe('lab: an IPv6 link-local gateway', () => {
  const view = {
    interfaces: new Map([
      ['lo', [parseCidr('::1/128')!]],
      ['eth0', [parseCidr('2001:db8::2/64')!]],
      ['eth1', [parseCidr('2001:db8:1::2/64')!]],
    ]),
    tables: new Map<string, number>(),
    down: new Set(['eth1']),
  };
  it('is taken with the device its link is (as the kernel does); not without a device, through lo or a down one', () => {
    expect(checkRoute('default via fe80::1 dev eth0', view).errors).toEqual([]);
    expect(checkRoute('default nexthop via fe80::1 dev eth0 nexthop via fe80::2 dev eth0', view).errors).toEqual([]);
    expect(checkRoute('default via fe80::1', view).errors.map((e) => e.message)).toEqual([
      'gateway fe80::1 is on no connected subnet of this node',
    ]);
    expect(checkRoute('default via fe80::1 dev lo', view).errors).toHaveLength(1);
    expect(checkRoute('default via fe80::1 dev eth1', view).errors.length).toBeGreaterThan(0);
  });
});

// nslab import without root: a snapshot (real `ip -j` output, taken from a lab
// node) becomes a lab that validates; table names, rules, routes that take the
// kernel's place, and what cannot be imported.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
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
    expect(model.nodes.find((n) => n.name === 'gw-eth0')!.interfaces.find((i) => i.name === 'lan')!.addresses.map((a) => a.text)).toEqual(['10.0.0.1/24']);
    expect(model.nodes.map((n) => n.name).sort()).toEqual(['client-eth0', 'client-eth1', 'core', 'gw-eth0', 'gw-eth1', 'server']);
    const tests = model.stages[0]!.tests;
    expect(tests.map((t) => [t.spec.from, t.spec.to, t.expect['reply-via']])).toEqual([
      ['client-eth0', '10.0.0.220', 'server:eth0'], ['client-eth1', '192.168.1.220', 'server:eth1'], ['gw-eth1', '2001:db8:1::220', 'server:eth1'],
    ]);
  });

  it('table names, rules, and a route that takes the place of the kernel\'s subnet route', async () => {
    const s = snap();
    s.tables = { 201: 'gateway1' };
    s.routes[4].push({ dst: 'default', gateway: '192.168.1.254', dev: 'eth1', table: 'gateway1', flags: [] });
    s.routes[4].push({ dst: '192.168.1.0/24', dev: 'eth1', protocol: 'boot', scope: 'link', prefsrc: '192.168.1.220', flags: [] });
    s.rules[4].splice(1, 0, { priority: 100, src: '192.168.1.220', table: 'gateway1' });
    s.rules[6].splice(1, 0, { priority: 200, src: 'all', fwmark: '0x1', table: '201' });
    const { model, imp } = await validLab(s);
    const server = model.nodes.find((n) => n.name === 'server')!;
    expect(server.tables).toEqual({ gateway1: 201 });
    expect(server.config.rules.map((r) => r.text)).toEqual(['priority 100 from 192.168.1.220 table gateway1', '-6 priority 200 fwmark 0x1 table gateway1']);
    expect(server.config.routes.map((r) => r.text)).toContain('default via 192.168.1.254 dev eth1 table gateway1');
    // the base only adds routes, and the kernel has this one already: the stage replaces it
    expect(model.stages[0]!.apply.get('server')!.routes.map((r) => r.text)).toEqual(['192.168.1.0/24 dev eth1 src 192.168.1.220']);
    expect(imp.notes).toEqual([]);
  });

  it('what a lab cannot hold is left out with a note: a route through an interface without address, an unknown table', async () => {
    const s = snap();
    s.routes[4].push({ dst: '172.17.0.0/16', dev: 'docker0', flags: [] }, { dst: 'default', gateway: '10.0.0.1', table: 'nosuch', flags: [] });
    const { imp } = await validLab(s);
    expect(imp.notes).toEqual([
      'ip route 172.17.0.0/16 dev docker0 left out: docker0 is not in the lab (no global address)',
      "ip route default via 10.0.0.1 table nosuch left out: table 'nosuch' has no number in the snapshot",
    ]);
  });

  it('a file that is no snapshot is refused with what to do', () => {
    expect(() => checkSnapshot({ hello: 1 }, 'f.json')).toThrow(/^f\.json: not an nslab snapshot: it has no 'nslab-snapshot' field/);
    expect(() => checkSnapshot([], 'f.json')).toThrow(/not a JSON object/);
    const s = snap();
    s.addresses = s.addresses.filter((a) => a.ifname === 'lo');
    expect(() => snapshotToLab(s, 'f.json')).toThrow(/^f\.json: addresses: no interface of 'server' has a global address a lab can hold/);
  });
});

describe('snapshot of this machine (read only, no root)', () => {
  it('has the shape import reads; nothing about this host is asserted', async () => {
    const { takeSnapshot } = await import('../../src/import/snapshot.js');
    const s = await takeSnapshot();
    expect(s['nslab-snapshot']).toBe(1);
    expect(s.source).toBe('this machine');
    expect(s.links.some((l) => l.ifname === 'lo')).toBe(true);
    for (const f of [4, 6] as const) { expect(Array.isArray(s.routes[f])).toBe(true); expect(Array.isArray(s.rules[f])).toBe(true); }
    expect(Object.keys(s.sysctl)).toContain('net.ipv4.ip_forward');
    expect(() => checkSnapshot(JSON.parse(JSON.stringify(s)), 'host.json')).not.toThrow();
  });
});

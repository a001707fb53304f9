// Each bundled lab (and the all-features fixture) comes up with exactly what it
// declares, read back from the kernel, and goes down leaving nothing.
import { existsSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/engine/lab.js';
import { isSame } from '../../src/engine/proc.js';
import { readState } from '../../src/engine/state.js';
import type { LabModel, Line } from '../../src/lab/model.js';
import { loadLab } from '../../src/lab/resolve.js';
import { isRoot, json, namespaces, NOT_ROOT, sh, uid } from './helpers.js';

const files = [
  ...readdirSync('labs')
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => `labs/${f}`),
  'test/fixtures/labs/features.yaml',
];

function routeKey(args: string[], table = 'main'): string {
  const a = [...args];
  if (['unicast', 'local', 'blackhole', 'unreachable', 'prohibit', 'throw'].includes(a[0]!)) a.shift();
  const get = (k: string) => {
    const i = a.indexOf(k);
    return i >= 0 ? a[i + 1] : undefined;
  };
  const gws = a.flatMap((t, i) => (t === 'via' ? [a[i + 1]] : [])).join(',');
  const dst = a[0] === 'default' ? 'default' : a[0]!.includes('/') ? a[0] : a[0];
  const from = get('from') ? ` from ${get('from')}` : ''; // IPv6 source-specific routes
  return `${dst}${from} table ${get('table') ?? table} via ${gws || '-'}`;
}

/** Tables by number: through nsenter, not `ip -n`, which shows a node's own table names (/etc/netns). */
function kernelRoutes(ns: string): string[] {
  const out: string[] = [];
  for (const fam of ['-4', '-6']) {
    for (const r of json<any[]>([
      'nsenter',
      `--net=/run/netns/${ns}`,
      'ip',
      '-j',
      fam,
      'route',
      'show',
      'table',
      'all',
    ])) {
      if (r.protocol === 'kernel' || r.table === 'local' || r.type === 'multicast') continue; // the kernel's own
      const gws = r.gateway ? [r.gateway] : (r.nexthops ?? []).map((n: any) => n.gateway);
      out.push(
        `${r.dst}${r.from ? ` from ${r.from}` : ''} table ${r.table === undefined ? 'main' : r.table} via ${gws.join(',') || '-'}`,
      );
    }
  }
  return out.sort();
}

/** Interfaces down at the end of the lab's stages. */
function finalDown(lab: LabModel, node: string): Set<string> {
  const down = new Set<string>();
  for (const s of lab.stages) {
    const c = s.apply.get(node);
    c?.down.forEach((i) => down.add(i));
    c?.up.forEach((i) => down.delete(i));
  }
  return down;
}

/** The interfaces a route goes through: its dev, or the interface on its gateway's subnet. */
function routeInterfaces(node: LabModel['nodes'][number], args: string[]): string[] {
  const out = args.flatMap((t, i) => (t === 'dev' ? [args[i + 1]!] : []));
  for (const gw of args.flatMap((t, i) => (t === 'via' ? [args[i + 1]!] : [])))
    for (const i of node.interfaces)
      if (i.addresses.some((c) => c.family === 4 && sameSubnet(gw, c.address, c.prefix))) out.push(i.name);
  return out;
}

function sameSubnet(a: string, b: string, prefix: number): boolean {
  const n = (x: string) => x.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  if (!a.includes('.') || !b.includes('.')) return false;
  const mask = prefix === 0 ? 0 : 2 ** 32 - 2 ** (32 - prefix);
  return (n(a) & mask) >>> 0 === (n(b) & mask) >>> 0;
}

/** Compares what the kernel has in every namespace with what the lab declares (stages included). */
function readBack(lab: LabModel, up: Lab): void {
  for (const node of lab.nodes) {
    const ns = up.ns(node.name);
    const links = json<any[]>(['ip', '-n', ns, '-j', 'addr', 'show']);
    for (const iface of node.interfaces) {
      const k = links.find((l) => l.ifname === iface.name);
      expect(k, `${node.name}:${iface.name} exists`).toBeDefined();
      const declared = [
        ...iface.addresses,
        ...[...lab.stages].flatMap(
          (s) =>
            s.apply
              .get(node.name)
              ?.addresses.filter((a) => a.iface === iface.name)
              .map((a) => a.cidr) ?? [],
        ),
      ];
      const have = k.addr_info
        .filter(
          (a: any) =>
            a.scope === 'global' ||
            (iface.name === 'lo' && a.scope === 'host' && a.local !== '127.0.0.1' && a.local !== '::1'),
        )
        .map((a: any) => `${a.local}/${a.prefixlen}`)
        .sort();
      expect(have, `addresses of ${node.name}:${iface.name}`).toEqual(
        declared.map((c) => `${c.address}/${c.prefix}`).sort(),
      );
      if (iface.mtu) expect(k.mtu).toBe(iface.mtu);
      if (iface.mac) expect(k.address).toBe(iface.mac);
      expect(k.flags.includes('UP'), `${node.name}:${iface.name} up`).toBe(
        iface.up && !finalDown(lab, node.name).has(iface.name),
      );
      if (node.kind === 'bridge' && iface.name !== 'lo') expect(k.master).toBe('br0');
    }
    const stageCfg = lab.stages.map((s) => s.apply.get(node.name)).filter((c) => !!c);
    // routes: a stage's route replaces a base route with the same destination and table
    // the kernel flushes routes through an interface taken down, and does not restore them
    const lastDown = new Map<string, number>();
    lab.stages.forEach((s, k) => s.apply.get(node.name)?.down.forEach((i) => lastDown.set(i, k)));
    const down = finalDown(lab, node.name);
    const declared = new Map<string, string>();
    const sources: [Line, number][] = [
      ...node.config.routes.map((r) => [r, -1] as [Line, number]),
      ...lab.stages.flatMap((s, k) => (s.apply.get(node.name)?.routes ?? []).map((r) => [r, k] as [Line, number])),
    ];
    for (const [r, k] of sources) {
      const key = routeKey(r.args);
      const ifs = routeInterfaces(node, r.args);
      if (ifs.some((i) => down.has(i) || (lastDown.get(i) ?? -2) >= k)) {
        declared.delete(key.replace(/ via .*/, ''));
        continue;
      }
      declared.set(key.replace(/ via .*/, ''), key);
    }
    expect(kernelRoutes(ns), `routes of ${node.name}`).toEqual([...declared.values()].sort());
    // both families: an IPv6 rule is in `ip -6 rule`, and only there
    const rules = ['-4', '-6']
      .flatMap((f) => json<any[]>(['nsenter', `--net=/run/netns/${ns}`, 'ip', '-j', f, 'rule', 'show']))
      .filter((r) => ![0, 32766, 32767].includes(r.priority));
    const declaredRules = [...node.config.rules, ...stageCfg.flatMap((c) => c.rules)];
    expect(rules.length, `rules of ${node.name}`).toBe(declaredRules.length);
    for (const r of declaredRules) {
      const get = (k: string) => {
        const i = r.args.indexOf(k);
        return i >= 0 ? r.args[i + 1] : undefined;
      };
      expect(
        rules.some(
          (k) =>
            (get('from') === undefined || k.src === get('from')) && String(k.table) === (get('table') ?? get('lookup')),
        ),
        `rule '${r.text}'`,
      ).toBe(true);
    }
    for (const [key, value] of [...node.config.sysctl, ...stageCfg.flatMap((c) => c.sysctl)])
      expect(sh(['nsenter', `--net=/run/netns/${ns}`, 'sysctl', '-n', key]).trim(), key).toBe(value);
    const ruleset = sh(['nsenter', `--net=/run/netns/${ns}`, 'nft', 'list', 'ruleset']);
    const tables = [...ruleset.matchAll(/^table (\S+) (\S+)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
    const want = [...(node.config.nftables?.text ?? '').matchAll(/^\s*table (\S+) (\S+)/gm)].map(
      (m) => `${m[1]} ${m[2]}`,
    );
    if (node.config.masquerade.length) want.push('ip nslab_nat');
    expect(tables, `nftables of ${node.name}`).toEqual(want.sort());
  }
  for (const l of lab.links)
    if (l.rate)
      for (const end of [l.a, l.b]) {
        const q = json<any[]>(['tc', '-n', up.ns(end.node), '-j', 'qdisc', 'show', 'dev', end.iface]);
        expect(q[0]?.kind, `qdisc on ${end.node}:${end.iface}`).toBe('tbf');
      }
}

describe.skipIf(!isRoot)('bundled labs come up with exactly what they declare', () => {
  afterAll(() =>
    expect(namespaces('nslab-')).not.toEqual(expect.arrayContaining([expect.stringMatching(/\.it\w+\./)])),
  );

  for (const file of files) {
    const lab = loadLab(file);
    const last = lab.stages.at(-1)?.name;
    for (const stage of [undefined, ...(last ? [last] : [])]) {
      it(`${file}${stage ? ` at stage '${stage}'` : ''}`, async () => {
        const id = `it${uid()}`;
        const scoped = {
          ...lab,
          stages: stage ? lab.stages.slice(0, lab.stages.findIndex((s) => s.name === stage) + 1) : [],
        };
        const up = await Lab.up(lab, { id, stage });
        try {
          readBack(scoped, up);
          for (const s of up.state.services) {
            expect(isSame(s.pid, s.start), `service ${s.name} runs`).toBe(true);
            const inode = sh(['stat', '-L', '-c', '%i', `/run/netns/${up.ns(s.node)}`]).trim();
            expect(
              sh(['stat', '-L', '-c', '%i', `/proc/${s.pid}/ns/net`]).trim(),
              `service ${s.name} in its node`,
            ).toBe(inode);
          }
        } finally {
          const services = up.state.services;
          await up.down();
          expect(namespaces(`nslab-${lab.name}.${id}.`)).toEqual([]);
          expect(readState(up.instance)).toBeUndefined();
          for (const s of services) expect(isSame(s.pid, s.start), `service ${s.name} stopped`).toBe(false);
          expect(existsSync(up.state.logDir)).toBe(false);
        }
      });
    }
  }
});

if (!isRoot) describe('bundled labs', () => it.skip(`read-back on real namespaces: ${NOT_ROOT}`, () => {}));

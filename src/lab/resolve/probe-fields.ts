// A probe's fields and its expectation's, beyond the schema: what must be an address is one, an interface or node
// named exists in the node's view, and a route probe's selectors are ones `ip route get` takes.
import { parseAddress } from '../addr.js';
import { shown } from '../grammar.js';
import { BUILTIN_TABLES, IPPROTO } from '../iproute.js';
import type { Path } from '../load.js';
import { suggest } from '../suggest.js';
import type { ResolveContext } from './context.js';

/** Addresses are addresses and interfaces exist, wherever a probe or an expectation names one. */
export function checkProbeFields(
  cx: ResolveContext,
  probe: string,
  pr: Record<string, unknown>,
  ex: Record<string, unknown>,
  path: Path,
): void {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const fromView = str(pr.from) && cx.views.get(str(pr.from)!);
  const addr = (v: unknown, p: Path, what: string) => {
    if (str(v) !== undefined && !parseAddress(str(v)!))
      cx.problem(
        p,
        `${what} '${shown(str(v)!)}' is not an address`,
        'write a single address, e.g. 10.0.0.1 or 2001:db8::1',
      );
  };
  if (probe === 'ping') {
    addr(pr.source, [...path, probe, 'source'], 'source');
    if (str(pr.interface) !== undefined && fromView && !fromView.interfaces.has(str(pr.interface)!))
      cx.problem(
        [...path, probe, 'interface'],
        `node '${str(pr.from)}' has no interface '${shown(str(pr.interface)!)}'`,
        suggest(str(pr.interface)!, [...fromView.interfaces.keys()], 'interfaces'),
      );
  }
  if (probe === 'tcp' || probe === 'udp' || probe === 'http') addr(pr.bind, [...path, probe, 'bind'], 'bind');
  if (probe === 'flows' && str(pr.via) !== undefined && !cx.nodeNames.has(str(pr.via)!))
    cx.problem(
      [...path, probe, 'via'],
      `test names unknown node '${shown(str(pr.via)!)}'`,
      suggest(str(pr.via)!, [...cx.nodeNames], 'nodes'),
    );
  if (probe === 'route') {
    for (const k of ['mark', 'tos', 'dsfield'] as const)
      if (typeof pr[k] === 'string' && !/^(0x[0-9a-fA-F]{1,8}|\d{1,10})$/.test(pr[k]))
        cx.problem(
          [...path, probe, k],
          `route probe: ${k} '${shown(pr[k])}' is not a number`,
          'write it in decimal or as 0x hex',
        );
    if (str(pr.ipproto) !== undefined && !IPPROTO.test(str(pr.ipproto)!))
      cx.problem(
        [...path, probe, 'ipproto'],
        `route probe: ipproto '${shown(str(pr.ipproto)!)}' is not a protocol`,
        'use tcp, udp, icmp, ipv6-icmp, sctp or a number',
      );
    const view = str(pr.node) && cx.views.get(str(pr.node)!);
    if (str(ex.dev) !== undefined && view && !view.interfaces.has(str(ex.dev)!))
      cx.problem(
        [...path, 'expect', 'dev'],
        `node '${str(pr.node)}' has no interface '${shown(str(ex.dev)!)}'`,
        suggest(str(ex.dev)!, [...view.interfaces.keys()], 'interfaces'),
      );
    addr(ex.via, [...path, 'expect', 'via'], 'via');
    addr(ex.src, [...path, 'expect', 'src'], 'src');
  }
  addr(ex.source, [...path, 'expect', 'source'], 'source');
}

/** A route probe's selectors and the table it expects, against the node it asks. */
export function checkRouteProbe(
  cx: ResolveContext,
  pr: Record<string, unknown>,
  ex: Record<string, unknown>,
  path: Path,
): void {
  const view = typeof pr.node === 'string' ? cx.views.get(pr.node) : undefined;
  if (!view) return;
  const node = pr.node as string;
  for (const k of ['to', 'from'] as const)
    if (typeof pr[k] === 'string' && !parseAddress(pr[k]))
      cx.problem(
        [...path, k],
        `route probe: '${shown(pr[k])}' is not an address`,
        'ip route get takes a single address, e.g. 192.168.2.17',
      );
  for (const k of ['iif', 'oif'] as const)
    if (typeof pr[k] === 'string' && !view.interfaces.has(pr[k])) {
      const name: string = pr[k];
      cx.problem(
        [...path, k],
        `node '${node}' has no interface '${shown(name)}'`,
        suggest(name, [...view.interfaces.keys()], 'interfaces'),
      );
    }
  if (typeof pr.iif === 'string' && pr.from === undefined)
    cx.problem(
      [...path, 'iif'],
      "route probe: 'iif' needs 'from'",
      'ip route get simulates a packet arriving on iif from an address: add from: ADDRESS',
    );
  const t = ex.table;
  if (typeof t === 'string' && !/^\d+$/.test(t) && !(t in BUILTIN_TABLES) && !view.tables.has(t))
    cx.problem(
      [...path.slice(0, -1), 'expect', 'table'],
      `table '${shown(t)}' is not declared in node '${node}'`,
      `declare it under tables, or use a number; known: ${['main', 'local', 'default', ...view.tables.keys()].join(', ')}`,
    );
  if (typeof t === 'number' && (t < 1 || t > 0xffffffff))
    cx.problem(
      [...path.slice(0, -1), 'expect', 'table'],
      `table id ${t} is out of range`,
      'table ids are 1 to 4294967295',
    );
}

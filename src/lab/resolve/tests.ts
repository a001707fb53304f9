// A test: exactly one probe, nodes and interfaces it names that exist at its stage, a target with an address of the
// family the probe sends, an expectation it can judge (a key the probe does not judge is refused), and the probe's
// own fields (probe-fields.ts).
import { parseAddress } from '../addr.js';
import { CONTROL, shown } from '../grammar.js';
import { httpTarget } from '../payload.js';
import type { Path } from '../load.js';
import type { TestModel } from '../model.js';
import { JUDGES, PROBE_KINDS, TestSpec, unjudged } from '../schema.js';
import { suggest } from '../suggest.js';
import { checkCommand, splitWords } from './commands.js';
import { asRecord, lenient, type ResolveContext } from './context.js';
import { checkProbeFields, checkRouteProbe } from './probe-fields.js';

/**
 * A test, checked against the views as its stage leaves them; undefined when it has not exactly one probe or the
 * schema refuses it.
 */
export function resolveTest(cx: ResolveContext, raw: unknown, path: Path): TestModel | undefined {
  const rt = asRecord(raw);
  const probes = PROBE_KINDS.filter((k) => k in rt);
  if (probes.length !== 1) {
    cx.problem(
      path,
      probes.length ? `test has ${probes.length} probes (${probes.join(', ')})` : 'test has no probe',
      `give each test exactly one of: ${PROBE_KINDS.join(', ')}`,
    );
    return undefined;
  }
  const probe = probes[0]!;
  const pr = asRecord(rt[probe]);
  if (typeof rt.name === 'string' && CONTROL.test(rt.name))
    cx.problem(
      [...path, 'name'],
      `test name '${shown(rt.name)}' contains a line break or control character`,
      'a test name is one line of text',
    );
  if (probe === 'exec' && (typeof pr.command === 'string' || Array.isArray(pr.command)))
    checkCommand(cx, typeof pr.command === 'string' ? splitWords(pr.command) : pr.command.map(String), [
      ...path,
      probe,
      'command',
    ]);
  for (const key of probe === 'route' ? (['node'] as const) : (['from', 'node'] as const))
    // a route probe's from is an address
    if (typeof pr[key] === 'string' && !cx.nodeNames.has(pr[key]))
      cx.problem(
        [...path, probe, key],
        `test names unknown node '${pr[key]}'`,
        suggest(pr[key], [...cx.nodeNames], 'nodes'),
      );
  const targets = Array.isArray(pr.to) ? pr.to : [pr.to];
  const family = pr.ipv6 === true ? 6 : 4;
  targets.forEach((t, j) => {
    if (typeof t !== 'string' || probe === 'route') return;
    const tp = Array.isArray(pr.to) ? [...path, probe, 'to', j] : [...path, probe, 'to'];
    if (!parseAddress(t) && checkRef(cx, t, tp, false) && probe !== 'exec') checkTargetFamily(cx, t, family, tp);
  });
  if (probe === 'http' && typeof pr.url === 'string') checkHttpUrl(cx, pr.url, family, [...path, probe, 'url']);
  if (probe === 'route') checkRouteProbe(cx, pr, asRecord(rt.expect), [...path, probe]);
  checkProbeFields(cx, probe, pr, asRecord(rt.expect), path);
  if (probe !== 'exec' && rt.expect === undefined)
    cx.problem(
      path,
      'test asserts nothing',
      `add an expect, e.g. expect: { ${probe === 'route' ? 'dev: eth0' : probe === 'flows' ? 'spread: { node:eth0: 1 }' : probe === 'throughput' ? 'rate: { min: 1mbit }' : 'reachable: true'} }`,
    );
  const ex = asRecord(rt.expect);
  // a key the probe does not judge would pass on what it never looked at
  const a = probe === 'exec' ? 'an' : 'a';
  for (const key of unjudged(probe, ex))
    cx.problem(
      [...path, 'expect', key],
      `${a} ${probe} test cannot judge '${key}': nothing would check it`,
      `${a} ${probe} test judges: ${JUDGES[probe].join(', ')}`,
    );
  for (const key of ['reply-via', 'seen', 'not-seen', 'path', 'reply-path'] as const) {
    const v = ex[key];
    const list = Array.isArray(v) ? v : v === undefined ? [] : [v];
    list.forEach(
      (ref, j) =>
        typeof ref === 'string' &&
        checkRef(
          cx,
          ref,
          Array.isArray(v) ? [...path, 'expect', key, j] : [...path, 'expect', key],
          key === 'reply-via' || key.endsWith('seen'),
        ),
    );
  }
  for (const ref of Object.keys(asRecord(ex.spread))) checkRef(cx, ref, [...path, 'expect', 'spread', ref], true, true);
  const t = lenient(TestSpec, raw);
  if (!t) return undefined;
  return {
    name: t.name,
    probe,
    spec: pr,
    expect: t.expect ?? {},
    requires: t.requires ?? [],
    ...(t.hint !== undefined ? { hint: t.hint } : {}),
    at: cx.at(path),
  };
}

/** A reference to a node, or node:interface, in a test; true when it names something that exists. */
function checkRef(cx: ResolveContext, ref: string, path: Path, needIface: boolean, key = false): boolean {
  const [node, iface] = ref.split(':') as [string, string | undefined];
  if (!cx.nodeNames.has(node)) {
    cx.problem(path, `test names unknown node '${shown(node)}'`, suggest(node, [...cx.nodeNames], 'nodes'), key);
    return false;
  }
  if (needIface && iface === undefined) {
    cx.problem(path, `'${ref}' needs an interface`, `write it as ${node}:eth0`, key);
    return false;
  }
  const view = cx.views.get(node);
  if (iface !== undefined && view && !view.interfaces.has(iface)) {
    cx.problem(
      path,
      `node '${node}' has no interface '${shown(iface)}'`,
      suggest(iface, [...view.interfaces.keys()], 'interfaces'),
      key,
    );
    return false;
  }
  return true;
}

/** An http test's URL: its port in range, its host an address or a node with an address of the family. */
function checkHttpUrl(cx: ResolveContext, url: string, family: 4 | 6, path: Path): void {
  const t = httpTarget(url);
  if (!t) {
    // the schema has said what is wrong with its form; a port out of range is left
    if (/^http:\/\/(\[[^\]]*\]|[^/:]+):(\d+)/.test(url))
      cx.problem(path, `url '${shown(url)}' has a port out of range`, 'ports are 1 to 65535');
    return;
  }
  if (parseAddress(t.host)) return;
  if (!cx.nodeNames.has(t.host)) {
    cx.problem(path, `url names unknown node '${shown(t.host)}'`, suggest(t.host, [...cx.nodeNames], 'nodes'));
    return;
  }
  checkTargetFamily(cx, t.host, family, path);
}

/** A node or node:interface target needs an address of the family the probe uses (at this stage). */
function checkTargetFamily(cx: ResolveContext, ref: string, family: 4 | 6, path: Path): void {
  const [node, iface] = ref.split(':') as [string, string | undefined];
  const view = cx.views.get(node);
  if (!view) return;
  const has = [...view.interfaces].some(
    ([name, cs]) => name !== 'lo' && (iface === undefined || name === iface) && cs.some((c) => c.family === family),
  );
  if (!has)
    cx.problem(
      path,
      `'${ref}' has no IPv${family} address to send to`,
      family === 6
        ? 'give it an IPv6 address, or test it over IPv4'
        : 'give it an IPv4 address, or add ipv6: true to the probe',
    );
}

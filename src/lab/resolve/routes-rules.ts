// A node's routing: its named tables, its routes and its policy rules, at its base or in a stage's apply. Routes and
// rules are tokenised and checked against the node's view as it stands at that point (iproute.ts); a base route is
// also checked against the routes the kernel would refuse as the same one.
import { networkOf } from '../addr.js';
import { shown } from '../grammar.js';
import { checkRoute, checkRule, routeKey, BUILTIN_TABLES } from '../iproute.js';
import type { NodeConfig } from '../model.js';
import type { ConfigScope, ResolveContext, Settings } from './context.js';

/** Table names and ids: a name the kernel does not keep for itself, an id free and in range. */
export function resolveTables(cx: ResolveContext, { base, view }: ConfigScope, spec: Settings): void {
  for (const [tname, id] of Object.entries(spec.tables ?? {})) {
    const p = [...base, 'tables', tname];
    if (
      tname in BUILTIN_TABLES ||
      ['all', 'unspec'].includes(tname) ||
      /^\d+$/.test(tname) ||
      !/^[A-Za-z][A-Za-z0-9_-]*$/.test(tname)
    )
      cx.problem(
        p,
        `'${tname}' cannot be used as a table name`,
        'choose a name such as isp1 or gateway1 (main, local, default are built in)',
        true,
      );
    else if (id < 1 || id > 0xffffffff || (id >= 253 && id <= 255))
      cx.problem(
        p,
        `table id ${id} is reserved or out of range`,
        'use 1-252 or 256 and above (253-255 are default, main, local)',
      );
    else {
      const clash = [...view.tables].find(([n, i]) => i === id && n !== tname);
      if (clash) cx.problem(p, `table id ${id} is already named '${clash[0]}'`, 'give each table its own id');
      view.tables.set(tname, id);
    }
  }
}

/** Routes, each checked as `ip route` reads it. */
export function resolveRoutes(
  cx: ResolveContext,
  { base, view, isBase }: ConfigScope,
  spec: Settings,
  c: NodeConfig,
): void {
  // a base route is added (`ip route add`): the kernel refuses a second route with the same key,
  // including the one it adds itself for each IPv4 address's subnet (metric 0, main)
  const keys = new Map<string, string>();
  if (isBase)
    for (const [ifname, cidrs] of view.interfaces)
      for (const a of cidrs)
        if (a.family === 4 && ifname !== 'lo' && a.prefix < 32)
          keys.set(
            routeKey({ args: [networkOf(a), 'dev', ifname], family: 4 }),
            `the route the kernel adds itself for ${a.text} on ${ifname}`,
          );
  (spec.routes ?? []).forEach((text, k) => {
    const r = checkRoute(text, view);
    for (const e of r.errors) cx.problem([...base, 'routes', k], `route '${shown(text, 80)}': ${e.message}`, e.hint);
    if (isBase && !r.errors.length) {
      const key = routeKey(r);
      const twin = keys.get(key);
      if (twin)
        cx.problem(
          [...base, 'routes', k],
          `route '${shown(text, 80)}' is the same to the kernel as ${twin}`,
          'the kernel refuses a second route with the same destination, table, metric and tos: drop one, or give it another metric or table',
        );
      else keys.set(key, `route '${text}'`);
    }
    c.routes.push({ args: r.args, family: r.family, text, at: cx.at([...base, 'routes', k]) });
  });
}

/** Policy rules, each checked as `ip rule` reads it. */
export function resolveRules(cx: ResolveContext, { base, view }: ConfigScope, spec: Settings, c: NodeConfig): void {
  (spec.rules ?? []).forEach((text, k) => {
    const r = checkRule(text, view);
    for (const e of r.errors) cx.problem([...base, 'rules', k], `rule '${shown(text, 80)}': ${e.message}`, e.hint);
    c.rules.push({ args: r.args, family: r.family, text, at: cx.at([...base, 'rules', k]) });
  });
}

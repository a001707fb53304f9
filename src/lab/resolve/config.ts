// A node's settings, at its base or in a stage's apply, resolved part by part so that each part sees what it
// depends on: the tables before the routes and rules that name them, the interfaces, their addresses and their
// state before the routes over them (interfaces.ts, sysctl.ts, routes-rules.ts); then the firewall (nftables,
// masquerade) and the services, which are checked here.
import { nftProblem } from '../nft-text.js';
import { shown } from '../grammar.js';
import type { NodeView } from '../iproute.js';
import type { Path } from '../load.js';
import { emptyConfig, type NodeConfig } from '../model.js';
import { suggest } from '../suggest.js';
import type { ConfigScope, ResolveContext, Settings } from './context.js';
import { resolveInterfaces, resolveUpDown } from './interfaces.js';
import { resolveRoutes, resolveRules, resolveTables } from './routes-rules.js';
import { resolveFiles } from './files.js';
import { resolveServices } from './services.js';
import { resolveSysctls } from './sysctl.js';

/** A node's base settings (isBase) or a stage's apply to it, checked against its view, which they add to. */
export function resolveConfig(
  cx: ResolveContext,
  node: string,
  spec: Settings,
  base: Path,
  view: NodeView,
  isBase: boolean,
): NodeConfig {
  const c = emptyConfig();
  const scope: ConfigScope = { node, base, view, isBase };
  resolveTables(cx, scope, spec);
  resolveInterfaces(cx, scope, spec, c);
  resolveUpDown(cx, scope, spec, c);
  resolveSysctls(cx, scope, spec, c);
  resolveRoutes(cx, scope, spec, c);
  resolveRules(cx, scope, spec, c);
  if (spec.nftables !== undefined) {
    const why = nftProblem(spec.nftables);
    if (why) cx.problem([...base, 'nftables'], `nftables: ${why.message}`, why.hint);
    else c.nftables = { text: spec.nftables, at: cx.at([...base, 'nftables']) };
  }
  (spec.masquerade ?? []).forEach((ifname, k) => {
    if (ifname === 'lo')
      cx.problem(
        [...base, 'masquerade', k],
        "cannot masquerade out of 'lo': traffic leaves a node through its links",
        'name the interface towards the outside, e.g. the uplink',
      );
    else if (!view.interfaces.has(ifname))
      cx.problem(
        [...base, 'masquerade', k],
        `cannot masquerade out of '${shown(ifname)}': node '${node}' has no such interface`,
        suggest(
          ifname,
          [...view.interfaces.keys()].filter((n) => n !== 'lo'),
          'interfaces',
        ),
      );
    else c.masquerade.push(ifname);
  });
  resolveServices(cx, node, spec, base, c, isBase);
  resolveFiles(cx, spec, base, c);
  return c;
}

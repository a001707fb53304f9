// Raw lab file -> checked model. Collects every problem before failing: the schema's, then the meaning's. The
// meaning is checked by the parts in resolve/, in this order, each adding to the shared context (context.ts: the
// file, the problems, the node names, each node's view as the lab evolves, who holds each address): the node names
// (here), the links (links.ts: which interfaces exist where), each node (nodes.ts) with its settings (config.ts puts
// them in order: tables, interfaces and addresses, sysctls, routes and rules, firewall, services; interfaces.ts,
// sysctl.ts, routes-rules.ts, commands.ts), the stages (stages.ts), each with its settings and its tests (tests.ts,
// probe-fields.ts), and last what needs every stage seen (IPv6 and MTU, tables, kernel features). A part reports a
// problem and goes on, so that one run names them all; problems are sorted by position at the end. target.ts reads
// a test's target from the model at run time.
import { LabFileError, oneLine, type Problem } from '../errors.js';
import { NODE_NAME, shown } from './grammar.js';
import { loadLabFile, type LoadedFile } from './load.js';
import type { Feature, LabModel, LinkModel, NodeModel } from './model.js';
import { LabSpec, NodeSpec, type NodeSpecT } from './schema.js';
import { schemaProblems } from './schema-problems.js';
import { asRecord, lenient, ResolveContext } from './resolve/context.js';
import { resolveLinks } from './resolve/links.js';
import { resolveNode } from './resolve/nodes.js';
import { resolveStages } from './resolve/stages.js';

export { splitWords } from './resolve/commands.js';
export { resolveTarget } from './resolve/target.js';

/** Loads, checks and resolves a lab file; throws LabFileError with every problem. */
export function loadLab(file: string): LabModel {
  const { model, problems } = checkLab(loadLabFile(file));
  if (!model) throw new LabFileError(problems);
  return model;
}

export function checkLab(loaded: LoadedFile): { model?: LabModel; problems: Problem[] } {
  if (loaded.problems.length) return { problems: loaded.problems };
  const parsed = LabSpec.safeParse(loaded.data);
  const problems = parsed.success ? [] : schemaProblems(parsed.error.issues, loaded);
  const model = resolveLab(new ResolveContext(loaded, problems));
  problems.sort((a, b) => a.line - b.line || a.col - b.col);
  // one line each, also for API users who print problems themselves: lab content may carry line breaks
  for (const p of problems) {
    p.message = oneLine(p.message);
    if (p.hint) p.hint = oneLine(p.hint);
  }
  return problems.length ? { problems } : { model, problems };
}

/** The model of the lab, from the parts in resolve/ (see the top of this file). */
function resolveLab(cx: ResolveContext): LabModel {
  const rawNodes = asRecord(cx.raw.nodes);
  const nodeSpecs = new Map<string, NodeSpecT>();
  for (const [name, raw] of Object.entries(rawNodes)) {
    if (!NODE_NAME.test(name))
      cx.problem(
        ['nodes', name],
        `node name '${shown(name)}' is not valid`,
        'use 1-32 characters of a-z, 0-9, _ and -, starting with a letter',
        true,
      );
    const spec = lenient(NodeSpec, raw ?? {});
    if (spec) nodeSpecs.set(name, spec);
  }
  if (cx.nodeNames.size === 0 && cx.raw.nodes !== undefined)
    cx.problem(['nodes'], 'the lab has no nodes', 'declare at least one node');

  const { links, ifaces } = resolveLinks(cx);
  const nodes: NodeModel[] = [];
  // the link of each node:interface (the first, if a problem made two): one lookup per interface, not a scan of the
  // links
  const linkOf = new Map<string, LinkModel>();
  for (const l of links)
    for (const e of [l.a, l.b]) if (!linkOf.has(`${e.node}:${e.iface}`)) linkOf.set(`${e.node}:${e.iface}`, l);
  for (const [name, spec] of nodeSpecs) nodes.push(resolveNode(cx, name, spec, ifaces, linkOf));
  const stages = resolveStages(cx, nodes);
  // IPv6 needs an MTU of at least 1280: the kernel refuses an IPv6 address on a smaller link
  for (const n of nodes)
    for (const i of n.interfaces)
      if (
        i.mtu !== undefined &&
        i.mtu < 1280 &&
        cx.views
          .get(n.name)
          ?.interfaces.get(i.name)
          ?.some((c) => c.family === 6)
      )
        cx.problem(
          ['nodes', n.name, 'interfaces', i.name],
          `${n.name}:${i.name} has an IPv6 address and an MTU of ${i.mtu}`,
          'IPv6 needs an MTU of 1280 or more',
          true,
        );
  // table names a stage declares belong to the node too (route probes name them)
  for (const n of nodes) n.tables = Object.fromEntries(cx.views.get(n.name)?.tables ?? []);
  const needs = new Set<Feature>();
  for (const l of links) {
    if (l.delay || l.loss) needs.add('netem');
    if (l.rate) needs.add('tbf');
  }
  return {
    name: typeof cx.raw.name === 'string' || typeof cx.raw.name === 'number' ? String(cx.raw.name) : '',
    description: typeof cx.raw.description === 'string' ? cx.raw.description : undefined,
    file: cx.loaded.file,
    nodes,
    links,
    stages,
    needs: [...needs],
  };
}

// The planner: checked model -> steps. Pure; it runs nothing.
import { UsageError } from '../errors.js';
import type { LabModel, LinkModel, NodeModel } from '../lab/model.js';
import { applySteps, nodeSteps, serviceActionSteps, serviceSteps } from './config.js';
import { nsName } from './names.js';
import { tableNameFiles } from './table-names.js';
import { assertInert, type Plan, type Step } from './step.js';

/** Interface indexes of veth ends start here, above what the kernel hands out in a fresh namespace. */
export const VETH_INDEX_BASE = 1000;

export interface PlanOptions {
  instance?: string;
  /** Apply the stages up to and including this one. */
  stage?: string;
}

export function buildPlan(lab: LabModel, opts: PlanOptions = {}): Plan {
  const instance = opts.instance ?? lab.name;
  const ns = (node: string) => nsName(instance, node);
  const steps: Step[] = [];
  for (const n of lab.nodes)
    steps.push({
      phase: 'create',
      ns: null,
      node: n.name,
      tool: 'ip',
      args: ['netns', 'add', ns(n.name)],
      undo: { tool: 'ip', args: ['netns', 'del', ns(n.name)] },
    });
  // Each veth is created directly inside its two namespaces with its final names:
  // nothing appears in the root namespace, and nothing has to be moved (~16 ms each).
  // Every end gets a lab-unique interface index: where both ends of a veth have the
  // same index (each the first interface of its namespace, say), the kernel handles
  // their carrier changes as non-urgent, up to a second later, and a bridge port
  // does not forward until then. Measured: first ping 1-2 s late, or lost.
  lab.links.forEach((l, k) => {
    const [ia, ib] = [String(VETH_INDEX_BASE + 2 * k), String(VETH_INDEX_BASE + 2 * k + 1)];
    steps.push({
      phase: 'create',
      ns: null,
      tool: 'ip',
      at: l.at,
      args: [
        'link',
        'add',
        'name',
        l.a.iface,
        'index',
        ia,
        'netns',
        ns(l.a.node),
        'type',
        'veth',
        'peer',
        'name',
        l.b.iface,
        'index',
        ib,
        'netns',
        ns(l.b.node),
      ],
    });
  });
  // each node's links, in lab order: looking them up per node would cost nodes x links
  const linksOf = new Map<string, LinkModel[]>();
  for (const l of lab.links)
    for (const node of new Set([l.a.node, l.b.node])) (linksOf.get(node) ?? linksOf.set(node, []).get(node)!).push(l);
  for (const n of lab.nodes) steps.push(...nodeSteps(n, linksOf.get(n.name) ?? [], ns(n.name), usesIpv6(lab, n)));
  const stages = stagesUpTo(lab, opts.stage);
  for (const s of stages) for (const [node, c] of s.apply) steps.push(...applySteps(c, ns(node), node));
  // the services that run once the stages are applied: declared, less those a stage stopped and none started again
  const running = new Map<string, Step>();
  const key = (node: string, service: string) => `${node}/${service}`;
  for (const n of lab.nodes)
    for (const st of serviceSteps(n.config, ns(n.name), n.name)) running.set(key(n.name, st.service!), st);
  for (const s of stages)
    for (const [node, c] of s.apply) {
      for (const a of serviceActionSteps(c, ns(node), node))
        if (a.action === 'stop') running.delete(key(node, a.service!));
        else if (a.action === 'start' || a.action === 'restart') {
          const { action: _, signal: __, ...start } = a;
          running.set(key(node, a.service!), start);
        }
      for (const st of serviceSteps(c, ns(node), node)) running.set(key(node, st.service!), st);
    }
  steps.push(...running.values());
  steps.forEach(assertInert);
  return {
    lab: lab.name,
    instance,
    file: lab.file,
    namespaces: lab.nodes.map((n) => ({ node: n.name, ns: ns(n.name) })),
    stages: stages.map((s) => s.name),
    steps,
    tableNames: tableNameFiles(lab, instance),
  };
}

/** The steps of one stage's apply, for a lab that is already up. */
export function buildStagePlan(lab: LabModel, stageName: string, instance: string): Step[] {
  const s = lab.stages.find((x) => x.name === stageName);
  if (!s) throw unknownStage(lab, stageName);
  const steps: Step[] = [];
  for (const [node, c] of s.apply) steps.push(...applySteps(c, nsName(instance, node), node));
  for (const [node, c] of s.apply) steps.push(...serviceActionSteps(c, nsName(instance, node), node));
  for (const [node, c] of s.apply) steps.push(...serviceSteps(c, nsName(instance, node), node));
  steps.forEach(assertInert);
  return steps;
}

/** Whether a node has an IPv6 address, at its base or in any stage. */
function usesIpv6(lab: LabModel, n: NodeModel): boolean {
  return (
    n.interfaces.some((i) => i.addresses.some((a) => a.family === 6 && i.name !== 'lo')) ||
    lab.stages.some((s) => s.apply.get(n.name)?.addresses.some((a) => a.cidr.family === 6 && a.iface !== 'lo'))
  );
}

export function stagesUpTo(lab: LabModel, stage?: string) {
  if (stage === undefined) return [];
  const i = lab.stages.findIndex((s) => s.name === stage);
  if (i < 0) throw unknownStage(lab, stage);
  return lab.stages.slice(0, i + 1);
}

function unknownStage(lab: LabModel, stage: string): UsageError {
  const names = lab.stages.map((s) => `'${s.name}'`).join(', ');
  return new UsageError(
    `lab '${lab.name}' has no stage '${stage}'`,
    names ? `stages: ${names}` : 'this lab has no stages',
  );
}

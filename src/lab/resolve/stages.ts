// Stages, in order: each has a one-line name of its own, applies settings to existing non-bridge nodes (which
// change those nodes' views for the stages after it), and holds tests with names of their own.
import { CONTROL, shown } from '../grammar.js';
import type { Path } from '../load.js';
import type { NodeConfig, NodeModel, StageModel, TestModel } from '../model.js';
import { ApplySpec, StageSpec } from '../schema.js';
import { suggest } from '../suggest.js';
import { resolveConfig } from './config.js';
import { asRecord, lenient, type ResolveContext } from './context.js';
import { resolveTest } from './tests.js';

/** The stages, each with its apply and its tests, in order. */
export function resolveStages(cx: ResolveContext, nodes: NodeModel[]): StageModel[] {
  const out: StageModel[] = [];
  const rawStages = Array.isArray(cx.raw.stages) ? cx.raw.stages : [];
  const seen = new Set<string>();
  rawStages.forEach((raw, i) => {
    const base: Path = ['stages', i];
    const rs = asRecord(raw);
    if (typeof rs.name === 'string') {
      if (CONTROL.test(rs.name))
        cx.problem(
          [...base, 'name'],
          `stage name '${shown(rs.name)}' contains a line break or control character`,
          'a stage name is one line of text',
        );
      if (seen.has(rs.name))
        cx.problem(
          [...base, 'name'],
          `stage name '${rs.name}' is used twice`,
          'give each stage its own name; --stage selects by name',
        );
      seen.add(rs.name);
    }
    const apply = new Map<string, NodeConfig>();
    for (const [node, rawApply] of Object.entries(asRecord(rs.apply))) {
      const p: Path = [...base, 'apply', node];
      if (!cx.nodeNames.has(node)) {
        cx.problem(p, `stage applies to unknown node '${node}'`, suggest(node, [...cx.nodeNames], 'nodes'), true);
        continue;
      }
      const view = cx.views.get(node);
      const a = lenient(ApplySpec, rawApply ?? {});
      if (!a || !view) continue;
      if (nodes.find((n) => n.name === node)?.kind === 'bridge') {
        cx.problem(p, `a bridge node takes no settings`, undefined, true);
        continue;
      }
      apply.set(node, resolveConfig(cx, node, a, p, view, false));
    }
    const tests: TestModel[] = [];
    const names = new Set<string>();
    (Array.isArray(rs.tests) ? rs.tests : []).forEach((rt, k) => {
      const name = asRecord(rt).name;
      if (typeof name === 'string') {
        if (names.has(name))
          cx.problem(
            [...base, 'tests', k, 'name'],
            `test name '${shown(name)}' is used twice in this stage`,
            'give each test of a stage its own name: reports and --grep tell tests apart by it',
          );
        names.add(name);
      }
      const t = resolveTest(cx, rt, [...base, 'tests', k]);
      if (t) tests.push(t);
    });
    const s = lenient(StageSpec, raw);
    if (s)
      out.push({
        name: s.name,
        description: s.description,
        solution: s.solution === true,
        apply,
        tests,
        at: cx.at(base),
      });
  });
  return out;
}

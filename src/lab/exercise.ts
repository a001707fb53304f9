// A lab file -> the students' copy of it: the same lab and tests, without the
// fix. Works on the YAML document, so what the students read keeps the
// author's layout and comments, except inside solution stages.
import { isMap, isSeq, parseDocument, visit, type YAMLMap } from 'yaml';

export interface Exercise { text: string; solutions: string[] }

/**
 * In each stage marked `solution: true`: the `apply` is removed, except the
 * table names it declares (vocabulary the tests and the students use, as a
 * host's rt_tables would already list them); the stage's description and every
 * comment inside the stage go too (they may explain the fix). The stage stays,
 * marked, with its tests and hints: `nslab check` grades against it.
 */
export function exerciseOf(text: string, source: string): Exercise {
  const doc = parseDocument(text, { keepSourceTokens: false });
  const stages = doc.get('stages');
  const solutions: string[] = [];
  if (isSeq(stages))
    for (const item of stages.items) {
      if (!isMap(item) || item.get('solution') !== true) continue;
      solutions.push(String(item.get('name')));
      visit(item, (_k, n) => { if (n && typeof n === 'object' && 'comment' in n) { (n as { comment?: string | null }).comment = null; (n as { commentBefore?: string | null }).commentBefore = null; } });
      item.delete('description');
      const apply = item.get('apply');
      if (isMap(apply)) {
        for (const pair of [...apply.items]) {
          const settings = pair.value;
          if (isMap(settings)) for (const p of [...(settings as YAMLMap).items]) if (String((p.key as { value?: unknown })?.value ?? p.key) !== 'tables') settings.delete(p.key);
          if (!isMap(settings) || !settings.items.length) apply.delete(pair.key);
        }
        if (!apply.items.length) item.delete('apply');
      } else item.delete('apply');
    }
  const note = ` nslab exercise made from ${source}: the apply of ${solutions.map((s) => `'${s}'`).join(', ')} (the solution) is left out`;
  doc.commentBefore = doc.commentBefore ? `${doc.commentBefore}\n${note}` : note;
  // long lines as the author wrote them (yaml would fold them at 80 columns and break a long
  // flow map over several lines); yaml re-serializes, so flow padding and folded scalars may still change
  return { text: doc.toString({ lineWidth: 0 }), solutions };
}

/**
 * The stage `nslab check` grades by default, given the stages applied: in an
 * exercise (a lab with a solution stage), the first solution stage, unless a
 * stage at or after it was applied (then that one); otherwise the last stage
 * applied, else the first.
 */
export function checkedStage(model: { stages: { name: string; solution: boolean }[] }, applied: string[]): string | undefined {
  const first = model.stages.findIndex((s) => s.solution);
  const last = applied.length ? model.stages.findIndex((s) => s.name === applied.at(-1)) : -1;
  if (first >= 0 && last < first) return model.stages[first]!.name;
  return applied.at(-1) ?? model.stages[0]?.name;
}

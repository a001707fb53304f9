// A lab file -> the students' copy of it: the same lab and tests, without the
// fix. Works on the YAML document, so what the students read keeps the
// author's layout and comments, except inside solution stages.
//
// YAML can put one value in two places (an anchor and its aliases, a YAML 1.1
// merge key `<<`), so "remove the solution stage's apply" is only sound where
// the solution stage holds its own text. Which stages are solutions is read
// from the lab as loaded (merges resolved); a solution stage that is an alias
// or takes keys from a merge, and any alias that refers to what is hidden, are
// refused at their place (exit 2) rather than resolved: written out, such an
// alias would hand the students the fix. The students' text is then loaded
// again and compared with the instructor's lab before anyone gets it.
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { LabFileError, UsageError, type Problem } from '../errors.js';
import { loadLabText } from './load.js';
import { emptyConfig, type LabModel, type NodeConfig } from './model.js';
import { checkLab } from './resolve.js';

export interface Exercise {
  text: string;
  solutions: string[];
}

export interface ExerciseOptions {
  /** the instructor's file as the user named it, for file:line:col (default: source) */
  file?: string;
}

const WRITE_OUT =
  'write solution: true, the apply and the description in the solution stage itself (no <<, no alias): ' +
  'nslab exercise hides what the stage holds';
const ALIAS_HINT =
  'write those settings out where they are used, or anchor them outside the solution stage: ' +
  'through the alias the students would get the fix';

/**
 * In each stage marked `solution: true`: the `apply` is removed, except the
 * table names it declares (vocabulary the tests and the students use, as a
 * host's rt_tables would already list them); the stage's description and every
 * comment inside the stage go too (they may explain the fix). The stage stays,
 * marked, with its tests and hints: `nslab check` grades against it.
 *
 * `text` must be a valid lab file with a solution stage (else LabFileError,
 * or UsageError). Refused with LabFileError, each problem at its place: a
 * solution stage written as an alias or taking keys from a merge (`<<`), a
 * stages list that is not written out, and any alias that refers to what is
 * hidden or to a solution stage holding it. The students' text is checked
 * before it is returned (see exerciseLeaks).
 */
export function exerciseOf(text: string, source: string, opts: ExerciseOptions = {}): Exercise {
  const file = opts.file ?? source;
  const { model, problems: invalid } = checkLab(loadLabText(text, file));
  if (!model) throw new LabFileError(invalid);
  if (!model.stages.some((s) => s.solution))
    throw new UsageError(
      `lab '${model.name}' marks no stage as the solution`,
      'add solution: true to the stage whose apply is the fix',
    );
  const names = model.stages.filter((s) => s.solution).map((s) => s.name);

  const lineCounter = new LineCounter();
  // as the lab loader parses (load.ts): the document is the one just checked
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, logLevel: 'error', keepSourceTokens: false });
  const problems: Problem[] = [];
  const y: Yaml = {
    doc,
    line: (n) => (n?.range ? lineCounter.linePos(n.range[0]).line : 1),
    refuse: (n, message, hint = WRITE_OUT) => {
      const at = n?.range ? lineCounter.linePos(n.range[0]) : { line: 1, col: 1 };
      problems.push({ file, line: at.line, col: at.col, message, hint });
    },
  };
  const stages = solutionStages(y, model);
  if (problems.length) throw new LabFileError(problems);
  const hidden = stages.flatMap((s) => hiddenParts(y, s));
  checkAliases(y, hidden, stages);
  if (problems.length) throw new LabFileError(problems);

  for (const s of stages) removeSolution(y, s.item);
  const note = ` nslab exercise made from ${source}: the apply of ${names.map((s) => `'${s}'`).join(', ')} (the solution) is left out`;
  doc.commentBefore = doc.commentBefore ? `${doc.commentBefore}\n${note}` : note;
  let out: string;
  try {
    // long lines as the author wrote them (yaml would fold them at 80 columns and break a long
    // flow map over several lines); yaml re-serializes, so flow padding and folded scalars may still change
    out = doc.toString({ lineWidth: 0 });
  } catch (e) {
    // every alias into what is removed was refused above: a YAML construct nslab does not handle, said at the stage
    y.refuse(stages[0]?.item, `cannot write the exercise: ${(e as Error).message.split('\n')[0]}`);
    throw new LabFileError(problems);
  }

  // what the students get must itself be a valid lab: a test may name something only the fix declares;
  // its problems are shown where the same thing is in the instructor's file (the students' is not written)
  const students = checkLab(loadLabText(out, file));
  if (!students.model) {
    // (the document as edited: the nodes left keep their places in the instructor's text)
    const place = placeInLab(doc, lineCounter, out);
    throw new LabFileError(
      students.problems.map((p) => ({
        ...p,
        ...place(p.line, p.col),
        message: `in the exercise: ${p.message}`,
        hint: `${p.hint ? `${p.hint}; ` : ''}declare what the tests need outside the solution stage's apply`,
      })),
    );
  }
  const leaks = exerciseLeaks(model, students.model, names);
  for (const leak of leaks) y.refuse(stages[0]?.item, `the students' file would give the solution away: ${leak}`);
  if (problems.length) throw new LabFileError(problems);
  return { text: out, solutions: names };
}

/**
 * What the students' lab gives away, compared with the instructor's, for the
 * stages reported hidden: each must be a solution stage in both and apply
 * nothing (table names aside); no other stage may be a solution in either;
 * every other stage must apply exactly what it did (nothing hidden moved
 * there). Empty when the exercise is sound.
 */
export function exerciseLeaks(original: LabModel, students: LabModel, hidden: string[]): string[] {
  const out: string[] = [];
  const list = (names: string[]) => (names.length ? names.map((n) => `'${n}'`).join(', ') : 'none');
  const marked = (whose: string, m: LabModel) => {
    const names = m.stages.filter((s) => s.solution).map((s) => s.name);
    if (names.join('\n') !== hidden.join('\n'))
      out.push(`${whose} solution stages are ${list(names)}, the stages hidden ${list(hidden)}`);
  };
  marked("the lab's", original);
  marked('its', students);
  const empty = comparable(emptyConfig());
  for (const name of hidden) {
    const s = students.stages.find((x) => x.name === name);
    if (!s) out.push(`stage '${name}' is missing from it`);
    else
      for (const [node, c] of s.apply)
        if (comparable(c) !== empty) out.push(`stage '${name}' still applies settings to node '${node}'`);
  }
  for (const s of original.stages.filter((x) => !hidden.includes(x.name))) {
    const t = students.stages.find((x) => x.name === s.name);
    if (!t) out.push(`stage '${s.name}' is missing from it`);
    else if (comparable(t.apply) !== comparable(s.apply))
      out.push(`stage '${s.name}' applies other settings than in the lab file`);
  }
  return out;
}

/** Settings as text, without their places in the file (which differ between the two files); nodes in name order. */
function comparable(c: NodeConfig | Map<string, NodeConfig>): string {
  const v = c instanceof Map ? [...c].sort(([a], [b]) => a.localeCompare(b)) : c;
  return JSON.stringify(v, (k, x: unknown) => (k === 'at' ? undefined : x));
}

type Ranged = { range?: [number, number, number] | null } | null | undefined;
interface Yaml {
  doc: Document;
  line(n: Ranged): number;
  refuse(n: Ranged, message: string, hint?: string): void;
}
interface SolutionStage {
  item: YAMLMap;
  name: string;
}
interface Hidden {
  node: Node;
  part: 'apply' | 'description';
  stage: string;
}

/** The solution stages, each a map written in place in the stages list; anything else is refused. */
function solutionStages(y: Yaml, model: LabModel): SolutionStage[] {
  const root = y.doc.contents;
  const outside = 'write stages: out in the lab file itself';
  if (!isMap(root)) {
    y.refuse(root, 'the lab is not written as a mapping', outside);
    return [];
  }
  const stages = pairOf(y, root, 'stages');
  if (!stages) {
    y.refuse(root.items.find(isMerge)?.key as Ranged, 'the stages list comes from a merge key (<<)', outside);
    return [];
  }
  if (!isSeq(stages.value)) {
    y.refuse(stages.value as Ranged, 'the stages list is written as an alias', outside);
    return [];
  }
  const out: SolutionStage[] = [];
  model.stages.forEach((s, index) => {
    if (!s.solution) return;
    const item = (stages.value as { items: unknown[] }).items[index];
    if (!isMap(item)) {
      y.refuse(item as Ranged, `solution stage '${s.name}' is written as an alias`);
      return;
    }
    const merge = item.items.find(isMerge);
    const key = merge?.key as Ranged;
    if (merge && !pairOf(y, item, 'solution'))
      y.refuse(key, `stage '${s.name}' is marked as the solution through a merge key (<<)`);
    else if (merge) y.refuse(key, `solution stage '${s.name}' takes keys from a merge key (<<)`);
    else out.push({ item, name: s.name });
  });
  return out;
}

/** The nodes removeSolution removes from a solution stage: its description, its apply but the tables. */
function hiddenParts(y: Yaml, { item, name }: SolutionStage): Hidden[] {
  const out: Hidden[] = [];
  const add = (p: Pair, part: Hidden['part']) => {
    for (const node of [p.key, p.value]) if (isNode(node)) out.push({ node, part, stage: name });
  };
  const description = pairOf(y, item, 'description');
  if (description) add(description, 'description');
  const apply = pairOf(y, item, 'apply');
  if (!apply) return out;
  if (!isMap(apply.value)) {
    add(apply, 'apply');
    return out;
  }
  for (const node of apply.value.items) {
    if (!isMap(node.value)) add(node, 'apply');
    else for (const setting of node.value.items) if (keyOf(y, setting) !== 'tables') add(setting, 'apply');
  }
  return out;
}

/**
 * In a solution stage: its description, its apply but the tables (an apply of a node left empty goes), every comment.
 */
function removeSolution(y: Yaml, item: YAMLMap): void {
  visit(item, (_k, n) => {
    if (n && typeof n === 'object' && 'comment' in n) {
      (n as { comment?: string | null }).comment = null;
      (n as { commentBefore?: string | null }).commentBefore = null;
    }
  });
  const drop = (map: YAMLMap, p: unknown) => map.items.splice(map.items.indexOf(p as Pair<unknown, unknown>), 1);
  const description = pairOf(y, item, 'description');
  if (description) drop(item, description);
  const apply = pairOf(y, item, 'apply');
  if (!apply) return;
  if (isMap(apply.value)) {
    for (const node of [...apply.value.items]) {
      const settings = node.value;
      if (isMap(settings)) for (const p of [...settings.items]) if (keyOf(y, p) !== 'tables') drop(settings, p);
      if (!isMap(settings) || !settings.items.length) drop(apply.value, node);
    }
    if (apply.value.items.length) return;
  }
  drop(item, apply);
}

/**
 * Refuses each alias (outside what is removed) whose anchor is on something
 * hidden, inside it, or on what holds it (an apply, a solution stage): after
 * the removal it would point at nothing, and written out it would carry the fix.
 */
function checkAliases(y: Yaml, hidden: Hidden[], stages: SolutionStage[]): void {
  if (!hidden.length) return;
  const inside = new Map<unknown, Hidden>();
  for (const h of hidden)
    visit(h.node, (_k, n) => {
      if (!inside.has(n)) inside.set(n, h);
    });
  const stageOf = new Map<unknown, string>(stages.map((s) => [s.item, s.name]));
  const aliases: Node[] = [];
  visit(y.doc, (_k, n) => {
    if (inside.has(n)) return visit.SKIP; // removed with what holds it
    if (isAlias(n)) aliases.push(n);
    return undefined;
  });
  for (const alias of aliases) {
    if (!isAlias(alias)) continue;
    const target = alias.resolve(y.doc);
    if (!target) continue; // no anchor: the loader refused that already
    let what: string | undefined;
    const own = inside.get(target);
    if (own) what = `the ${own.part} of solution stage '${own.stage}'`;
    else
      visit(target, (_k, n) => {
        const h = inside.get(n);
        if (!h) return undefined;
        what = stageOf.has(target)
          ? `solution stage '${h.stage}', its ${h.part} included`
          : `the ${h.part} of solution stage '${h.stage}'`;
        return visit.BREAK;
      });
    const anchored = `the value anchored &${alias.source}, at line ${y.line(target)}`;
    if (what)
      y.refuse(
        alias,
        `alias *${alias.source} refers to ${what} (${anchored}), which the exercise leaves out`,
        ALIAS_HINT,
      );
  }
}

/**
 * Maps a place in the students' text to the same place in the instructor's
 * document: the exercise only removes keys, so the path (keys and list
 * indexes) of the node there leads to it in the original (or to its nearest
 * parent that is there).
 */
type Place = { line: number; col: number };
function placeInLab(original: Document, lc: LineCounter, studentsText: string): (line: number, col: number) => Place {
  const slc = new LineCounter();
  const students = parseDocument(studentsText, { lineCounter: slc, keepSourceTokens: false });
  const holds = (n: unknown, offset: number) => {
    const r = (n as Ranged)?.range;
    return !!r && r[0] <= offset && offset < r[2];
  };
  return (line, col) => {
    const offset = (slc.lineStarts[line - 1] ?? 0) + col - 1;
    const path: unknown[] = [];
    let onKey = false;
    for (let n: unknown = students.contents; (isMap(n) || isSeq(n)) && !onKey;) {
      const items: unknown[] = n.items;
      const i = items.findIndex((x) => (isPair(x) ? holds(x.key, offset) || holds(x.value, offset) : holds(x, offset)));
      const item = items[i];
      if (i < 0) break;
      if (isPair(item)) {
        path.push(isScalar(item.key) ? item.key.value : item.key);
        onKey = holds(item.key, offset);
        n = item.value;
      } else {
        path.push(i);
        n = item;
      }
    }
    for (let k = path.length; k >= 0; k--) {
      // (getIn of no path is the document's contents)
      const node = original.getIn(path.slice(0, k), true);
      const parent = onKey && k === path.length && k > 0 ? original.getIn(path.slice(0, -1), true) : undefined;
      const key = isMap(parent)
        ? parent.items.find((p) => isScalar(p.key) && p.key.value === path[k - 1])?.key
        : undefined;
      const at = ((key ?? node) as Ranged)?.range;
      if (at) return lc.linePos(at[0]);
    }
    return { line: 1, col: 1 };
  };
}

const isNode = (n: unknown): n is Node => isScalar(n) || isCollection(n) || isAlias(n);
const isMerge = (p: unknown): p is Pair => isPair(p) && isScalar(p.key) && typeof p.key.value === 'symbol';

/** A pair's key as text: a key written as an alias is resolved; a merge key is '<<'. */
function keyOf(y: Yaml, p: Pair): string | undefined {
  const k = isAlias(p.key) ? p.key.resolve(y.doc) : p.key;
  if (!isScalar(k)) return undefined;
  return typeof k.value === 'symbol' ? '<<' : String(k.value);
}

function pairOf(y: Yaml, map: YAMLMap, key: string): (Pair & { value: unknown }) | undefined {
  return map.items.find((p) => !isMerge(p) && keyOf(y, p) === key);
}

/**
 * The stage `nslab check` grades by default, given the stages applied: in an
 * exercise (a lab with a solution stage), the first solution stage, unless a
 * stage at or after it was applied (then that one); otherwise the last stage
 * applied, else the first.
 */
export function checkedStage(
  model: { stages: { name: string; solution: boolean }[] },
  applied: string[],
): string | undefined {
  const first = model.stages.findIndex((s) => s.solution);
  const last = applied.length ? model.stages.findIndex((s) => s.name === applied.at(-1)) : -1;
  if (first >= 0 && last < first) return model.stages[first]!.name;
  return applied.at(-1) ?? model.stages[0]?.name;
}

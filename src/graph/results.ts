// `nslab graph --results FILE`: the JSON report of a run, read through a schema
// as lab files are. What the picture takes from it (the test's stage, each
// trace's direction and disposition, each hop's node, interfaces and addresses)
// is checked, the hops against the lab being drawn: a wrong field is a problem
// at file:line:col naming its JSON path (labs[0].tests[2].traces[0].direction),
// exit 2, never a stack trace and never a picture with `undefined` in it.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { LabFileError, UsageError, oneLine, type Problem } from '../errors.js';
import { parseAddress } from '../lab/addr.js';
import { CONTROL, shown } from '../lab/grammar.js';
import { loadWithYaml, type Path } from '../lab/load.js';
import type { LabModel } from '../lab/model.js';
import type { Trace } from '../traces/trace.js';
import { tracesOf } from './paths.js';

const DIRECTIONS = ['request', 'reply'] as const;
const DISPOSITIONS = [
  'delivered',
  'unanswered',
  'dropped-no-route',
  'dropped-filtered',
  'dropped-rp-filter',
  'dropped-no-neighbour',
  'dropped',
  'asymmetric',
  'wrong-source',
  'not-sent',
] as const satisfies readonly Trace['disposition'][];

/** A name taken from a lab file (node, interface, stage, test): one line. */
const Name = z.string().refine((s) => !CONTROL.test(s), { error: 'contains a line break or control character' });
/** An address as a capture saw it, or empty where the results carry none. */
const Address = z
  .string()
  .refine((s) => s === '' || parseAddress(s) !== undefined, { error: 'is not an IPv4 or IPv6 address' });

// Only what the picture uses is checked; the rest of a report (facts, evidence, why, ...) passes as it is.
const Hop = z.looseObject({
  node: Name,
  in: Name.optional(),
  out: Name.optional(),
  src: Address,
  dst: Address,
  nat: z.looseObject({ src: Address, dst: Address }).optional(),
});
const TraceSpec = z.looseObject({
  direction: z.enum(DIRECTIONS),
  hops: z.array(Hop),
  disposition: z.enum(DISPOSITIONS),
  at: Name.optional(),
  divergesAt: z.int().min(0).optional(),
});
const Result = z.looseObject({
  stage: Name,
  name: Name,
  status: z.enum(['passed', 'failed', 'skipped']),
  traces: z.array(TraceSpec).optional(),
  request: z.string().optional(),
  reply: z.string().optional(),
  checks: z.array(z.looseObject({ name: z.string(), ok: z.boolean() })).optional(),
});
export const ResultsFile = z.looseObject({
  version: z.literal(1),
  labs: z.array(z.looseObject({ lab: z.string(), tests: z.array(Result) })),
});
type ResultT = z.infer<typeof Result>;

const SAME_LAB = 'draw the results with the lab file they were made with';
const FROM_A_RUN = 'pass the report.json of a run as nslab wrote it (nslab test --reporter json, or --artifacts DIR)';
/** At most this many problems are listed: a file of another kind would give one per entry. */
const MAX_PROBLEMS = 20;

/** `labs[0].tests[2].traces[0].direction` */
export function jsonPath(path: readonly PropertyKey[]): string {
  return (
    path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i ? `.${String(k)}` : String(k))).join('') || '(the top)'
  );
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  // cut before escaping, so that an escape is never cut in two
  if (typeof v === 'string') return `'${oneLine(v.length > 40 ? `${v.slice(0, 40)}…` : v)}'`;
  // what is left of parsed JSON or YAML: a number, a boolean (or undefined)
  return typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint' ? String(v) : typeof v;
}

function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let v = data;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

const TYPES: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
};

/** A zod issue as what is wrong with the field at its JSON path (missing: at its parent), and how to fix it. */
function issueProblem(issue: z.core.$ZodIssue, data: unknown): { path: Path; what: string; hint: string } {
  const path = issue.path as Path;
  const value = valueAt(data, path);
  if (value === undefined)
    return { path: path.slice(0, -1), what: `missing '${String(path.at(-1))}'`, hint: FROM_A_RUN };
  const is = (what: string, hint = FROM_A_RUN) => ({ path, what, hint });
  switch (issue.code) {
    case 'invalid_type':
      return is(`expected ${TYPES[issue.expected] ?? issue.expected}, got ${describe(value)}`);
    case 'invalid_value':
      if (path.length === 1 && path[0] === 'version')
        return is(
          `this nslab reads reports of version 1, not ${describe(value)}`,
          'make the report again with this nslab',
        );
      return is(`${describe(value)} is not allowed`, `use one of: ${issue.values.map(String).join(', ')}`);
    case 'too_small':
      return is(`${describe(value)} is out of range: must be at least ${issue.minimum}`);
    default:
      return is(`${describe(value)} ${issue.message.startsWith('Invalid') ? 'is not valid here' : issue.message}`);
  }
}

/**
 * Problems of the results file, each `JSON path: what`, at the line and column of that
 * path: found by reading the file again with positions, only when there is a problem.
 */
class Located {
  readonly problems: Problem[] = [];
  private locate?: (path: Path) => { line: number; col: number };
  constructor(
    readonly file: string,
    private readonly text: string,
  ) {}
  add(path: Path, what: string, hint: string): void {
    this.locate ??= loadWithYaml(this.text, this.file).locate;
    this.problems.push({ file: this.file, ...this.locate(path), message: `${jsonPath(path)}: ${what}`, hint });
  }
  throwIfAny(): void {
    if (!this.problems.length) return;
    const listed = this.problems.slice(0, MAX_PROBLEMS);
    const more = this.problems.length - listed.length;
    if (more)
      listed.push({
        file: this.file,
        line: 1,
        col: 1,
        message: `and ${more} more problems`,
        hint: 'fix the ones above first',
      });
    throw new LabFileError(listed);
  }
}

export interface Drawn {
  stage: string;
  traces: Trace[];
  name: string;
}

/** The results file's data, or a problem at the place JSON.parse stopped. */
function readJson(file: string): { text: string; data: unknown } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `cannot read results '${file}': ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      FROM_A_RUN,
    );
  }
  try {
    return { text, data: JSON.parse(text) };
  } catch (e) {
    // where: the position JSON.parse names, else where the YAML reader (a JSON reader too) stops
    const position = /position (\d+)/.exec((e as Error).message);
    const before = text.slice(0, position ? Number(position[1]) : 0).split('\n');
    const at = position
      ? { line: before.length, col: before.at(-1)!.length + 1 }
      : (loadWithYaml(text, file).problems[0] ?? { line: 1, col: 1 });
    const message = `not JSON: ${(e as Error).message.replace(/ in JSON at position.*| at position.*/, '')}`;
    throw new LabFileError([{ file, line: at.line, col: at.col, message, hint: FROM_A_RUN }]);
  }
}

/**
 * The test of lab `lab` to draw from results file `file`: the one whose
 * 'stage › name' matches `pattern`, else the first failure with paths. Its
 * traces are checked against the lab: every hop at a node of the lab, through
 * interfaces that node has, `at` a node of the lab, `divergesAt` a hop.
 */
export function resultToDraw(lab: LabModel, file: string, pattern?: string): Drawn {
  const { text, data } = readJson(file);
  const located = new Located(file, text);
  const parsed = ResultsFile.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const p = issueProblem(issue, data);
      located.add(p.path, p.what, p.hint);
    }
    located.throwIfAny();
  }
  const report = parsed.data!;

  let re: RegExp | undefined;
  const shownPattern = oneLine(pattern ?? '');
  try {
    re = pattern !== undefined ? new RegExp(pattern) : undefined;
  } catch {
    throw new UsageError(`--test '${shownPattern}' is not a valid regular expression`);
  }
  // each test of this lab with its JSON path
  const tests = report.labs.flatMap((l, i) =>
    l.lab !== lab.name ? [] : l.tests.map((t, j) => ({ t, path: ['labs', i, 'tests', j] as Path })),
  );
  if (!tests.length) throw new UsageError(`'${file}' has no results for lab '${lab.name}'`, SAME_LAB);
  const drawn = tests.filter(({ t }) => t.traces?.length || t.request !== undefined);
  const hits = re
    ? drawn.filter(({ t }) => re.test(`${t.stage} › ${t.name}`))
    : drawn.filter(({ t }) => t.status === 'failed').slice(0, 1);
  const names = (list: typeof drawn) => list.map(({ t }) => `'${t.stage} › ${t.name}'`).join(', ');
  if (!hits.length) {
    const none = re ? `no test with paths matches '${shownPattern}'` : 'no failed test with paths in these results';
    throw new UsageError(none, `tests with paths: ${names(drawn) || '(none)'}`);
  }
  if (hits.length > 1)
    throw new UsageError(`${hits.length} tests match '${shownPattern}'`, `narrow it to one of: ${names(hits)}`);
  const { t, path } = hits[0]!;
  const traces = checkedTraces(lab, t, path, located);
  located.throwIfAny();
  return { stage: t.stage, name: t.name, traces };
}

/** The test's traces (read back from its path text where it has none), each hop checked against the lab. */
function checkedTraces(lab: LabModel, t: ResultT, path: Path, located: Located): Trace[] {
  const notANode = (name: string) => `'${shown(name)}' is not a node of lab '${lab.name}'`;
  const nodesHint = `${SAME_LAB}; nodes of lab '${lab.name}': ${lab.nodes.map((n) => n.name).join(', ')}`;
  if (!lab.stages.some((s) => s.name === t.stage)) {
    const stages = lab.stages.map((s) => `'${s.name}'`).join(', ') || '(none)';
    located.add(
      [...path, 'stage'],
      `lab '${lab.name}' has no stage '${shown(t.stage)}'`,
      `${SAME_LAB}; its stages: ${stages}`,
    );
    return [];
  }
  // (a bridge node's br0 may see a packet too)
  const ifacesOf = new Map(
    lab.nodes.map((n) => [n.name, [...n.interfaces.map((i) => i.name), ...(n.kind === 'bridge' ? ['br0'] : [])]]),
  );
  const traces = tracesOf(
    t as Parameters<typeof tracesOf>[0],
    lab.nodes.map((n) => n.name),
  );
  traces.forEach((trace, k) => {
    // where the trace came from: the test's traces, or its path text (older results)
    const from = (i: number, key: string): Path =>
      t.traces?.length ? [...path, 'traces', k, 'hops', i, key] : [...path, trace.direction];
    trace.hops.forEach((h, i) => {
      const ifaces = ifacesOf.get(h.node);
      if (!ifaces) {
        located.add(from(i, 'node'), notANode(h.node), nodesHint);
        return;
      }
      for (const key of ['in', 'out'] as const) {
        const iface = h[key];
        if (iface !== undefined && !ifaces.includes(iface))
          located.add(
            from(i, key),
            `node '${h.node}' has no interface '${shown(iface)}'`,
            `its interfaces: ${ifaces.join(', ')}`,
          );
      }
    });
    if (!t.traces?.length) return;
    const at: Path = [...path, 'traces', k];
    if (trace.at !== undefined && !ifacesOf.has(trace.at)) located.add([...at, 'at'], notANode(trace.at), nodesHint);
    if (trace.divergesAt !== undefined && trace.divergesAt >= trace.hops.length)
      located.add(
        [...at, 'divergesAt'],
        `${trace.divergesAt} is not a hop of this trace (it has ${trace.hops.length})`,
        FROM_A_RUN,
      );
  });
  return traces;
}

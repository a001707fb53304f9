// Executes plan steps fast: one `ip -batch` in the root namespace for namespaces
// and veths, then per namespace (in parallel, up to the core count) one batch
// per run of consecutive ip / tc lines, one sysctl, one nft per ruleset.
import { CommandError } from '../errors.js';
import { stepCommand } from '../plan/render.js';
import type { Step } from '../plan/step.js';
import type { Runner } from './runner.js';

/** A unit of execution: one process. */
export interface Batch { ns: string | null; node?: string; steps: Step[]; argv: string[]; input?: string }

/** Groups steps into processes, preserving order within each namespace. */
export function batchesOf(steps: Step[]): { root: Batch[]; perNs: Map<string, Batch[]> } {
  const root: Batch[] = [];
  const perNs = new Map<string, Batch[]>();
  for (const s of steps) {
    if (s.tool === 'service') continue;
    const list = s.ns === null ? root : perNs.get(s.ns) ?? perNs.set(s.ns, []).get(s.ns)!;
    const last = list[list.length - 1];
    if (last && (s.tool === 'ip' || s.tool === 'tc' || s.tool === 'sysctl') && last.steps[0]!.tool === s.tool) {
      last.steps.push(s);
      if (s.tool === 'sysctl') last.argv.push(...s.args);
      else last.input += s.args.join(' ') + '\n';
      continue;
    }
    list.push(newBatch(s));
  }
  return { root, perNs };
}

function newBatch(s: Step): Batch {
  const b = { ns: s.ns, node: s.node, steps: [s] };
  switch (s.tool) {
    case 'ip': return { ...b, argv: s.ns ? ['ip', '-n', s.ns, '-batch', '-'] : ['ip', '-batch', '-'], input: s.args.join(' ') + '\n' };
    case 'tc': return { ...b, argv: ['tc', '-n', s.ns!, '-batch', '-'], input: s.args.join(' ') + '\n' };
    case 'sysctl': return { ...b, argv: ['sysctl', '-q', '-w', ...s.args] };
    default: return { ...b, argv: ['nft', ...s.args], input: s.input };
  }
}

export async function runBatch(b: Batch, runner: Runner): Promise<void> {
  // ip and tc address their namespace themselves (-n); sysctl and nft enter it
  const ns = b.steps[0]!.tool === 'ip' || b.steps[0]!.tool === 'tc' ? undefined : b.ns ?? undefined;
  const r = await runner.run({ argv: b.argv, ns, input: b.input });
  if (r.exitCode === 0) return;
  // `ip -batch` names the failing line: "Command failed -:3"
  const m = /Command failed -:(\d+)/.exec(r.stderr);
  const step = m ? b.steps[Number(m[1]) - 1] : b.steps.length === 1 ? b.steps[0] : undefined;
  const said = r.stderr.split('\n').filter((l) => l && !l.startsWith('Command failed')).join('\n') || `exit status ${r.exitCode}`;
  const detail = step
    ? `${said}\n    while running: ${stepCommand(step).split('\n')[0]}${step.at ? `\n    declared at: ${step.at.file}:${step.at.line}:${step.at.col}` : ''}`
    : said;
  throw new CommandError(r.argv, r.exitCode, r.stderr, b.node, detail);
}

/** Runs `fn` over items with at most `limit` at a time; the first failure stops new work and is thrown. */
export async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined && !signal?.aborted) {
      const item = items[next++]!;
      try { await fn(item); } catch (e) { failure ??= e; }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failure !== undefined) throw failure;
}

/** Executes non-service steps: root batch first, then every namespace in parallel. */
export async function executeSteps(steps: Step[], runner: Runner, jobs: number, signal?: AbortSignal): Promise<void> {
  const { root, perNs } = batchesOf(steps);
  for (const b of root) {
    signal?.throwIfAborted();
    await runBatch(b, runner);
  }
  await pool([...perNs.values()], jobs, async (batches) => {
    for (const b of batches) {
      signal?.throwIfAborted();
      await runBatch(b, runner);
    }
  }, signal);
  signal?.throwIfAborted();
}

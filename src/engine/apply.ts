// Executes plan steps fast: one `ip -batch` in the root namespace for namespaces
// and veths, then per namespace (in parallel, up to the core count) one batch
// per run of consecutive ip / tc lines, one sysctl, one nft per ruleset.
import { CommandError } from '../errors.js';
import { stepCommand } from '../plan/render.js';
import { assertInert, type Step } from '../plan/step.js';
import { nameResolutionHint } from './requirements.js';
import type { Runner } from './runner.js';

/** A unit of execution: one process. */
export interface Batch {
  ns: string | null;
  node?: string;
  steps: Step[];
  argv: string[];
  input?: string;
}

/** Groups steps into processes, preserving order within each namespace. */
export function batchesOf(steps: Step[]): { root: Batch[]; perNs: Map<string, Batch[]> } {
  const root: Batch[] = [];
  const perNs = new Map<string, Batch[]>();
  for (const s of steps) {
    if (s.tool === 'service') continue;
    assertInert(s);
    const list = s.ns === null ? root : (perNs.get(s.ns) ?? perNs.set(s.ns, []).get(s.ns)!);
    const last = list[list.length - 1];
    if (
      last &&
      (s.tool === 'ip' || s.tool === 'tc' || s.tool === 'sysctl') &&
      last.steps[0]!.tool === s.tool &&
      last.steps[0]!.family === s.family
    ) {
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
    // `-6` cannot be written on a batch line: IPv6 rules and routes get batches of their own
    case 'ip':
      return {
        ...b,
        argv: s.ns ? ['ip', ...(s.family === 6 ? ['-6'] : []), '-n', s.ns, '-batch', '-'] : ['ip', '-batch', '-'],
        input: s.args.join(' ') + '\n',
      };
    case 'tc':
      return { ...b, argv: ['tc', '-n', s.ns!, '-batch', '-'], input: s.args.join(' ') + '\n' };
    case 'sysctl':
      return { ...b, argv: ['sysctl', '-q', '-w', ...s.args] };
    default:
      return { ...b, argv: ['nft', ...s.args], input: s.input };
  }
}

export async function runBatch(b: Batch, runner: Pick<Runner, 'run'>): Promise<void> {
  const r = await runner.run(batchCommand(b));
  if (r.exitCode === 0) return;
  // `ip -batch` names the failing line: "Command failed -:3" from standard input, "Command failed FILE:3" from a
  // worker's file
  const m = /Command failed \S*:(\d+)$/m.exec(r.stderr);
  const step = m ? b.steps[Number(m[1]) - 1] : b.steps.length === 1 ? b.steps[0] : undefined;
  // a batch stops at its first failing line; without one (interrupted), any line may have run
  const done = m ? Number(m[1]) - 1 : b.steps.length;
  const said =
    r.stderr
      .split('\n')
      .filter((l) => l && !l.startsWith('Command failed'))
      .join('\n') || `exit status ${r.exitCode}`;
  // nft resolves some names through /etc/protocols and /etc/services, which a minimal container lacks
  const names = b.steps[0]?.tool === 'nft' ? nameResolutionHint(r.stderr) : undefined;
  const detail =
    (step
      ? `${said}\n    while running: ${stepCommand(step).split('\n')[0]}${step.at ? `\n    declared at: ${step.at.file}:${step.at.line}:${step.at.col}` : ''}`
      : said) + (names ? `\n    hint: ${names}` : '');
  throw Object.assign(new CommandError(r.argv, r.exitCode, r.stderr, b.node, detail), { stepsDone: done });
}

/** Runs `fn` over items with at most `limit` at a time; the first failure stops new work and is thrown. */
export async function pool<T>(
  items: T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  let failure: unknown;
  const worker = async () => {
    while (next < items.length && failure === undefined && !signal?.aborted) {
      const item = items[next++]!;
      try {
        await fn(item);
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a worker threw, rethrown as it was
  if (failure !== undefined) throw failure;
}

/**
 * Splits the root namespace's work into up to `jobs` parallel `ip -batch`
 * processes (creating namespaces is kernel work that two processes do in half
 * the time). Each process creates a share of the namespaces and then the veths
 * between them; veths joining two shares follow in a second phase.
 */
export function rootChunks(root: Batch[], jobs: number): Batch[][] {
  const steps = root.flatMap((b) => b.steps);
  const netns = steps.filter((s) => s.args[0] === 'netns');
  const links = steps.filter((s) => s.args[0] !== 'netns');
  const n = Math.max(1, Math.min(jobs, Math.ceil(netns.length / 16)));
  const size = Math.ceil(netns.length / n) || 1;
  const shareOf = new Map(netns.map((s, i) => [s.args[2]!, Math.floor(i / size)]));
  const shares: Step[][] = Array.from({ length: n }, (_, k) => netns.slice(k * size, (k + 1) * size));
  const across: Step[] = [];
  for (const l of links) {
    // ip link add name A netns NS1 type veth peer name B netns NS2
    const a = shareOf.get(l.args[l.args.indexOf('netns') + 1]!);
    const b = shareOf.get(l.args[l.args.lastIndexOf('netns') + 1]!);
    if (a !== undefined && a === b) shares[a]!.push(l);
    else across.push(l);
  }
  const batch = (part: Step[]): Batch => ({
    ns: null,
    steps: part,
    argv: ['ip', '-batch', '-'],
    input: part.map((s) => s.args.join(' ') + '\n').join(''),
  });
  const phases = [shares.filter((p) => p.length).map(batch)];
  if (across.length) {
    const m = Math.max(1, Math.min(jobs, Math.ceil(across.length / 16)));
    const k = Math.ceil(across.length / m);
    phases.push(
      Array.from({ length: m }, (_, i) => across.slice(i * k, (i + 1) * k))
        .filter((p) => p.length)
        .map(batch),
    );
  }
  return phases;
}

/**
 * Executes non-service steps: the root namespace's work first, then every
 * namespace in parallel. `created` collects the namespaces this call really
 * created (a batch stops at its first failing line, so those before it were),
 * so that unwinding deletes no namespace of the same name made by someone else.
 */
export async function executeSteps(
  steps: Step[],
  runner: Runner,
  jobs: number,
  signal?: AbortSignal,
  created?: Set<string>,
): Promise<void> {
  const { root, perNs } = batchesOf(steps);
  const work = [...perNs.values()];
  const n = Math.max(1, Math.min(jobs, work.length));
  // the lanes start now, while the root namespace's batches run: their start-up (a spawn each) is then off the critical
  // path
  const lanes = work.length ? Array.from({ length: n }, () => runner.lane?.()) : [];
  try {
    for (const phase of rootChunks(root, jobs)) {
      signal?.throwIfAborted();
      const results = await Promise.allSettled(phase.map((b) => runBatch(b, runner)));
      results.forEach((r, i) => {
        const b = phase[i]!;
        const done =
          r.status === 'fulfilled'
            ? b.steps.length
            : ((r.reason as { stepsDone?: number }).stepsDone ?? b.steps.length);
        for (const s of b.steps.slice(0, done))
          if (s.args[0] === 'netns' && s.args[1] === 'add') created?.add(s.args[2]!);
      });
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
  } catch (e) {
    await Promise.all(lanes.map(async (l) => l?.close(true))); // they ran nothing yet
    throw e;
  }
  if (!work.length) return;
  // namespaces dealt out to lanes; a lane runs its namespaces' batches in order
  const shares = Array.from({ length: n }, (_, k) => work.filter((_, i) => i % n === k));
  let failure: unknown;
  await Promise.all(
    shares.map(async (share, k) => {
      const lane = lanes[k];
      const stop = () => void lane?.close(true);
      signal?.addEventListener('abort', stop, { once: true });
      try {
        const queued: Promise<void>[] = [];
        for (const batches of share)
          for (const b of batches) {
            if (failure !== undefined || signal?.aborted) break;
            if (lane?.canQueue(batchCommand(b)))
              queued.push(
                runBatch(b, lane).catch((e) => {
                  failure ??= e;
                }),
              );
            else {
              await Promise.all(queued.splice(0));
              await runBatch(b, runner);
            } // keep order around a command the lane cannot take
          }
        await Promise.all(queued);
      } catch (e) {
        failure ??= e;
      } finally {
        signal?.removeEventListener('abort', stop);
        await lane?.close(failure !== undefined || !!signal?.aborted); // nothing runs behind the unwinding
      }
    }),
  );
  signal?.throwIfAborted();
  // eslint-disable-next-line @typescript-eslint/only-throw-error -- what a worker threw, rethrown as it was
  if (failure !== undefined) throw failure;
}

/** ip and tc address their namespace themselves (-n); sysctl and nft enter it. */
function batchCommand(b: Batch) {
  const ns = b.steps[0]!.tool === 'ip' || b.steps[0]!.tool === 'tc' ? undefined : (b.ns ?? undefined);
  return { argv: b.argv, ns, input: b.input };
}

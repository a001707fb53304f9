// Splitting a suite's labs over the jobs of a CI matrix (`--shard i/n`). Every
// job computes the same partition from the same inputs, so the shards together
// run every lab exactly once: the labs sorted by file, and the same durations.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';

export interface Shard {
  index: number;
  count: number;
}

/** `i/n`, 1 <= i <= n. */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = Number(m?.[1]),
    count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count)
    throw new UsageError(
      `--shard takes i/n with 1 <= i <= n, not '${spec}'`,
      'e.g. --shard 1/3 in the first of three CI jobs',
    );
  return { index, count };
}

export interface ShardItem {
  key: string;
  file: string;
}

/**
 * The items of shard `index` (1-based) of `count`. Longest first onto the
 * least loaded shard (LPT): with recorded durations the shards come out
 * balanced in time; without them every lab weighs the same and it is a
 * round robin over the labs in file order. Labs with no recorded duration
 * weigh the mean of those that have one. Ties break by file, then shard
 * number, so the result depends on nothing but the inputs.
 */
export function shardOf<T extends ShardItem>(
  items: T[],
  shard: Shard,
  durations: Map<string, number> = new Map(),
): T[] {
  const known = items.map((x) => durations.get(x.key)).filter((d): d is number => d !== undefined);
  const fallback = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const weighed = items
    .map((x, order) => ({ x, order, w: durations.get(x.key) ?? fallback }))
    .sort((a, b) => b.w - a.w || (a.x.file < b.x.file ? -1 : a.x.file > b.x.file ? 1 : a.order - b.order));
  const load = new Array<number>(shard.count).fill(0);
  const mine: { x: T; order: number }[] = [];
  for (const it of weighed) {
    let s = 0;
    for (let k = 1; k < shard.count; k++) if (load[k]! < load[s]!) s = k;
    load[s]! += it.w;
    if (s === shard.index - 1) mine.push(it);
  }
  // run in the order the user gave (file order), whatever the weights
  return mine.sort((a, b) => a.order - b.order).map((it) => it.x);
}

/**
 * Recorded durations per lab name, from JSON reports of earlier runs
 * (`--reporter json` output or `report.json` of `--artifacts`): files, or
 * directories searched for `report.json`. A path that does not exist gives
 * nothing (the first CI run has no history); a file that is not a report is
 * a usage error. Several reports (one per shard) add up; a lab seen twice
 * keeps its latest figure.
 */
export function readDurations(paths: string[], warn: (msg: string) => void = () => {}): Map<string, number> {
  const out = new Map<string, number>();
  for (const p of paths) {
    if (!existsSync(p)) {
      warn(`--durations ${p}: no such file; labs weigh the same`);
      continue;
    }
    for (const f of statSync(p).isDirectory() ? reportsUnder(p) : [p]) {
      let labs: unknown;
      try {
        labs = (JSON.parse(readFileSync(f, 'utf8')) as { labs?: unknown }).labs;
      } catch {
        labs = undefined;
      }
      if (!Array.isArray(labs))
        throw new UsageError(
          `--durations ${f} is not a JSON report of nslab test`,
          "write one with '--reporter json' or '--artifacts DIR' (DIR/report.json)",
        );
      for (const l of labs as { lab?: unknown; durationMs?: unknown }[])
        if (typeof l?.lab === 'string' && typeof l.durationMs === 'number' && l.durationMs >= 0)
          out.set(l.lab, l.durationMs);
    }
  }
  return out;
}

function reportsUnder(dir: string, depth = 3): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.isFile() && e.name === 'report.json') out.push(join(dir, e.name));
    else if (e.isDirectory() && depth > 0) out.push(...reportsUnder(join(dir, e.name), depth - 1));
  }
  return out;
}

import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { parseShard, readDurations, shardOf } from '../../src/run/shard.js';

const labs = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ key: `lab${i}`, file: `labs/lab${String(i).padStart(2, '0')}.yaml` }));

describe('--shard i/n', () => {
  it('parses i/n and refuses the rest with a usage error', () => {
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    for (const bad of ['0/2', '3/2', '1/0', '1', 'a/b', '1/2/3', '-1/2', ''])
      expect(() => parseShard(bad), bad).toThrow(UsageError);
  });

  it('the shards together hold every lab exactly once, with or without durations (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 30 }),
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.nat(100_000), { maxLength: 30 }),
        (n, count, ds) => {
          const items = labs(n);
          const durations = new Map(ds.slice(0, n).map((d, i) => [`lab${i}`, d]));
          const seen = Array.from({ length: count }, (_, i) => shardOf(items, { index: i + 1, count }, durations))
            .flat()
            .map((x) => x.key)
            .sort();
          expect(seen).toEqual(items.map((x) => x.key).sort());
        },
      ),
    );
  });

  it('is deterministic and keeps the given order inside a shard', () => {
    const items = labs(7);
    const a = shardOf(items, { index: 1, count: 2 });
    expect(
      shardOf([...items].reverse(), { index: 1, count: 2 })
        .map((x) => x.key)
        .sort(),
    ).toEqual(a.map((x) => x.key).sort());
    expect(a.map((x) => x.file)).toEqual([...a.map((x) => x.file)].sort());
  });

  it('without durations, a round robin over the labs in file order', () => {
    const items = labs(5);
    expect(shardOf(items, { index: 1, count: 2 }).map((x) => x.key)).toEqual(['lab0', 'lab2', 'lab4']);
    expect(shardOf(items, { index: 2, count: 2 }).map((x) => x.key)).toEqual(['lab1', 'lab3']);
  });

  it('balances by recorded durations: the long lab gets a shard of its own', () => {
    const items = labs(5);
    const d = new Map([
      ['lab0', 1000],
      ['lab1', 10],
      ['lab2', 10],
      ['lab3', 10],
      ['lab4', 10],
    ]);
    expect(shardOf(items, { index: 1, count: 2 }, d).map((x) => x.key)).toEqual(['lab0']);
    expect(shardOf(items, { index: 2, count: 2 }, d).map((x) => x.key)).toEqual(['lab1', 'lab2', 'lab3', 'lab4']);
    // the twin: without the durations the long lab shares its shard
    expect(shardOf(items, { index: 1, count: 2 }).map((x) => x.key)).toEqual(['lab0', 'lab2', 'lab4']);
  });

  it('a lab with no recorded duration weighs the mean of the others', () => {
    const items = labs(3);
    const d = new Map([
      ['lab0', 100],
      ['lab1', 300],
    ]); // lab2 weighs 200
    expect(shardOf(items, { index: 1, count: 2 }, d).map((x) => x.key)).toEqual(['lab1']);
    expect(shardOf(items, { index: 2, count: 2 }, d).map((x) => x.key)).toEqual(['lab0', 'lab2']);
  });
});

describe('--durations', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nslab-durations-'));
  const report = (labs: unknown[]) => JSON.stringify({ version: 1, labs });

  it('reads JSON reports: files, and report.json under a directory (one per shard)', () => {
    mkdirSync(join(dir, 'shard-1'), { recursive: true });
    mkdirSync(join(dir, 'shard-2'), { recursive: true });
    writeFileSync(join(dir, 'shard-1', 'report.json'), report([{ lab: 'a', durationMs: 1200 }]));
    writeFileSync(join(dir, 'shard-2', 'report.json'), report([{ lab: 'b', durationMs: 300 }, { lab: 'c' }]));
    expect(readDurations([dir])).toEqual(
      new Map([
        ['a', 1200],
        ['b', 300],
      ]),
    );
    expect(readDurations([join(dir, 'shard-1', 'report.json')])).toEqual(new Map([['a', 1200]]));
  });

  it('a missing path is no history (a warning), a file that is no report is a usage error', () => {
    const warnings: string[] = [];
    expect(readDurations([join(dir, 'nope.json')], (w) => warnings.push(w)).size).toBe(0);
    expect(warnings[0]).toMatch(/no such file/);
    writeFileSync(join(dir, 'junk.json'), '{"not": "a report"}');
    expect(() => readDurations([join(dir, 'junk.json')])).toThrow(/not a JSON report/);
  });
});

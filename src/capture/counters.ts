// Firewall counters as evidence: `nft list ruleset` read before and after a
// probe's traffic in the nodes whose ruleset counts (has `counter` in a rule);
// a drop rule whose counter moved is the firewall that took the packet.
import type { Lab } from '../engine/lab.js';
import type { LabModel } from '../lab/model.js';

/** A rule whose counter moved: where it is, its text (counts stripped), by how many packets. */
export interface Moved {
  node: string;
  rule: string;
  packets: number;
}

const COUNTS = /counter packets (\d+) bytes \d+/;

/** One line inside a chain of `nft list ruleset`, with where it is. */
export interface NftLine {
  table: string;
  chain: string;
  /** the chain's hook, once its declaration has been read */ hook?: string;
  line: string;
}

/** Pure: `nft list ruleset` text -> its lines inside chains, each with its table, chain and hook. */
export function nftLines(text: string): NftLine[] {
  const out: NftLine[] = [];
  let table = '',
    chain = '',
    hook: string | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    let m;
    if ((m = /^table (\S+ \S+)/.exec(line))) table = m[1]!;
    else if ((m = /^chain (\S+)/.exec(line))) {
      chain = m[1]!;
      hook = undefined;
    } else {
      if ((m = /hook (\w+)/.exec(line))) hook = m[1];
      out.push({ table, chain, hook, line });
    }
  }
  return out;
}

/** A counting rule as nslab names it: "table T chain C: rule", its counts left out. */
export const counterName = (l: NftLine) => `table ${l.table} chain ${l.chain}: ${l.line.replace(COUNTS, 'counter')}`;

/** Pure: `nft list ruleset` text -> "table T chain C: rule" -> packets, for every rule with a counter. */
export function parseCounters(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const l of nftLines(text)) {
    const m = COUNTS.exec(l.line);
    if (m) out.set(counterName(l), Number(m[1]));
  }
  return out;
}

/** The nodes whose ruleset, in the base config or any stage, has a counter. */
export function countingNodes(model: LabModel | undefined): string[] {
  if (!model) return [];
  const counts = (t?: { text: string }) => !!t && /\bcounter\b/.test(t.text);
  return model.nodes
    .filter((n) => counts(n.config.nftables) || model.stages.some((s) => counts(s.apply.get(n.name)?.nftables)))
    .map((n) => n.name);
}

export async function readCounters(lab: Lab, nodes: string[]): Promise<Map<string, Map<string, number>>> {
  const r = await Promise.all(
    nodes.map(async (n) => [n, parseCounters((await lab.exec(n, ['nft', 'list', 'ruleset'])).stdout)] as const),
  );
  return new Map(r);
}

export function moved(before: Map<string, Map<string, number>>, after: Map<string, Map<string, number>>): Moved[] {
  const out: Moved[] = [];
  for (const [node, rules] of after)
    for (const [rule, n] of rules) {
      const d = n - (before.get(node)?.get(rule) ?? 0);
      if (d > 0) out.push({ node, rule, packets: d });
    }
  return out;
}

// tc qdiscs for a link end: rate with tbf, delay/loss with netem (as tbf's child
// when both are given, so the delayed packets are also rate-limited).
import type { LinkModel } from '../lab/model.js';

import { rateBits } from '../lab/grammar.js';

export { rateBits };

/**
 * The longest a packet may wait in a link's tbf queue (tbf drops what would wait longer): a bound the probes' waits
 * rely on.
 */
export const TBF_LATENCY_MS = 50;

/** tc batch lines (without `tc`) for one interface at one end of a link. */
export function shapingLines(link: Pick<LinkModel, 'rate' | 'delay' | 'loss'>, iface: string): string[][] {
  const netem = [...(link.delay ? ['delay', link.delay] : []), ...(link.loss ? ['loss', link.loss] : [])];
  const lines: string[][] = [];
  if (link.rate) {
    // burst: about 20 ms at the rate, and never below a couple of full frames
    const burst = Math.max(3200, Math.ceil(rateBits(link.rate) / 8 / 50));
    lines.push([
      'qdisc',
      'add',
      'dev',
      iface,
      'root',
      'handle',
      '1:',
      'tbf',
      'rate',
      link.rate,
      'burst',
      String(burst),
      'latency',
      `${TBF_LATENCY_MS}ms`,
    ]);
    if (netem.length) lines.push(['qdisc', 'add', 'dev', iface, 'parent', '1:1', 'handle', '10:', 'netem', ...netem]);
  } else if (netem.length) {
    lines.push(['qdisc', 'add', 'dev', iface, 'root', 'handle', '1:', 'netem', ...netem]);
  }
  return lines;
}

// tc qdiscs for a link end: rate with tbf, delay/loss with netem (as tbf's child
// when both are given, so the delayed packets are also rate-limited).
import type { LinkModel } from '../lab/model.js';

const UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, tbit: 1e12, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 };

/** Bits per second of a tc rate string such as 10mbit. */
export function rateBits(rate: string): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/i.exec(rate);
  if (!m) throw new Error(`bad rate ${rate}`);
  return Number(m[1]) * (UNITS[m[2]!.toLowerCase()] ?? NaN);
}

/** tc batch lines (without `tc`) for one interface at one end of a link. */
export function shapingLines(link: Pick<LinkModel, 'rate' | 'delay' | 'loss'>, iface: string): string[][] {
  const netem = [...(link.delay ? ['delay', link.delay] : []), ...(link.loss ? ['loss', link.loss] : [])];
  const lines: string[][] = [];
  if (link.rate) {
    // burst: about 20 ms at the rate, and never below a couple of full frames
    const burst = Math.max(3200, Math.ceil(rateBits(link.rate) / 8 / 50));
    lines.push(['qdisc', 'add', 'dev', iface, 'root', 'handle', '1:', 'tbf', 'rate', link.rate, 'burst', String(burst), 'latency', '50ms']);
    if (netem.length) lines.push(['qdisc', 'add', 'dev', iface, 'parent', '1:1', 'handle', '10:', 'netem', ...netem]);
  } else if (netem.length) {
    lines.push(['qdisc', 'add', 'dev', iface, 'root', 'handle', '1:', 'netem', ...netem]);
  }
  return lines;
}

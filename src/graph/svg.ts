// DOT -> SVG with Graphviz compiled to WebAssembly (@viz-js/viz: no system
// package; its wasm is inlined in its JS). Loaded on first use only, so the
// verbs that draw nothing never pay for its ~1 MB.
import type { Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;
// a run's page draws the same topology again and again (a test's paths, the page
// written twice for --html and --artifacts): a layout is done once per DOT text
const drawn = new Map<string, string>();

/**
 * The SVG document of a DOT graph; an error names what Graphviz refused (a bug in the DOT writer, never the user's).
 */
export async function dotToSvg(dot: string): Promise<string> {
  const known = drawn.get(dot);
  if (known !== undefined) return known;
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  const r = (await viz).render(dot, { format: 'svg' });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
  if (drawn.size >= 1000) drawn.clear();
  drawn.set(dot, r.output);
  return r.output;
}

/** The <svg> element alone, to inline in an HTML page (no XML prolog or doctype). */
export function svgElement(svg: string): string {
  return svg.slice(svg.indexOf('<svg'));
}

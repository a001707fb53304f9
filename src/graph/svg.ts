// DOT -> SVG with Graphviz compiled to WebAssembly (@viz-js/viz: no system
// package; its wasm is inlined in its JS). Loaded on first use only, so the
// verbs that draw nothing never pay for its ~1 MB.
import type { Viz } from '@viz-js/viz';

let viz: Promise<Viz> | undefined;

/** The SVG document of a DOT graph; an error names what Graphviz refused (a bug in the DOT writer, never the user's). */
export async function dotToSvg(dot: string): Promise<string> {
  viz ??= import('@viz-js/viz').then((m) => m.instance());
  const r = (await viz).render(dot, { format: 'svg' });
  if (r.status !== 'success') throw new Error(`graphviz: ${r.errors.map((e) => e.message).join('; ')}`);
  return r.output;
}

/** The <svg> element alone, to inline in an HTML page (no XML prolog or doctype). */
export function svgElement(svg: string): string {
  return svg.slice(svg.indexOf('<svg'));
}

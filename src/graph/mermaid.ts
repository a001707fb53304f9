// The topology as a Mermaid flowchart (for Markdown: GitHub, GitLab, docs sites
// render it). Mermaid has no ports, so a link's label names the two interfaces;
// what the stage added carries a '+', down links are dotted.
import type { Overlay } from './paths.js';
import type { Item, TopoNode, Topology } from './topology.js';
import { COLORS } from './dot.js';

const ENTITY: Record<string, string> = { '#': '#35;', '"': '#quot;', '<': '#lt;', '>': '#gt;' };
/**
 * Text inside a quoted Mermaid label: quotes and angle brackets as Mermaid's entity codes, and
 * what could end the label or the line (a line break, a | around a link's label) or make it
 * Markdown (a backquote) as numeric ones: text from a results file or an API caller can add
 * no statement.
 */
const m = (s: string) =>
  s.replace(/[#"<>`|\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => ENTITY[c] ?? `#${c.charCodeAt(0)};`);
const item = (i: Item) => (i.added ? `<b>+ ${m(i.text)}</b>` : m(i.text));

function label(n: TopoNode): string {
  const role = n.kind === 'bridge' ? ' (bridge)' : n.forwarding ? ' (router)' : '';
  const lines = [`<b>${m(n.name)}</b>${role}`];
  for (const i of n.ifaces)
    lines.push(
      `${m(i.name)}${i.changed ? ` (${i.changed} in this stage)` : i.down ? ' (down)' : ''}${i.addresses.length ? ' ' + i.addresses.map(item).join(', ') : ''}`,
    );
  const conf = (kind: string, i: Item) => (i.added ? `<b>+ ${kind} ${m(i.text)}</b>` : `<i>${kind}</i> ${m(i.text)}`);
  for (const r of n.routes) lines.push(conf('route', r));
  for (const r of n.rules) lines.push(conf('rule', r));
  for (const f of n.filters) lines.push(item(f));
  return lines.join('<br/>');
}

export function toMermaid(t: Topology, o?: Overlay): string {
  const id = new Map(t.nodes.map((n, i) => [n.name, `n${i}`]));
  const out = ['flowchart LR', `  %% ${m(t.lab)}${t.stage ? ` at stage: ${m(t.stage)}` : ''}`];
  for (const n of t.nodes)
    out.push(n.kind === 'bridge' ? `  ${id.get(n.name)}{{"${label(n)}"}}` : `  ${id.get(n.name)}["${label(n)}"]`);
  const styles: string[] = [];
  let k = 0;
  for (const l of t.links) {
    const text = [`${m(l.a.iface)} — ${m(l.b.iface)}`, ...l.shaping.map(m)].join('<br/>');
    out.push(`  ${id.get(l.a.node)} ${l.down ? '-.-' : '---'}|"${text}"| ${id.get(l.b.node)}`);
    if (l.down) styles.push(`  linkStyle ${k} stroke:${COLORS.down}`);
    k++;
  }
  for (const e of o?.edges ?? []) {
    const [from, to] = [id.get(e.from.node), id.get(e.to.node)];
    if (!from || !to) continue; // a node the topology does not have (overlay() leaves none)
    const color = e.direction === 'request' || e.direction === 'reply' ? COLORS[e.direction] : COLORS.link;
    out.push(`  ${from} -->|"${m(`${e.direction} ${e.step}`)}"| ${to}`);
    styles.push(`  linkStyle ${k} stroke:${color},stroke-width:2px,color:${color}`);
    k++;
  }
  const bridges = t.nodes.filter((n) => n.kind === 'bridge').map((n) => id.get(n.name));
  const changed = t.nodes
    .filter(
      (n) =>
        [...n.routes, ...n.rules, ...n.filters, ...n.ifaces.flatMap((i) => i.addresses)].some((i) => i.added) ||
        n.ifaces.some((i) => i.changed),
    )
    .map((n) => id.get(n.name));
  const marked = [...new Set(o?.marks.flatMap((x) => id.get(x.node) ?? []) ?? [])];
  out.push(`  classDef bridge fill:#e2e8f0,stroke:${COLORS.bridge}`);
  out.push(`  classDef changed stroke:${COLORS.added},stroke-width:2px`);
  out.push(`  classDef marked stroke:${COLORS.mark},stroke-width:3px`);
  if (bridges.length) out.push(`  class ${bridges.join(',')} bridge`);
  if (changed.length) out.push(`  class ${changed.join(',')} changed`);
  if (marked.length) out.push(`  class ${marked.join(',')} marked`);
  out.push(...styles);
  return out.join('\n') + '\n';
}

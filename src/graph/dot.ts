// The topology as Graphviz DOT: a node is a table with a cell (a port) per
// interface, so each link ends at the interface it joins; routes, rules and NAT
// under the interfaces; what the stage added in green; down interfaces greyed,
// their links dashed. An overlay adds the observed paths as coloured arrows that
// replace the grey links they crossed.
import type { Overlay, PathEdge, PathMark } from './paths.js';
import type { Item, TopoIface, TopoNode, Topology } from './topology.js';

export const COLORS = {
  request: '#2563eb',
  reply: '#ea580c',
  added: '#15803d',
  down: '#94a3b8',
  mark: '#dc2626',
  link: '#64748b',
  ink: '#0f172a',
  header: '#1e293b',
  bridge: '#475569',
} as const;

// Control characters (a NUL ends Graphviz's reading of a string; others make its HTML labels
// malformed) are written as visible \uXXXX: text from a results file or an API caller is never trusted.
const CONTROLS = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/g;
const visible = (s: string) => s.replace(CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
/** A DOT double-quoted string (a line break as DOT's own \n). */
export const q = (s: string) => `"${visible(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
/** Text inside an HTML-like label. */
const h = (s: string) =>
  visible(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const item = (i: Item) => (i.added ? `<font color="${COLORS.added}"><b>+ ${h(i.text)}</b></font>` : h(i.text));

function ifaceCell(i: TopoIface, marks: PathMark[]): string {
  const mark = marks.find((m) => m.iface === i.name);
  const state = i.changed ? ` (${i.changed} in this stage)` : i.down ? ' (down)' : '';
  const addrs = i.addresses.map(item).join('<br/>');
  const name = `<b>${h(i.name)}</b>${state ? `<font color="${i.changed ? COLORS.added : COLORS.down}">${h(state)}</font>` : ''}`;
  const body = i.down
    ? `<font color="${COLORS.down}">${name}${addrs ? `<br/>${addrs}` : ''}</font>`
    : `${name}${addrs ? `<br/>${addrs}` : ''}`;
  const bg = mark ? '#fee2e2' : i.down ? '#f1f5f9' : '#ffffff';
  return `<tr><td port="${h(i.name)}" align="left" balign="left" bgcolor="${bg}"${mark ? ` color="${COLORS.mark}"` : ''}>${body}</td></tr>`;
}

function nodeLabel(n: TopoNode, marks: PathMark[]): string {
  const bridge = n.kind === 'bridge';
  const role = bridge ? 'bridge' : n.forwarding ? 'router' : '';
  const head = `<tr><td bgcolor="${marks.length ? COLORS.mark : bridge ? COLORS.bridge : COLORS.header}"><font color="white"><b>${h(n.name)}</b>${role ? `  <font point-size="9">${role}</font>` : ''}</font></td></tr>`;
  const rows = [
    head,
    ...n.ifaces.map((i) =>
      ifaceCell(
        i,
        marks.filter((m) => m.node === n.name),
      ),
    ),
  ];
  const conf = [
    ...n.routes.map((r) => ({ ...r, text: `route ${r.text}` })),
    ...n.rules.map((r) => ({ ...r, text: `rule ${r.text}` })),
    ...n.filters,
  ];
  if (conf.length)
    rows.push(
      `<tr><td align="left" balign="left" bgcolor="#f8fafc"><font point-size="9">${conf.map(item).join('<br/>')}</font></td></tr>`,
    );
  for (const m of marks)
    rows.push(
      `<tr><td align="left" bgcolor="#fee2e2"><font color="${COLORS.mark}" point-size="9"><b>${m.kind === 'diverges' ? '⚑' : '✗'} ${h(m.text)}</b></font></td></tr>`,
    );
  return `<<table border="${marks.length ? 2 : 1}" cellborder="1" cellspacing="0" cellpadding="4" color="${marks.length ? COLORS.mark : '#94a3b8'}">${rows.join('')}</table>>`;
}

/**
 * Attributes of a link crossed by paths: colours in parallel, the head's first (Graphviz colours each arrowhead so).
 */
function crossed(a: { node: string; iface: string }, paths: PathEdge[]): string {
  const fwd = (p: PathEdge) => p.from.node === a.node && p.from.iface === a.iface;
  const heads = [...new Set(paths.filter(fwd).map((p) => p.direction))];
  const tails = [...new Set(paths.filter((p) => !fwd(p)).map((p) => p.direction))];
  const dir = heads.length && tails.length ? 'both' : heads.length ? 'forward' : 'back';
  const dirs = [...new Set([...heads, ...tails])];
  const tip = paths.map((p) => `${p.direction} ${p.step}: ${p.src || p.from.node} → ${p.dst || p.to.node}`).join('; ');
  return `id=${q(`path-${paths.map((p) => `${p.direction}-${p.step}`).join('+')}`)}, class=${q(`path ${dirs.join(' ')}`)}, dir=${dir}, color="${[...heads, ...tails].map(colorOf).join(':')}", penwidth=2.2, arrowsize=1.1, edgetooltip=${q(tip)}`;
}

function pathAttrs(p: PathEdge): string {
  const c = colorOf(p.direction);
  return `id=${q(`path-${p.direction}-${p.step}`)}, class=${q(`path ${p.direction}`)}, dir=forward, color="${c}", penwidth=2.2, arrowsize=1.1, tooltip=${q(`${p.direction} ${p.step}: ${p.src || p.from.node} → ${p.dst || p.to.node}`)}`;
}

/** A direction's colour (a direction that is neither request nor reply, from an API caller, in the links' grey). */
const colorOf = (d: string) => (d === 'request' || d === 'reply' ? COLORS[d] : COLORS.link);

const end = (node: string, iface?: string) => (iface ? `${q(node)}:${q(iface)}` : q(node));

/** The DOT text of a topology, with the observed paths when given. */
export function toDot(t: Topology, o?: Overlay): string {
  const out: string[] = [];
  out.push(`graph ${q(t.lab)} {`);
  out.push(
    `  graph [id="topology", rankdir=LR, bgcolor="transparent", nodesep=0.35, ranksep=0.9, fontname="Verdana", pad=0.2];`,
  );
  out.push(`  node [shape=plain, fontname="Verdana", fontsize=10, fontcolor="${COLORS.ink}"];`);
  out.push(
    `  edge [fontname="Verdana", fontsize=9, color="${COLORS.link}", fontcolor="${COLORS.link}", penwidth=1.5];`,
  );
  for (const n of t.nodes) {
    const marks = o?.marks.filter((m) => m.node === n.name) ?? [];
    out.push(
      `  ${q(n.name)} [id=${q(`node-${n.name}`)}, class=${q(n.kind)}, tooltip=${q(n.name)}, label=${nodeLabel(n, marks)}];`,
    );
  }
  const onLink = new Map<string, PathEdge[]>();
  for (const p of o?.edges ?? []) if (p.link) onLink.set(p.link, [...(onLink.get(p.link) ?? []), p]);
  for (const l of t.links) {
    const attrs = [`tooltip=${q(`${l.a.node}:${l.a.iface} — ${l.b.node}:${l.b.iface}`)}`];
    if (l.shaping.length) attrs.push(`label=${q(l.shaping.join('\n'))}`);
    const paths = onLink.get(l.id) ?? [];
    if (!paths.length && l.down) attrs.push(`style=dashed`, `color="${COLORS.down}"`);
    // a link a path crossed is drawn in the path's colours (one line per direction, the arrow in its colour),
    // the same edge as in the plain topology, so the layout stays the one the reader knows
    const style = paths.length ? crossed(l.a, paths) : `id=${q(`link-${l.id}`)}, class="link"`;
    out.push(`  ${end(l.a.node, l.a.iface)} -- ${end(l.b.node, l.b.iface)} [${style}, ${attrs.join(', ')}];`);
  }
  // hops that name no link (an interface missing from the evidence): drawn node to node, outside the layout
  for (const p of o?.edges ?? [])
    if (!p.link)
      out.push(
        `  ${end(p.from.node, p.from.iface)} -- ${end(p.to.node, p.to.iface)} [${pathAttrs(p)}, constraint=false, style=dashed];`,
      );
  out.push('}');
  return out.join('\n') + '\n';
}

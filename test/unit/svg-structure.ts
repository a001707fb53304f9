// Reads the structure of a Graphviz SVG (not its pixels): the node and edge
// groups with their ids, classes, titles and texts. A small XML tree reader,
// strict about nesting, so a malformed document fails the test that reads it.
export interface El {
  name: string;
  attrs: Record<string, string>;
  children: El[];
  text: string;
}

const decode = (s: string) =>
  s
    .replace(/&#(\d+);/g, (_, n: string) => String.fromCodePoint(Number(n)))
    .replace(/&#x([0-9a-f]+);/gi, (_, n: string) => String.fromCodePoint(parseInt(n, 16)))
    .replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&nbsp;/g, '\u00a0')
    .replace(/&amp;/g, '&');

export function parseXml(xml: string): El {
  const root: El = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<(\/?)([\w:-]+)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  const body = xml.replace(/<\?xml[^>]*\?>|<!--.*?-->|<!DOCTYPE[^>]*>/gs, '');
  let at = 0;
  for (const m of body.matchAll(re)) {
    if (m.index !== at) throw new Error(`not XML at ${at}: ${JSON.stringify(body.slice(at, at + 60))}`);
    at = m.index + m[0].length;
    if (m[5] !== undefined) {
      stack.at(-1)!.text += decode(m[5]);
      continue;
    }
    if (m[1]) {
      const el = stack.pop()!;
      if (el.name !== m[2]) throw new Error(`</${m[2]}> closes <${el.name}>`);
      continue;
    }
    const attrs = Object.fromEntries([...m[3]!.matchAll(/([\w:-]+)="([^"]*)"/g)].map((a) => [a[1]!, decode(a[2]!)]));
    const el: El = { name: m[2]!, attrs, children: [], text: '' };
    stack.at(-1)!.children.push(el);
    if (!m[4]) stack.push(el);
  }
  if (at !== body.length) throw new Error(`not XML at ${at}`);
  if (stack.length !== 1) throw new Error(`<${stack.at(-1)!.name}> is not closed`);
  return root;
}

const all = (el: El): El[] => [el, ...el.children.flatMap(all)];
const texts = (el: El) =>
  all(el)
    .filter((x) => x.name === 'text')
    .map((x) => x.text.trim())
    .filter(Boolean);

export interface SvgPart {
  id: string;
  class: string;
  title: string;
  texts: string[];
}

/** The nodes and edges of a Graphviz SVG, in document order. */
export function svgStructure(svg: string): { title: string; nodes: SvgPart[]; edges: SvgPart[] } {
  const root = parseXml(svg);
  const svgEl = root.children.find((c) => c.name === 'svg');
  if (!svgEl) throw new Error('no <svg> element');
  const groups = all(svgEl).filter((g) => g.name === 'g' && /^(node|edge)\b/.test(g.attrs.class ?? ''));
  const part = (g: El): SvgPart => ({
    id: g.attrs.id!,
    class: g.attrs.class!,
    title: g.children.find((c) => c.name === 'title')?.text ?? '',
    texts: texts(g),
  });
  const graph = all(svgEl).find((g) => g.attrs.class === 'graph');
  return {
    title: graph?.children.find((c) => c.name === 'title')?.text ?? '',
    nodes: groups.filter((g) => g.attrs.class!.startsWith('node')).map(part),
    edges: groups.filter((g) => g.attrs.class!.startsWith('edge')).map(part),
  };
}

// Node names for what nslab import invents around the machine: gw-TAG and
// client-TAG for each interface, TAG made of the interface's name. Names that
// differ only in what a node name cannot hold (a.b and a-b, Eth0 and eth0) give
// one tag: they are told apart by a number, so that no two nodes share a name.
import { NODE_NAME } from '../lab/grammar.js';

/**
 * A name made a node name: lower case, '-' for runs of other characters, cut to 24; the fallback if nothing is left.
 */
export function nodeName(s: string, fallback: string): string {
  const n = s
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z]+/, '')
    .slice(0, 24)
    .replace(/-+$/, '');
  return NODE_NAME.test(n) ? n : fallback;
}

/** What an interface gives its router's and client's names (gw-TAG, client-TAG): at most 15 characters, as the name. */
export function tagOf(ifname: string): string {
  return (
    ifname
      .toLowerCase()
      .replace(/[^a-z0-9_-]+/g, '-')
      .replace(/^-+|-+$/g, '') || 'if'
  );
}

/**
 * A distinct tag for each interface, in their order. Of interfaces that give
 * the same tag, the one whose name is the tag keeps it, then the others (by
 * their names, in code point order) take TAG-2, TAG-3, ...: the result does not
 * depend on the order of the snapshot. A numbered tag is never another
 * interface's own tag, and never makes a node name `taken` says is in use.
 */
export function nodeTags(ifnames: string[], taken: (node: string) => boolean): string[] {
  const tags = ifnames.map(tagOf);
  const own = new Set(tags);
  const groups = new Map<string, number[]>();
  tags.forEach((t, i) => {
    const g = groups.get(t);
    if (g) g.push(i);
    else groups.set(t, [i]);
  });
  const out: string[] = [];
  const used = new Set<string>();
  const free = (t: string) => !used.has(t) && !taken(`gw-${t}`) && !taken(`client-${t}`);
  const byName = (a: number, b: number) => {
    const [x, y] = [ifnames[a]!, ifnames[b]!];
    return Number(y === tags[b]) - Number(x === tags[a]) || (x < y ? -1 : x > y ? 1 : 0);
  };
  const sorted = [...groups.keys()].sort();
  for (const t of sorted) {
    const [first] = groups.get(t)!.sort(byName);
    if (free(t)) {
      out[first!] = t;
      used.add(t);
    }
  }
  for (const t of sorted) {
    let n = 2;
    for (const i of groups.get(t)!) {
      if (out[i] !== undefined) continue;
      while (own.has(`${t}-${n}`) || !free(`${t}-${n}`)) n++;
      out[i] = `${t}-${n}`;
      used.add(out[i]);
    }
  }
  return out;
}

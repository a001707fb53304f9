// A node's nftables ruleset is handed to `nft -f` inside the node. nft itself
// only touches the node's own tables, with one exception: `include "FILE"`
// reads a file of the host, as root (and nft echoes its lines in errors).
// So a lab's ruleset may contain anything nft accepts except an include.

/** The words of an nft ruleset outside comments and quoted strings. */
function words(text: string): string[] {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
      out += ' ';
    } else if (ch === '"') { inString = true; out += ' '; }
    else if (ch === '#') { while (i < text.length && text[i] !== '\n') i++; out += '\n'; }
    else out += ch;
  }
  return out.split(/[\s;{}()]+/).filter(Boolean);
}

/** Why this ruleset cannot be loaded into a node, or undefined if it can. */
export function nftProblem(text: string): { message: string; hint: string } | undefined {
  if (text.includes('\u0000')) return { message: 'the ruleset contains a NUL character', hint: 'remove it' };
  if (words(text).some((w) => w.toLowerCase() === 'include'))
    return { message: "'include' is not allowed: it would make nft read a file of the host", hint: 'write the rules into the lab file itself' };
  return undefined;
}

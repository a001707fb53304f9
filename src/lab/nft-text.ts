// A node's nftables ruleset is handed to `nft -f` inside the node. nft itself
// only touches the node's own tables, with one exception: `include "FILE"`
// reads a file of the host, as root (and nft echoes its lines in errors).
// So a lab's ruleset may contain anything nft accepts except an include.
// The word is refused anywhere, strings and comments included: a scanner of
// ours that read quotes or escapes one bit differently from nft's could be
// made to miss an include that nft then reads (seen: `define x = "a\"`).

/** Why this ruleset cannot be loaded into a node, or undefined if it can. */
export function nftProblem(text: string): { message: string; hint: string } | undefined {
  if (text.includes('\u0000')) return { message: 'the ruleset contains a NUL character', hint: 'remove it' };
  if (/include/i.test(text))
    return {
      message: "'include' is not allowed anywhere in a ruleset: it would make nft read a file of the host",
      hint: 'write the rules into the lab file itself (the word is refused in comments and strings too)',
    };
  return undefined;
}

// nftables steps: the node's own ruleset, and a generated NAT table for `masquerade`.

/** A ruleset masquerading traffic that leaves through the given interfaces. */
export function masqueradeRuleset(ifaces: string[]): string {
  const names = ifaces.map((i) => `"${i}"`).join(', ');
  return [
    'table ip nslab_nat {',
    '  chain postrouting {',
    '    type nat hook postrouting priority srcnat; policy accept;',
    `    oifname { ${names} } masquerade`,
    '  }',
    '}',
    '',
  ].join('\n');
}

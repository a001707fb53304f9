import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/lab/addr.js';
import { checkRoute, checkRule, type NodeView } from '../../src/lab/iproute.js';
import { splitWords } from '../../src/lab/resolve.js';

const view = (): NodeView => ({
  interfaces: new Map([
    ['lo', [parseCidr('127.0.0.1/8')!]],
    ['eth0', [parseCidr('10.0.0.220/24')!]],
    ['eth1', [parseCidr('192.168.1.220/24')!, parseCidr('2001:db8:1::220/64')!]],
  ]),
  tables: new Map([['gateway1', 201]]),
});

describe('routes written as after `ip route add`', () => {
  it('translates lab table names to numbers', () => {
    const r = checkRoute('192.168.1.0/24 dev eth1 src 192.168.1.220 table gateway1', view());
    expect(r.errors).toEqual([]);
    expect(r.args).toEqual(['192.168.1.0/24', 'dev', 'eth1', 'src', '192.168.1.220', 'table', '201']);
  });
  it('accepts a default route via a connected gateway, and rejects one on no connected subnet', () => {
    expect(checkRoute('default via 192.168.1.254 table gateway1', view()).errors).toEqual([]);
    expect(checkRoute('default via 192.168.7.1', view()).errors[0]!.message).toMatch(/no connected subnet/);
  });
  it('checks the gateway against the named dev, and onlink skips the check', () => {
    expect(checkRoute('default via 192.168.1.254 dev eth0', view()).errors[0]!.message).toMatch(/via dev eth0/);
    expect(checkRoute('default via 192.168.7.1 dev eth0 onlink', view()).errors).toEqual([]);
  });
  it('accepts multipath nexthops with weights and checks each gateway', () => {
    expect(checkRoute('default scope global nexthop via 10.0.0.1 dev eth0 weight 1 nexthop via 192.168.1.254 dev eth1 weight 2', view()).errors).toEqual([]);
    expect(checkRoute('default nexthop via 10.0.0.1 dev eth0 nexthop via 10.9.9.9 dev eth1', view()).errors).toHaveLength(1);
  });
  it('rejects an unknown keyword with a suggestion, and a src that is not local', () => {
    const r = checkRoute('10.9.0.0/16 via 10.0.0.1 metrc 5', view());
    expect(r.errors).toEqual([{ message: "unknown route keyword 'metrc'", hint: "did you mean 'metric'?" }]);
    expect(checkRoute('10.9.0.0/16 via 10.0.0.1 src 10.0.0.1', view()).errors[0]!.message).toMatch(/not an address of this node/);
  });
  it('handles IPv6 and route types', () => {
    expect(checkRoute('2001:db8:9::/48 via 2001:db8:1::1', view()).errors).toEqual([]);
    expect(checkRoute('blackhole 10.66.0.0/16', view()).errors).toEqual([]);
    expect(checkRoute('2001:db8:9::/48 via 10.0.0.1', view()).errors[0]!.message).toMatch(/address family/);
  });
});

describe('rules written as after `ip rule add`', () => {
  it('translates table and lookup names', () => {
    expect(checkRule('from 192.168.1.220 table gateway1', view()).args).toEqual(['from', '192.168.1.220', 'table', '201']);
    expect(checkRule('iif eth1 lookup gateway1 priority 100', view()).args).toEqual(['iif', 'eth1', 'lookup', '201', 'priority', '100']);
  });
  it('rejects undeclared tables, unknown interfaces and keywords', () => {
    expect(checkRule('from all table isp9', view()).errors[0]!.message).toMatch(/not declared/);
    expect(checkRule('iif eth7 table main', view()).errors[0]!.message).toMatch(/does not exist/);
    expect(checkRule('form 1.2.3.4 table main', view()).errors[0]!.hint).toBe("did you mean 'from'?");
  });
});

describe('service commands are split into words, never given to a shell', () => {
  it('honours quotes and keeps shell characters literal', () => {
    expect(splitWords(`sh -c 'echo hi; exit 3' "a b" $HOME`)).toEqual(['sh', '-c', 'echo hi; exit 3', 'a b', '$HOME']);
  });
});

import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/lab/addr.js';
import { checkRoute, checkRule, routeKey, type NodeView } from '../../src/lab/iproute.js';
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
    expect(
      checkRoute(
        'default scope global nexthop via 10.0.0.1 dev eth0 weight 1 nexthop via 192.168.1.254 dev eth1 weight 2',
        view(),
      ).errors,
    ).toEqual([]);
    expect(
      checkRoute('default nexthop via 10.0.0.1 dev eth0 nexthop via 10.9.9.9 dev eth1', view()).errors,
    ).toHaveLength(1);
  });
  it('rejects an unknown keyword with a suggestion, and a src that is not local', () => {
    const r = checkRoute('10.9.0.0/16 via 10.0.0.1 metrc 5', view());
    expect(r.errors).toEqual([{ message: "unknown route keyword 'metrc'", hint: "did you mean 'metric'?" }]);
    expect(checkRoute('10.9.0.0/16 via 10.0.0.1 src 10.0.0.1', view()).errors[0]!.message).toMatch(
      /not an address of this node/,
    );
  });
  it('handles IPv6 and route types', () => {
    expect(checkRoute('2001:db8:9::/48 via 2001:db8:1::1', view()).errors).toEqual([]);
    expect(checkRoute('blackhole 10.66.0.0/16', view()).errors).toEqual([]);
    expect(checkRoute('2001:db8:9::/48 via 10.0.0.1', view()).errors[0]!.message).toMatch(
      /gateway 10.0.0.1 is IPv4, but the rest of the line is IPv6/,
    );
  });
});

describe('rules written as after `ip rule add`', () => {
  it('translates table and lookup names', () => {
    expect(checkRule('from 192.168.1.220 table gateway1', view()).args).toEqual([
      'from',
      '192.168.1.220',
      'table',
      '201',
    ]);
    expect(checkRule('iif eth1 lookup gateway1 priority 100', view()).args).toEqual([
      'iif',
      'eth1',
      'table',
      '201',
      'priority',
      '100',
    ]);
  });
  it('rejects undeclared tables, unknown interfaces and keywords', () => {
    expect(checkRule('from all table isp9', view()).errors[0]!.message).toMatch(/not declared/);
    expect(checkRule('iif eth7 table main', view()).errors[0]!.message).toMatch(/does not exist/);
    expect(checkRule('form 1.2.3.4 table main', view()).errors[0]!.hint).toBe("did you mean 'from'?");
  });
});

describe('every spelling iproute2 6.1 accepts means the same here (its matches() and its order)', () => {
  const rule = (t: string) => checkRule(t, view());
  const route = (t: string) => checkRoute(t, view());
  it("rule keywords by prefix, in iproute2's order", () => {
    for (const w of ['pref', 'prio', 'priority', 'preference', 'order', 'p', 'pr'])
      expect(rule(`from all ${w} 100 table main`).args, w).toEqual(['from', 'all', 'priority', '100', 'table', '254']);
    expect(rule('from all lookup 100').args).toEqual(['from', 'all', 'table', '100']);
    expect(rule('from all tab 100').args).toEqual(['from', 'all', 'table', '100']);
    // "t" is tun_id to iproute2
    expect(rule('from all t 100').errors[0]!.message).toBe("rule keyword 'tun_id' is not supported by nslab");
    expect(rule('dev eth1 table 100').args).toEqual(['iif', 'eth1', 'table', '100']);
    expect(rule('from all proto static table 100').args).toEqual(['from', 'all', 'protocol', 'static', 'table', '100']);
    expect(rule('from all ds 0x10 table 100').args).toEqual(['from', 'all', 'dsfield', '0x10', 'table', '100']);
    expect(rule('from all sup_pl 0 table main').args).toEqual([
      'from',
      'all',
      'suppress_prefixlength',
      '0',
      'table',
      '254',
    ]);
    expect(rule('from all type blackhole').args).toEqual(['from', 'all', 'blackhole']);
    expect(rule('from all priority 5 goto 10').args).toEqual(['from', 'all', 'priority', '5', 'goto', '10']);
  });
  it('route keywords by prefix; preference and priority are the metric, pref the IPv6 router preference', () => {
    for (const w of ['metric', 'priority', 'preference', 'prio', 'met', 'p'])
      expect(route(`10.9.0.0/16 via 10.0.0.1 ${w} 50`).args, w).toEqual([
        '10.9.0.0/16',
        'via',
        '10.0.0.1',
        'metric',
        '50',
      ]);
    expect(route('2001:db8:9::/48 via 2001:db8:1::1 pref high').args).toEqual([
      '2001:db8:9::/48',
      'via',
      '2001:db8:1::1',
      'pref',
      'high',
    ]);
    expect(route('10.9.0.0/16 via 10.0.0.1 pref 5').errors[0]!.message).toMatch(/'pref' takes low, medium or high/);
    expect(route('10.9.0.0/16 via 10.0.0.1 proto static tab gateway1').args).toEqual([
      '10.9.0.0/16',
      'via',
      '10.0.0.1',
      'protocol',
      'static',
      'table',
      '201',
    ]);
    expect(route('10.9.0.0/16 via 10.0.0.1 oif eth0').args).toEqual(['10.9.0.0/16', 'via', '10.0.0.1', 'dev', 'eth0']);
    expect(route('10.9.0.0/16 via 10.0.0.1 mtu lock 1400').args).toEqual([
      '10.9.0.0/16',
      'via',
      '10.0.0.1',
      'mtu',
      'lock',
      '1400',
    ]);
    expect(route('to unreachable 10.66.0.0/16').args).toEqual(['unreachable', '10.66.0.0/16']);
  });
});

describe('the address family of a rule or route', () => {
  const rule = (t: string) => checkRule(t, view());
  const route = (t: string) => checkRoute(t, view());
  it('comes from its addresses', () => {
    expect(rule('from 2001:db8:1::/64 table gateway1').family).toBe(6);
    expect(rule('from 192.168.1.0/24 table gateway1').family).toBe(4);
    expect(route('default via 2001:db8:1::1').family).toBe(6);
    expect(route('default via inet6 2001:db8:1::1').args).toEqual(['default', 'via', '2001:db8:1::1']);
  });
  it('or from -6 / -4 in front, as after `ip -6 rule add`; IPv4 when nothing says', () => {
    expect(rule('-6 iif eth1 table gateway1')).toMatchObject({
      family: 6,
      args: ['iif', 'eth1', 'table', '201'],
      errors: [],
    });
    expect(rule('iif eth1 table gateway1').family).toBe(4);
    expect(rule('-4 from 2001:db8:1::/64 table gateway1').errors[0]!.message).toMatch(
      /IPv6, but the line's -4 is IPv4/,
    );
    expect(route('-6 unreachable default').family).toBe(6);
  });
  it('IPv6 source-specific routes', () => {
    expect(route('default from 2001:db8:1::/64 via 2001:db8:1::1')).toMatchObject({
      family: 6,
      errors: [],
      args: ['default', 'from', '2001:db8:1::/64', 'via', '2001:db8:1::1'],
    });
    expect(route('default from 192.168.1.0/24 via 192.168.1.254').errors[0]!.message).toMatch(/IPv6 only/);
  });
});

describe('what the kernel would refuse of a route or rule is reported at validate', () => {
  const route = (t: string, v = view()) => checkRoute(t, v).errors.map((e) => e.message);
  it('the shape of a route', () => {
    expect(route('10.9.0.1/16 via 10.0.0.1')).toEqual(['destination 10.9.0.1/16 has host bits set']);
    expect(route('10.9.0.0/16')).toEqual(['the route has no way out']);
    expect(route('blackhole 10.9.0.0/16 via 10.0.0.1')).toEqual(['a blackhole route takes no gateway or device']);
    expect(route('local 10.9.0.0/16 via 10.0.0.1')).toContain('a local route takes no gateway');
    expect(route('10.9.0.0/16 via 10.0.0.1 scope link')).toEqual(['a route through a gateway cannot have scope link']);
    expect(route('default via 10.0.0.1 nexthop via 192.168.1.254')).toEqual([
      "a route has either 'via' or next hops, not both",
    ]);
    expect(route('default nexthop weight 1 nexthop via 10.0.0.1')).toEqual(["next hop 1 has neither 'via' nor 'dev'"]);
    expect(route('default nexthop via 10.0.0.1 dev eth0 via 192.168.1.254 dev eth1')).toEqual([
      "a next hop has two 'via'",
      "a next hop has two 'dev'",
    ]);
    expect(route('default via 10.0.0.1 onlink')).toEqual(["'onlink' needs a gateway and a device"]);
    // iproute2 reads nothing but next hops after the first 'nexthop', and 'weight' there only in full
    expect(route('default nexthop via 10.0.0.1 dev eth0 nexthop via 192.168.1.254 dev eth1 table gateway1')).toEqual([
      "'table' comes after the next hops",
    ]);
    expect(route('default table gateway1 nexthop via 10.0.0.1 dev eth0 nexthop via 192.168.1.254 dev eth1')).toEqual(
      [],
    );
    expect(route('default nexthop via 10.0.0.1 dev eth0 w 2')[0]).toMatch(
      /unknown nexthop keyword 'w'|comes after the next hops/,
    );
    expect(route('default via 127.0.0.2')).toEqual(['gateway 127.0.0.2 is on no connected subnet of this node']);
  });
  it('a route through an interface that is down at that point', () => {
    const v = { ...view(), down: new Set(['eth1']) };
    expect(route('10.9.0.0/16 dev eth1', v)).toEqual(['interface eth1 is down at this point']);
    expect(route('10.9.0.0/16 via 192.168.1.254', v)).toEqual([
      'gateway 192.168.1.254 is on the subnet of eth1, which is down at this point',
    ]);
  });
  it('values in range, and rules that jump forward', () => {
    expect(route('10.9.0.0/16 via 10.0.0.1 tos 0x13')).toEqual(["'tos 0x13' sets the ECN bits"]);
    expect(route('10.9.0.0/16 via 10.0.0.1 proto eth0')[0]).toMatch(/'protocol' takes a protocol name/);
    expect(checkRule('from all priority 100 goto 50', view()).errors[0]!.message).toBe(
      'goto 50 jumps backwards from priority 100',
    );
  });
  it('the key under which the kernel refuses a second route', () => {
    const a = checkRoute('default via 10.0.0.1', view());
    const b = checkRoute('default via 192.168.1.254', view());
    const c = checkRoute('default via 192.168.1.254 metric 10', view());
    expect(routeKey(a)).toBe(routeKey(b));
    expect(routeKey(a)).not.toBe(routeKey(c));
  });
});

describe('service commands are split into words, never given to a shell', () => {
  it('honours quotes and keeps shell characters literal', () => {
    expect(splitWords(`sh -c 'echo hi; exit 3' "a b" $HOME`)).toEqual(['sh', '-c', 'echo hi; exit 3', 'a b', '$HOME']);
  });
});

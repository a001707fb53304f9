// The why's reasoning (issue 19), pure: a packet walked through a node's nftables as `nft -j` and `nft -a` list it
// (iproute2/nftables 1.0.6 output, captured from a real namespace: test/fixtures/nft/why-ruleset.*), the marks it gets
// on the way (and its connection's), the NAT that rewrites it, the rule that drops it, and where nslab cannot know;
// the selectors `ip route get` is asked with; an exception checked by walking the packet again.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { selectorArgs } from '../../src/explain/kernel.js';
import { parseRuleset, ruleName, walk, withException, type NftPacket } from '../../src/explain/nft.js';
import { ruleRowOf, routeRowOf } from '../../src/explain/hints.js';

const rs = parseRuleset(
  readFileSync('test/fixtures/nft/why-ruleset.json', 'utf8'),
  readFileSync('test/fixtures/nft/why-ruleset.txt', 'utf8'),
);
const pkt = (p: Partial<NftPacket>): NftPacket => ({
  family: 4,
  src: '10.62.1.2',
  dst: '10.62.3.2',
  proto: 'icmp',
  icmpType: 8,
  tos: 0,
  iif: 'lan',
  oif: '',
  mark: 0,
  ctState: 'new',
  ctMark: 0,
  ...p,
});

describe('parseRuleset', () => {
  it("reads each chain's hook and each rule's words (without its counts), handle and counter", () => {
    expect(rs.chains.map((c) => `${c.family} ${c.table} ${c.name} ${c.hook ?? '-'}`)).toEqual([
      'inet mangle prerouting prerouting',
      'inet fw forward forward',
      'inet fw block -',
      'ip nat postrouting postrouting',
    ]);
    const drop = rs.chains[1]!.rules[0]!;
    expect([drop.handle, drop.text, drop.packets]).toEqual([3, 'ip daddr 10.62.3.5 counter drop', 0]);
    expect(ruleName(drop)).toBe('table inet fw chain forward: ip daddr 10.62.3.5 counter drop');
    expect(rs.chains[1]!.rules[1]!.packets).toBeUndefined();
  });
});

describe('walk: the marks a packet gets in prerouting', () => {
  it('meta mark set: the rule that matches it gives the mark; a packet it does not match keeps 0 (both families)', () => {
    const w = walk(rs, 'prerouting', pkt({ dst: '10.62.3.8' }));
    expect([w.verdict, w.packet.mark, w.steps.map((s) => [s.rule.handle, s.mark])]).toEqual(['accept', 1, [[4, 1]]]);
    const v6 = walk(rs, 'prerouting', pkt({ family: 6, src: '2001:db8:62:1::2', dst: '2001:db8:62:3::8' }));
    expect([v6.packet.mark, v6.steps.map((s) => s.rule.handle)]).toEqual([1, [5]]);
    const other = walk(rs, 'prerouting', pkt({ dst: '10.62.3.7' }));
    expect([other.verdict, other.packet.mark, other.steps]).toEqual(['accept', 0, []]);
    // the same address coming in on another interface: not marked
    expect(walk(rs, 'prerouting', pkt({ dst: '10.62.3.8', iif: 'mid' })).packet.mark).toBe(0);
  });

  it("ct mark: set when the connection's first packet comes in on wan2, restored into a reply's mark on mid", () => {
    const request = walk(rs, 'prerouting', pkt({ iif: 'wan2', src: '10.62.5.2', dst: '10.62.3.22' }));
    expect([request.packet.ctMark, request.packet.mark, request.steps.map((s) => [s.rule.handle, s.ctMark])]).toEqual([
      2,
      0,
      [[2, 2]],
    ]);
    const reply = walk(
      rs,
      'prerouting',
      pkt({ iif: 'mid', src: '10.62.3.22', dst: '10.62.5.2', ctState: 'established', ctMark: 2 }),
    );
    expect([reply.verdict, reply.packet.mark, reply.steps.map((s) => s.rule.handle)]).toEqual(['accept', 2, [3]]);
    // the twin: a connection that came in elsewhere has mark 0, and so has its reply
    expect(walk(rs, 'prerouting', pkt({ iif: 'mid', ctState: 'established', ctMark: 0 })).packet.mark).toBe(0);
  });

  it("where the connection's mark is not known, the mark is not: the rule that needs it is named, never guessed", () => {
    const w = walk(rs, 'prerouting', pkt({ iif: 'mid', ctState: 'established', ctMark: undefined }));
    expect(w.verdict).toBe('unknown');
    expect(w.packet.mark).toBeUndefined();
    expect([w.uncertain?.rule.handle, w.uncertain?.why]).toEqual([3, "its connection's mark"]);
  });

  it('a limit decides per packet by rate: a rule with one is uncertain, not taken as matching', () => {
    const w = walk(rs, 'prerouting', pkt({ dst: '10.62.3.9' }));
    expect(w.verdict).toBe('unknown');
    expect([w.uncertain?.rule.handle, w.uncertain?.why]).toEqual([6, 'a limit statement']);
    expect(w.steps).toEqual([]);
    expect(w.packet.mark).toBe(0);
  });
});

describe('walk: the rule that drops a packet, and an exception before it', () => {
  const fwd = (p: Partial<NftPacket>) => walk(rs, 'forward', pkt({ oif: 'mid', ...p }));
  it('the first rule that matches: by address, by port (from the capture), in a chain jumped to; else accepted', () => {
    const by = (w: ReturnType<typeof walk>) =>
      w.by && 'rule' in w.by ? `${w.by.rule.chain} ${w.by.rule.handle}` : '-';
    expect([fwd({ dst: '10.62.3.5' }).verdict, by(fwd({ dst: '10.62.3.5' }))]).toEqual(['drop', 'forward 3']);
    expect(by(fwd({ proto: 'udp', sport: 40000, dport: 9999 }))).toBe('forward 4');
    expect(fwd({ proto: 'udp', sport: 40000, dport: 9998 }).verdict).toBe('accept');
    expect(by(fwd({ src: '10.62.3.9', dst: '10.62.1.2' }))).toBe('block 6');
    expect(fwd({}).verdict).toBe('accept');
    // a udp port match on a packet whose ports nslab does not know: uncertain, and the rule that may drop it named
    const blind = fwd({ proto: 'udp' });
    expect([blind.verdict, blind.uncertain?.why, blind.mayDrop.map((d) => ('rule' in d ? d.rule.handle : 0))]).toEqual([
      'unknown',
      'its destination port',
      [4],
    ]);
  });

  it('an exception inserted before the rule lets the packet through, both ways; the command names the handle', () => {
    const w = fwd({ dst: '10.62.3.5' });
    const { rs: after, command } = withException(rs, w.by!, '10.62.1.2', '10.62.3.5', true);
    expect(command).toBe(
      "nft 'insert rule inet fw forward handle 3 ip saddr { 10.62.1.2, 10.62.3.5 } ip daddr { 10.62.1.2, 10.62.3.5 } accept'",
    );
    expect(walk(after, 'forward', pkt({ oif: 'mid', dst: '10.62.3.5' })).verdict).toBe('accept');
    expect(walk(after, 'forward', pkt({ oif: 'mid', src: '10.62.3.5', dst: '10.62.1.2' })).verdict).toBe('accept');
    // another source is still dropped
    expect(walk(after, 'forward', pkt({ oif: 'mid', src: '10.62.1.3', dst: '10.62.3.5' })).verdict).toBe('drop');
  });
});

describe('walk: NAT, for a connection’s first packet only', () => {
  const post = (p: Partial<NftPacket>) =>
    walk(rs, 'postrouting', pkt({ iif: 'dlan', oif: 'nat', dst: '10.61.5.2', ...p }));
  it('snat by the first rule that matches, else masquerade; an established packet meets no NAT rule', () => {
    const nat = (w: ReturnType<typeof walk>) => w.steps.map((s) => [s.rule.handle, s.nat?.kind, s.nat?.to]);
    expect(nat(post({ src: '10.61.7.2' }))).toEqual([[2, 'snat', '10.61.5.1']]);
    expect(nat(post({ src: '10.61.1.2' }))).toEqual([[3, 'masquerade', undefined]]);
    expect(nat(post({ src: '10.61.1.2', oif: 'up' }))).toEqual([]);
    expect(nat(post({ src: '10.61.1.2', ctState: 'established' }))).toEqual([]);
    // not known whether it is the first packet: uncertain, not claimed
    expect(post({ src: '10.61.1.2', ctState: undefined }).verdict).toBe('unknown');
  });
});

describe('the selectors `ip route get` is asked with', () => {
  it('mark, input interface, tos, protocol and ports, as iproute2 spells them', () => {
    expect(
      selectorArgs({
        to: '10.62.3.8',
        from: '10.62.1.2',
        iif: 'lan',
        mark: 1,
        tos: 0x10,
        ipproto: 6,
        sport: 40000,
        dport: 80,
      }),
    ).toEqual([
      '10.62.3.8',
      'from',
      '10.62.1.2',
      'iif',
      'lan',
      'mark',
      '0x1',
      'dsfield',
      '0x10',
      'ipproto',
      '6',
      'sport',
      '40000',
      'dport',
      '80',
    ]);
    // a locally sent packet: its socket's uid, no input interface; no mark where none is set
    expect(selectorArgs({ to: '2001:db8::1', uid: 0 })).toEqual(['2001:db8::1', 'uid', '0']);
  });

  // the lab's words as lab/iproute.ts spells them out (pref is priority, lookup is table)
  it("a hint's rules and routes read back as `ip -j` shows them, so that the fix can be checked before it is printed", () => {
    expect(ruleRowOf(['priority', '500', 'fwmark', '0x1', 'table', '100'], [])).toMatchObject({
      priority: 500,
      fwmark: '0x1',
      table: '100',
    });
    expect(ruleRowOf(['from', '10.0.0.0/8', 'table', '7'], [{ priority: 32766 }])).toMatchObject({
      priority: 32765,
      src: '10.0.0.0',
      srclen: 8,
    });
    expect(routeRowOf(['unreachable', '10.62.3.8', 'table', '100'])).toEqual({
      type: 'unreachable',
      dst: '10.62.3.8',
      table: '100',
    });
    expect(routeRowOf(['default', 'via', '10.62.5.2', 'dev', 'wan2', 'table', 'main'])).toEqual({
      dst: 'default',
      gateway: '10.62.5.2',
      dev: 'wan2',
    });
  });
});

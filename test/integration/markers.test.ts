// The capture's window markers on a hardened host (output policy drop, only
// ICMP may leave): probes through it are judged, each with its twin, and a
// marker is a frame on the node's lo that meets none of its netfilter hooks,
// where a datagram to loopback (as markers were once sent) is dropped.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { Lab } from '../../src/api/index.js';
import { Capture, MarkerSender } from '../../src/capture/tcpdump.js';
import { isRoot, json, sh } from './helpers.js';
import { fixtureTwins } from './twins.js';

const FIXTURE = 'test/fixtures/labs/hardened-output.yaml';

describe.skipIf(!isRoot)('twins through a node whose output policy is drop', () => {
  const t = fixtureTwins(FIXTURE);

  it("what h's firewall drops on its way out is not-sent at h, and the why names its output hook", () => {
    for (const name of [
      "pass: h's tcp is not sent",
      'dies: h connects to c',
      'dies: v6 h connects to c',
      "dies: h's udp reaches c",
    ])
      expect(t(name).traces, name).toEqual([
        expect.objectContaining({ direction: 'request', disposition: 'not-sent', at: 'h', hops: [] }),
      ]);
    expect(t('dies: h connects to c').why?.find((w) => w.node === 'h')?.cause).toMatch(
      /output hook .*table inet hardened chain output: policy drop/,
    );
  });
  it('what it lets out (ICMP) is delivered both ways', () => {
    for (const name of ['pass: c pings h', 'pass: v6 c pings h'])
      expect(
        t(name).traces!.map((x) => [x.direction, x.disposition]),
        name,
      ).toEqual([
        ['request', 'delivered'],
        ['reply', 'delivered'],
      ]);
  });
});

// counters on lo in every IP hook of h, ahead of its own rules, and at lo's ingress (where any frame on lo is seen)
const COUNTERS = `
table inet markers {
  counter prerouting {}
  counter input {}
  counter output {}
  counter postrouting {}
  chain prerouting { type filter hook prerouting priority -400; iifname "lo" counter name "prerouting"; }
  chain input { type filter hook input priority -400; iifname "lo" counter name "input"; }
  chain output { type filter hook output priority -400; oifname "lo" counter name "output"; }
  chain postrouting { type filter hook postrouting priority -400; oifname "lo" counter name "postrouting"; }
}
table netdev markers {
  counter ingress {}
  chain ingress { type filter hook ingress device "lo" priority -400; counter name "ingress"; }
}
`;

describe.skipIf(!isRoot)('a window marker', () => {
  it("is a frame on lo that no IP hook of the node sees, where a datagram to loopback meets h's output policy", async () => {
    await using lab = await Lab.up(FIXTURE);
    const ns = `nslab-${lab.instance}.h`;
    sh(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], COUNTERS);
    const counters = () =>
      Object.fromEntries(
        json<{ nftables: { counter?: { family: string; name: string; packets: number } }[] }>([
          'ip',
          'netns',
          'exec',
          ns,
          'nft',
          '-j',
          'list',
          'counters',
        ]).nftables.flatMap((e) => (e.counter ? [[`${e.counter.family} ${e.counter.name}`, e.counter.packets]] : [])),
      );
    const capture = await Capture.start('h', ns, () => true);
    const sender = new MarkerSender(ns);
    try {
      const from = capture.position;
      const tokens = ['nslab-end-t1', 'nslab-end-t2', 'nslab-end-t3'];
      for (const token of tokens) sender.send(token);
      const frames = await Promise.all(tokens.map((token) => capture.through(token)));
      expect(new Set(frames).size, 'each marker is a record of its own').toBe(3);
      expect(Math.min(...frames)).toBeGreaterThan(from);
      const to = Math.max(...frames);
      // markers are not the lab's traffic: a window's packets never hold them (h's eth0 may have chatted meanwhile:
      // IPv6 MLD)
      expect((await capture.window(from, to)).filter((p) => p.iface === 'lo')).toEqual([]);
      expect(counters()).toEqual({
        'inet prerouting': 0,
        'inet input': 0,
        'inet output': 0,
        'inet postrouting': 0,
        'netdev ingress': 3,
      });

      // the twin: a datagram to 127.0.0.1:9 (bash's /dev/udp, the old marker) meets the output hook and h's policy
      // drops it
      const udp = spawnSync(
        'nsenter',
        [`--net=/run/netns/${ns}`, '--', 'bash', '-c', 'printf nslab-end-udp >/dev/udp/127.0.0.1/9'],
        { encoding: 'utf8' },
      );
      expect(udp.stderr).toMatch(/Operation not permitted/);
      sender.send('nslab-end-t4');
      const after = await capture.through('nslab-end-t4');
      expect(
        (await capture.window(to, after)).filter((p) => p.iface === 'lo'),
        'the datagram was never captured',
      ).toEqual([]);
      expect(counters()).toMatchObject({ 'inet output': 1, 'inet postrouting': 0, 'netdev ingress': 4 });
    } finally {
      capture.stop();
      sender.stop();
    }
  }, 30_000);
});

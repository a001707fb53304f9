// Output parsers, on real output captured on a Debian 12 machine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { asymmetry, formatPath, pathOf, type Observation } from '../../src/capture/paths.js';
import { PcapReader, readPcap, type Marker } from '../../src/capture/pcap.js';
import { matches } from '../../src/probes/exec.js';
import { spreadChecks } from '../../src/probes/flows.js';
import { parsePing } from '../../src/probes/ping.js';
import { parseRouteGet } from '../../src/probes/route.js';
import { rateOf } from '../../src/probes/throughput.js';
import { negativeWait, parseRttMax } from '../../src/probes/wait.js';

describe('ping output', () => {
  it('reads transmitted and received', () => {
    expect(
      parsePing(
        '--- 192.168.1.220 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time 201ms\n',
      ),
    ).toEqual({ transmitted: 2, received: 2 });
    expect(parsePing('1 packets transmitted, 0 received, +1 errors, 100% packet loss, time 0ms')).toEqual({
      transmitted: 1,
      received: 0,
    });
    expect(parsePing('ping: connect: Network is unreachable')).toBeUndefined();
  });
});

describe('ip -j route get', () => {
  it('reports the table as a number, and main when absent', () => {
    expect(
      parseRouteGet(
        '[{"dst":"10.9.1.1","from":"10.0.0.2","gateway":"10.0.0.1","dev":"up","table":"201","flags":[],"uid":0,"cache":[]}]',
      ),
    ).toMatchObject({ dev: 'up', gateway: '10.0.0.1', table: '201' });
    expect(
      parseRouteGet('[{"dst":"10.0.0.5","dev":"up","prefsrc":"10.0.0.2","flags":[],"uid":0,"cache":[]}]'),
    ).toMatchObject({ prefsrc: '10.0.0.2', table: '254' });
  });
});

describe('throughput', () => {
  it('is the bits the receiver counted over the time between its first and last byte', () => {
    expect(rateOf(2_000_000, 1)).toBe(16_000_000);
    expect(rateOf(0, 0)).toBeUndefined(); // nothing arrived: no measurement, never 0mbit passing a max
    expect(rateOf(1200, 0)).toBeUndefined(); // one datagram: no interval to measure over
  });
});

describe('the wait before a negative verdict', () => {
  it('reads the slowest round trip of ping', () => {
    expect(parseRttMax('rtt min/avg/max/mdev = 0.063/0.099/0.170/0.050 ms')).toBe(0.17);
    expect(parseRttMax('2 packets transmitted, 0 received')).toBeUndefined();
  });
  it('is 100 ms and 10 round trips on an unshaped lab', () => {
    expect(negativeWait([{}, {}], 0.2, 'ping').ms).toBe(102);
    expect(negativeWait([], 30, 'udp').ms).toBe(400); // a busy machine waits longer
  });
  it("adds each link's delay and tbf queue bound, both ways, whether or not the packet is expected there", () => {
    const w = negativeWait([{ delay: '40ms' }, { rate: '8mbit' }, {}], 0, 'ping');
    // 100 + 2 x 40 + 2 x (50 + 1514 x 8 / 8e6 s = 1.514 ms)
    expect(w.ms).toBe(Math.ceil(100 + 80 + 2 * (50 + 1.514)));
    expect(w.why).toMatch(/waited \d+ ms \(100 ms \+ 10 x 0\.00 ms measured \+ \d+ ms of link shaping\)/);
  });
  it('covers two SYN retransmissions for tcp over lossy links, and nothing more for ping', () => {
    expect(negativeWait([{ loss: '5%' }], 0, 'tcp').ms).toBe(3100);
    expect(negativeWait([{ loss: '5%' }], 0, 'ping').ms).toBe(100);
    expect(negativeWait([{ loss: '0%' }], 0, 'tcp').ms).toBe(100);
  });
});

describe('pcap from tcpdump -i any (Linux cooked v2)', () => {
  const packets = readPcap(readFileSync('test/fixtures/pcap/server-ping-pattern.pcap'));
  it('decodes interface index, direction, addresses and ICMP fields', () => {
    const echo = packets.filter((p) => p.proto === 'icmp' && (p.icmpType === 8 || p.icmpType === 0));
    expect(echo.map((p) => [p.ifindex, p.dir, p.src, p.dst, p.icmpType, p.icmpSeq])).toEqual([
      [3, 'in', '192.168.2.17', '192.168.1.220', 8, 1],
      [2, 'out', '192.168.1.220', '192.168.2.17', 0, 1],
      [3, 'in', '192.168.2.17', '192.168.1.220', 8, 2],
      [2, 'out', '192.168.1.220', '192.168.2.17', 0, 2],
    ]);
    expect(echo.every((p) => p.payload.includes(Buffer.from('a1b2c3d4e5f6', 'hex')))).toBe(true);
  });
  it('numbers frames as tcpdump -r does, counting every record', () => {
    const echo = packets.filter((p) => p.proto === 'icmp' && (p.icmpType === 8 || p.icmpType === 0));
    expect(echo.map((p) => p.frame)).toEqual([7, 10, 12, 13]); // `tcpdump -r FILE | grep -n 'ICMP echo'`;
  });
  it('decodes IPv6 with compressed addresses', () => {
    expect(packets.find((p) => p.family === 6 && p.icmpType === 135)?.dst).toBe('ff02::1:ffe3:b060');
  });
  it('saves a window of a stream as a pcap of its own, byte for byte, numbered from 1, whatever the chunks', () => {
    const bytes = readFileSync('test/fixtures/pcap/server-ping-pattern.pcap');
    const r = new PcapReader();
    for (let i = 0; i < bytes.length; i += 37) r.push(bytes.subarray(i, i + 37)); // chunks that split records
    expect(r.bytes()).toEqual(bytes);
    const window = readPcap(r.bytes(7, 10)); // records 7..10: the first echo request and its reply
    const inFile = packets.filter((p) => p.frame >= 7 && p.frame <= 10);
    expect(window.map((p) => p.frame)).toEqual(inFile.map((p) => p.frame - 6));
    expect(window.map((p) => [p.icmpType, p.icmpSeq])).toEqual(inFile.map((p) => [p.icmpType, p.icmpSeq]));
    expect(window[0]?.icmpType).toBe(8);
    r.prune(7); // records 1..6 forgotten: a window before them cannot be saved, one after still can
    expect(() => r.bytes(6, 10)).toThrow(/pruned/);
    expect(r.bytes(7, 10)).toEqual(readPcapBytesFor(bytes, 7, 10));
  });
});

describe("nslab's window markers in a capture (a frame of ethertype 0x88b5 on lo)", () => {
  // a real capture (tcpdump -i any, nslab's filter) in a node: a ping answered, then one marker sent on lo
  const bytes = readFileSync('test/fixtures/pcap/marker-after-ping.pcap');
  it('are told apart, with their record number and token, and never returned as packets', () => {
    const markers: Marker[] = [];
    const packets = new PcapReader((m) => markers.push(m)).push(bytes);
    expect(markers).toEqual([{ frame: 7, token: 'nslab-end-0123456789abcdef' }]);
    expect(packets.map((p) => p.frame)).toEqual([1, 2, 3, 4, 5, 6]); // frame 7 is the marker: counted, not a packet
    expect(packets.filter((p) => p.proto === 'icmp' && p.family === 4).map((p) => [p.dir, p.icmpType])).toEqual([
      ['in', 8],
      ['out', 0],
    ]);
    expect(readPcap(bytes)).toEqual(packets);
  });
});

/** The bytes of records from..to of a pcap file, with its header (walked independently of PcapReader). */
function readPcapBytesFor(file: Buffer, from: number, to: number): Buffer {
  const parts = [file.subarray(0, 24)];
  let off = 24;
  for (let n = 1; off < file.length && n <= to; n++) {
    const len = 16 + file.readUInt32LE(off + 8);
    if (n >= from) parts.push(file.subarray(off, off + len));
    off += len;
  }
  return Buffer.concat(parts);
}

describe('paths', () => {
  const o = (node: string, iface: string, dir: 'in' | 'out', ts: number): Observation => ({
    node,
    iface,
    dir,
    ts,
    src: 'a',
    dst: 'b',
  });
  const peers = new Map([
    ['c:eth0', { node: 'r', iface: 'lan' }],
    ['r:lan', { node: 'c', iface: 'eth0' }],
    ['r:n1', { node: 's', iface: 'eth1' }],
    ['s:eth1', { node: 'r', iface: 'n1' }],
    ['r:n0', { node: 's', iface: 'eth0' }],
    ['s:eth0', { node: 'r', iface: 'n0' }],
  ]);
  it('follows links even when the two ends of a veth carry the same timestamp, or the peer an earlier one', () => {
    const hops = pathOf(
      [o('r', 'lan', 'in', 1), o('c', 'eth0', 'out', 1.000001), o('r', 'n1', 'out', 2), o('s', 'eth1', 'in', 2)],
      peers,
    );
    expect(formatPath(hops)).toBe('c>eth0 -> lan>r>n1 -> eth1>s');
  });
  it('names the hop where a reply is not the reverse of its request', () => {
    const q = pathOf(
      [o('c', 'eth0', 'out', 1), o('r', 'lan', 'in', 2), o('r', 'n1', 'out', 3), o('s', 'eth1', 'in', 4)],
      peers,
    );
    const r = pathOf(
      [o('s', 'eth0', 'out', 5), o('r', 'n0', 'in', 6), o('r', 'lan', 'out', 7), o('c', 'eth0', 'in', 8)],
      peers,
    );
    expect(asymmetry(q, r)).toBe('at s: the request came in on eth1, the reply left through eth0');
    expect(
      asymmetry(
        q,
        [...q].reverse().map((h) => ({ ...h, in: h.out, out: h.in })),
      ),
    ).toBeUndefined();
  });
});

describe('judging helpers', () => {
  it('exec output: /regex/ or a plain substring', () => {
    expect(matches('eth1 UP 10.3.0.2/24', '/10\\.3\\.0\\.2\\/24/')).toBe(true);
    expect(matches('eth1 UP 10.3.0.2/24', '10.2.0.2')).toBe(false);
  });
  it('spread within a tolerance of the weights', () => {
    const per = new Map([
      ['r:n0', 18],
      ['r:n1', 22],
    ]);
    expect(spreadChecks(per, 40, { 'r:n0': 1, 'r:n1': 1 }, 0.1).every((c) => c.ok)).toBe(true);
    expect(spreadChecks(per, 40, { 'r:n0': 3, 'r:n1': 1 }, 0.1).every((c) => c.ok)).toBe(false);
  });
});

// A pure reader of pcap streams as `tcpdump -i any -w -` writes them (Linux
// cooked v2, LINKTYPE_LINUX_SLL2 = 276): each packet with its interface index
// and direction, decoded down to the ICMP / TCP / UDP fields nslab identifies
// probes by; and nslab's own window markers (tcpdump.ts), which are kept
// apart from the packets: they are never lab traffic.

export const LINKTYPE_SLL2 = 276;

/**
 * The ethertype of nslab's window markers (IEEE 802 local experimental 1): frames nslab sends on a node's lo, nothing
 * else in a lab uses it.
 */
export const MARKER_ETHERTYPE = 0x88b5;

/** A marker frame seen in the stream: its record number and the token it carries. */
export interface Marker {
  frame: number;
  token: string;
}

export interface Packet {
  /** Seconds since the epoch, with sub-microsecond fraction. */
  ts: number;
  /** 1-based number of the record in its capture, as Wireshark and tcpdump -r number frames. */
  frame: number;
  ifindex: number;
  /** out: sent by this node; in: received (unicast, broadcast or multicast). */
  dir: 'in' | 'out';
  family: 4 | 6;
  src: string;
  dst: string;
  proto: 'icmp' | 'tcp' | 'udp' | 'other';
  icmpType?: number;
  icmpId?: number;
  icmpSeq?: number;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  /** TCP sequence and acknowledgement numbers: NAT keeps them, so they follow a connection across it. */
  tcpSeq?: number;
  tcpAck?: number;
  /** IPv4 tos / IPv6 traffic class byte (dscp and ecn), which a rule's `tos`/`dsfield` selector matches */
  tos?: number;
  payload: Buffer;
}

/** Incremental reader: feed it chunks, it returns the complete packets so far. */
export class PcapReader {
  private buf: Buffer = Buffer.alloc(0);
  private le: boolean | undefined;
  private nano = false;
  private frames = 0;
  linktype = -1;
  /** The file header, and every record kept (header and data), to save a window of the stream as a pcap file. */
  private header = Buffer.alloc(0);
  private records: Buffer[] = [];
  /** How many records were dropped from the front (prune): records[i] is record number base + i + 1. */
  private base = 0;

  /** `onMarker`: told of every marker frame, which push does not return (it is not a packet of the lab). */
  constructor(private onMarker?: (m: Marker) => void) {}

  push(chunk: Buffer): Packet[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: Packet[] = [];
    if (this.le === undefined) {
      if (this.buf.length < 24) return out;
      const magic = this.buf.readUInt32LE(0);
      if (magic === 0xa1b2c3d4 || magic === 0xa1b23c4d) this.le = true;
      else if (this.buf.readUInt32BE(0) === 0xa1b2c3d4 || this.buf.readUInt32BE(0) === 0xa1b23c4d) this.le = false;
      else throw new Error('not a pcap stream');
      const m = this.le ? magic : this.buf.readUInt32BE(0);
      this.nano = m === 0xa1b23c4d;
      this.linktype = this.u32(20);
      this.header = Buffer.from(this.buf.subarray(0, 24));
      this.buf = this.buf.subarray(24);
    }
    while (this.buf.length >= 16) {
      const incl = this.u32(8);
      if (this.buf.length < 16 + incl) break;
      const sec = this.u32(0);
      const frac = this.u32(4);
      const data = this.buf.subarray(16, 16 + incl);
      this.records.push(Buffer.from(this.buf.subarray(0, 16 + incl))); // a copy: the chunk it came in is not kept
      this.buf = this.buf.subarray(16 + incl);
      const frame = ++this.frames; // every record counts, decoded or not, so numbers match the saved file
      if (this.linktype !== LINKTYPE_SLL2) continue;
      const p = decodeSll2(data);
      if (p) out.push({ ...p, frame, ts: sec + frac / (this.nano ? 1e9 : 1e6) });
      else if (data.length >= 20 && data.readUInt16BE(0) === MARKER_ETHERTYPE)
        this.onMarker?.({ frame, token: data.subarray(20).toString('latin1') });
    }
    return out;
  }

  /** How many records the stream has had so far. */
  get count(): number {
    return this.frames;
  }

  /** Forgets the records before number `before` (1-based): nothing will save them again. */
  prune(before: number): void {
    const n = Math.min(before - 1 - this.base, this.records.length);
    if (n > 0) {
      this.records.splice(0, n);
      this.base += n;
    }
  }

  /**
   * The stream as a pcap file: the header and records from..to (1-based, inclusive), the bytes tcpdump produced,
   * unchanged.
   */
  bytes(from = this.base + 1, to = this.frames): Buffer {
    if (from <= this.base) throw new Error(`pcap records before ${this.base + 1} were pruned`);
    return Buffer.concat([this.header, ...this.records.slice(from - 1 - this.base, to - this.base)]);
  }

  private u32(off: number): number {
    return this.le ? this.buf.readUInt32LE(off) : this.buf.readUInt32BE(off);
  }
}

/** Parses a whole pcap file's bytes. */
export function readPcap(bytes: Buffer): Packet[] {
  return new PcapReader().push(bytes);
}

function decodeSll2(d: Buffer): Omit<Packet, 'ts' | 'frame'> | undefined {
  if (d.length < 20) return undefined;
  const ethertype = d.readUInt16BE(0);
  const ifindex = d.readUInt32BE(4);
  const pkttype = d.readUInt8(10); // 0 host, 1 broadcast, 2 multicast, 3 other host, 4 outgoing
  const ip = d.subarray(20);
  const dir = pkttype === 4 ? 'out' : 'in';
  if (ethertype === 0x0800) return decodeIPv4(ip, ifindex, dir);
  if (ethertype === 0x86dd) return decodeIPv6(ip, ifindex, dir);
  return undefined;
}

function ipv4(b: Buffer, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function ipv6(b: Buffer, off: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(off + 2 * i).toString(16));
  // compress the longest run of zero groups, as ip and tcpdump print addresses
  let best = -1,
    bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) [best, bestLen] = [i, j - i];
    i = j;
  }
  if (best < 0) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

function decodeIPv4(b: Buffer, ifindex: number, dir: 'in' | 'out'): Omit<Packet, 'ts' | 'frame'> | undefined {
  if (b.length < 20 || b[0]! >> 4 !== 4) return undefined;
  const ihl = (b[0]! & 0xf) * 4;
  const proto = b[9]!;
  const base = { ifindex, dir, family: 4 as const, src: ipv4(b, 12), dst: ipv4(b, 16), tos: b[1]! };
  const fragOffset = b.readUInt16BE(6) & 0x1fff;
  return { ...base, ...transport(proto === 1 ? 'icmp' : proto, fragOffset ? Buffer.alloc(0) : b.subarray(ihl)) };
}

function decodeIPv6(b: Buffer, ifindex: number, dir: 'in' | 'out'): Omit<Packet, 'ts' | 'frame'> | undefined {
  if (b.length < 40 || b[0]! >> 4 !== 6) return undefined;
  let next = b[6]!;
  let off = 40;
  // skip hop-by-hop, routing and destination options headers
  while ((next === 0 || next === 43 || next === 60) && b.length >= off + 8) {
    next = b[off]!;
    off += (b[off + 1]! + 1) * 8;
  }
  const tos = ((b[0]! & 0xf) << 4) | (b[1]! >> 4);
  const base = { ifindex, dir, family: 6 as const, src: ipv6(b, 8), dst: ipv6(b, 24), tos };
  return { ...base, ...transport(next === 58 ? 'icmp' : next, b.subarray(off)) };
}

function transport(
  proto: number | 'icmp',
  t: Buffer,
): Pick<
  Packet,
  'proto' | 'icmpType' | 'icmpId' | 'icmpSeq' | 'sport' | 'dport' | 'tcpFlags' | 'tcpSeq' | 'tcpAck' | 'payload'
> {
  if (proto === 'icmp' && t.length >= 8)
    return {
      proto: 'icmp',
      icmpType: t[0]!,
      icmpId: t.readUInt16BE(4),
      icmpSeq: t.readUInt16BE(6),
      payload: t.subarray(8),
    };
  if (proto === 6 && t.length >= 20) {
    const hl = (t[12]! >> 4) * 4;
    return {
      proto: 'tcp',
      sport: t.readUInt16BE(0),
      dport: t.readUInt16BE(2),
      tcpFlags: t[13]!,
      tcpSeq: t.readUInt32BE(4),
      tcpAck: t.readUInt32BE(8),
      payload: t.subarray(hl),
    };
  }
  if (proto === 17 && t.length >= 8)
    return { proto: 'udp', sport: t.readUInt16BE(0), dport: t.readUInt16BE(2), payload: t.subarray(8) };
  return { proto: 'other', payload: Buffer.alloc(0) };
}

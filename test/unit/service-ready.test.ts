// The ports of /proc/net tables, as service-ready.ts reads them (real lines of this kernel).
import { describe, expect, it } from 'vitest';
import { portsOf } from '../../src/probes/service-ready.js';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0208080A:1BBC 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 123 1 0000000000000000 100 0 0 10 0
   1: 0208080A:1BBD 0108080A:C350 01 00000000:00000000 00:00000000 00000000     0        0 124 1 0000000000000000 20 4 30 10 -1`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  12: 00000000000000000000000000000000:1BBD 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 125 2 0000000000000000 0`;

describe('service-ready: bound ports from /proc/net', () => {
  it('tcp: listening sockets only (7100), not an established one (7101)', () => {
    expect(portsOf(TCP, 'tcp')).toEqual([7100]);
  });
  it('udp: every bound socket, IPv6 too', () => {
    expect(portsOf(UDP6, 'udp')).toEqual([7101]);
    expect(portsOf(UDP6.split('\n')[0]!, 'udp')).toEqual([]);
  });
});

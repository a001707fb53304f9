// A lab defined in TypeScript, brought up inside one test with `await using`:
// down at the end of the block, whether the test passes or throws.
import { expect, it } from 'vitest';
import { defineLab, Lab } from 'nslab/vitest';

const twoUplinks = defineLab({
  name: 'two-uplinks',
  nodes: {
    client: {
      interfaces: { a: '10.62.1.2/24', b: '10.62.2.2/24' },
      sysctl: { 'net.ipv4.fib_multipath_hash_policy': 1 },
      routes: ['default nexthop via 10.62.1.1 nexthop via 10.62.2.1'],
    },
    r1: { forwarding: true, interfaces: { c: '10.62.1.1/24', s: '10.62.3.1/24' } },
    r2: { forwarding: true, interfaces: { c: '10.62.2.1/24', s: '10.62.3.2/24' } },
    lan: { kind: 'bridge' },
    server: { interfaces: { eth0: '10.62.3.10/24' }, routes: ['default via 10.62.3.1', '10.62.2.0/24 via 10.62.3.2'] },
  },
  links: ['client:a r1:c', 'client:b r2:c', 'r1:s lan:p1', 'r2:s lan:p2', 'server:eth0 lan:p3'],
});

it('spreads flows over both uplinks', async () => {
  await using lab = await Lab.up(twoUplinks);
  const flows = await lab.flows({ from: 'client', to: 'server', count: 64 });
  await expect(flows).toSpread({ 'client:a': 1, 'client:b': 1 }, 0.25);
});

it('connects over tcp, the reply taking the request\'s way back', async () => {
  await using lab = await Lab.up(twoUplinks);
  const tcp = await lab.tcp({ from: 'server', to: 'client:b' });
  await expect(tcp).toMeet({ connected: true });
  await expect(tcp).toFollowPath(['server', 'lan', 'r2', 'client:b']);
  await expect(tcp).toBeSymmetric();
});

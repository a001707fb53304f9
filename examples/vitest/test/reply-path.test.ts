// A bundled lab, up for this describe block: a server with two NICs whose
// replies leave by the wrong one until policy routing fixes it.
import { describe, expect, it } from 'vitest';
import { bundledLab, useLab } from 'nslab/vitest';

describe('a server with two NICs', () => {
  const lab = useLab(bundledLab('dual-nic-reply-path'));

  it('answers pings to eth1 through eth0 without policy routing', async () => {
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    await expect(ping).toBeReachable();
    await expect(ping).toFollowPath(['pc2', 'router', 'sw1', 'server:eth1']);
    await expect(ping).toHaveSource('192.168.2.17');
    await expect(ping).toReplyVia('server:eth0');
    await expect(ping).not.toBeSymmetric();
  });

  it('answers on eth1 once eth1 has a routing table', async () => {
    await lab.applyStage('eth0 down, without policy routing');
    await lab.applyStage('with a routing table for eth1');
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    await expect(ping).toReplyVia('server:eth1');
    await expect(ping).toBeSymmetric();
    await expect(ping).not.toBeSeenAt('server:eth0');
    const route = await lab.route({ node: 'server', to: '192.168.2.17', from: '192.168.1.220' });
    await expect(route).toUseTable('gateway1');
  });

  it('runs commands in a node, execa style', async () => {
    const { stdout, exitCode } = await lab.node('server').$`ip -j rule show from ${'192.168.1.220'}`;
    expect(exitCode).toBe(0);
    expect(JSON.parse(stdout)).toContainEqual(expect.objectContaining({ src: '192.168.1.220', table: 'gateway1' }));
  });
});

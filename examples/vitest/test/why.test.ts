// A failed claim says why, as `nslab test` does: the kernel's decision at the
// hop where the reply went astray, and a fix nslab has proven (here, the lines
// of a later stage). lab.explain() is `nslab explain`, on demand.
import { describe, expect, it } from 'vitest';
import { bundledLab, useLab } from 'nslab/vitest';

describe('why the reply leaves by the wrong NIC', () => {
  const lab = useLab(bundledLab('dual-nic-reply-path'));

  it('says why in the failure, and the fix', async () => {
    const ping = await lab.ping({ from: 'pc2', to: 'server:eth1' });
    // the failure of `await expect(ping).toReplyVia('server:eth1')`, caught to show it
    const failure = await expect(ping).toReplyVia('server:eth1').catch((e: Error) => e.message);
    expect(failure).toContain(
      '\n  why: server: reply from 192.168.1.220 to 192.168.2.17 matched rule 32766 (main) → default via 10.0.0.1 dev eth0, not eth1 where the request came in; no rule selects from 192.168.1.220\n' +
        "  hint: on server: ip rule add from 192.168.1.220 table gateway1; ip route replace default via 192.168.1.254 table gateway1 (as stage 'with a routing table for eth1' applies)\n",
    );
  });

  it('explains a path on demand, as nslab explain', async () => {
    const x = await lab.explain({ from: 'pc2', to: 'server:eth1' });
    expect(x.ok).toBe(false);
    expect(x.traces.map((t) => t.disposition)).toEqual(['delivered', 'asymmetric']);
    expect(x.why[0]?.hint).toMatch(/as stage 'with a routing table for eth1' applies\)$/);
    expect(x.text).toMatch(/^ {2}why: server: reply from 192\.168\.1\.220/m);
    // its twin: the request's own subnet is answered the way it came
    expect((await lab.explain({ from: 'pc1', to: 'server:eth1' })).ok).toBe(true);
  });
});

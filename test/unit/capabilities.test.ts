// The pure parts of what `doctor` and rootless runs detect, on real samples
// (mountinfo lines from this machine and from a Docker container's defaults).
// The real detections are proved in test/integration/doctor-rootless.test.ts.
import { describe, expect, it } from 'vitest';
import {
  effectiveCaps,
  isPrivileged,
  mountOf,
  netnsPropagation,
  parseMountinfo,
  procSysReadOnly,
} from '../../src/engine/capabilities.js';
import { isInitialUserNamespace, usernsSettings } from '../../src/engine/rootless.js';

const HOST = `27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
22 27 0:21 / /proc rw,relatime - proc proc rw
42 27 254:0 /run/netns /run/netns rw,relatime shared:1 - ext4 /dev/vda rw`;
// docker run without --privileged: /proc/sys bound read-only over /proc
const CONTAINER = `600 500 0:50 / / rw,relatime master:300 - overlay overlay rw
601 600 0:52 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
620 601 0:52 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw
640 600 0:60 / /run/netns rw,relatime - tmpfs tmpfs rw`;

describe('mountinfo', () => {
  it('parses mount points (with escapes), options and optional fields', () => {
    const m = parseMountinfo(`${HOST}\n30 27 0:5 / /mnt/with\\040space ro - tmpfs x rw`);
    expect(m.map((x) => x.point)).toEqual(['/', '/proc', '/run/netns', '/mnt/with space']);
    expect(m[2]!.optional).toEqual(['shared:1']);
    expect(m[3]!.options).toContain('ro');
  });

  it('finds the mount a path lives on: the deepest, the last stacked', () => {
    const m = parseMountinfo(CONTAINER);
    expect(mountOf('/proc/sys/net/ipv4/ip_forward', m)?.point).toBe('/proc/sys');
    expect(mountOf('/proc/self/status', m)?.point).toBe('/proc');
    expect(mountOf('/procfoo', m)?.point).toBe('/');
  });

  it('a read-only /proc/sys is seen; its twin, a host, is not', () => {
    expect(procSysReadOnly(parseMountinfo(CONTAINER))).toBe(true);
    expect(procSysReadOnly(parseMountinfo(HOST))).toBe(false);
  });

  it('/run/netns: shared, private, or not a mount point yet', () => {
    expect(netnsPropagation(parseMountinfo(HOST))).toBe('shared');
    expect(netnsPropagation(parseMountinfo(CONTAINER))).toBe('private');
    expect(netnsPropagation(parseMountinfo(HOST.split('\n').slice(0, 2).join('\n')))).toBe('absent');
  });
});

describe('privilege', () => {
  it('needs CAP_NET_ADMIN and CAP_SYS_ADMIN', () => {
    expect(isPrivileged(effectiveCaps('CapEff:\t000001ffffffffff\n'))).toBe(true);
    expect(isPrivileged(effectiveCaps('CapEff:\t0000000000000000\n'))).toBe(false);
    // docker's default set: no NET_ADMIN, no SYS_ADMIN
    expect(isPrivileged(effectiveCaps('CapEff:\t00000000a80425fb\n'))).toBe(false);
    expect(isPrivileged((1n << 12n) | (1n << 21n))).toBe(true);
    expect(isPrivileged(1n << 12n)).toBe(false);
  });

  it("the machine's own user namespace maps every uid to itself", () => {
    expect(isInitialUserNamespace('         0          0 4294967295\n')).toBe(true);
    expect(isInitialUserNamespace('     65534      65534          1\n')).toBe(false);
  });

  it('names each kernel setting that forbids unprivileged user namespaces, with its fix', () => {
    const settings = (v: Record<string, number>) => usernsSettings((f) => v[f.split('/').pop()!]);
    expect(settings({ max_user_namespaces: 15000 })).toEqual([]);
    expect(settings({ max_user_namespaces: 0 })[0]!.fix).toMatch(/sysctl -w user\.max_user_namespaces=/);
    expect(settings({ unprivileged_userns_clone: 0 })[0]!.fix).toMatch(/kernel\.unprivileged_userns_clone=1/);
    expect(settings({ apparmor_restrict_unprivileged_userns: 1 })[0]!.reason).toMatch(/AppArmor/);
    expect(settings({ apparmor_restrict_unprivileged_userns: 0, unprivileged_userns_clone: 1 })).toEqual([]);
  });
});

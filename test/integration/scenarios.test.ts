// The field scenarios (labs/): `nslab test labs/` passes, and every bug stage
// discriminates: brought up at its fixed stage, the bug stage's tests fail under
// `nslab check`, and the fixed stage's tests fail against the unfixed lab. A lab
// whose assertions would pass either way would be a defect.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, isRoot, namespaces, tempDir, uid } from './helpers.js';

/** [lab, stage brought up, stage whose tests are checked]: each check must fail. */
const MUST_FAIL: [string, string, string][] = [
  ['dual-nic-reply-path', 'with a routing table for eth1', 'without policy routing'],
  ['dual-nic-reply-path', 'without policy routing', 'with a routing table for eth1'],
  ['dual-nic-reply-path', 'eth0 down, with policy routing', 'eth0 down, without policy routing'],
  ['dual-nic-reply-path', 'eth0 down, without policy routing', 'eth0 down, with policy routing'],
  ['vip-source-example1', 'with the source address setting', 'before the source address setting'],
  ['vip-source-example1', 'before the source address setting', 'with the source address setting'],
  ['vip-source-example2', 'with the source address setting', 'before the source address setting'],
  ['vip-source-example2', 'before the source address setting', 'with the source address setting'],
  ['server-initiated-source', "route to the client via enetA's router", 'default route through enetZ'],
  ['server-initiated-source', 'default route through enetZ', "route to the client via enetA's router"],
  ['two-isp-nat-gateway', 'replies per line', 'one default route'],
  ['two-isp-nat-gateway', 'one default route', 'replies per line'],
  ['two-isp-nat-gateway', 'replies per line', 'both lines for the LAN'],
  ['split-access-load-balance', 'split access', 'one default route'],
  ['split-access-load-balance', 'one default route', 'split access'],
  ['split-access-load-balance', "split access with the reader's routes", 'split access'],
  ['split-access-load-balance', 'split access', "split access with the reader's routes"],
  ['split-access-load-balance', "split access with the reader's routes", 'load balancing'],
  ['split-access-load-balance', 'load balancing', 'weighted load balancing'],
  ['dual-nic-reply-path-v6', 'with a source-specific route', 'without policy routing'],
  ['dual-nic-reply-path-v6', 'without policy routing', 'with a source-specific route'],
  ['dual-nic-reply-path-v6', 'with a routing table for eth1', 'without policy routing'],
  ['dual-nic-reply-path-v6', 'without policy routing', 'with a routing table for eth1'],
];

function cliAsync(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string }> {
  return new Promise((res) => {
    const c = spawn('node', [CLI, ...args], { env: { ...process.env, ...env, FORCE_COLOR: '0' } });
    let stdout = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stdout += d));
    c.on('close', (code) => res({ code, stdout }));
  });
}

describe.skipIf(!isRoot)('field scenarios', () => {
  const env = {};

  it('nslab test labs/ passes, two labs at a time, with a JUnit report', async () => {
    const artifacts = tempDir();
    const r = await cliAsync(['test', 'labs/', '--jobs', '2', '--reporter', 'junit', '--artifacts', artifacts], env);
    expect(r.code, r.stdout).toBe(0);
    const junit = readFileSync(join(artifacts, 'junit.xml'), 'utf8');
    expect(junit).toMatch(/<testsuites name="nslab" tests="\d+" failures="0" skipped="0" errors="0">/);
    expect(junit).toMatch(/<testsuite name="split-access-load-balance › weighted load balancing"/);
    expect(JSON.parse(readFileSync(join(artifacts, 'report.json'), 'utf8')).totals.failed).toBe(0);
  }, 240_000);

  for (const [lab, upAt, check] of MUST_FAIL)
    it(`${lab}: the tests of '${check}' fail against the lab at '${upAt}'`, async () => {
      const id = uid();
      const instance = `${lab}.${id}`;
      const up = await cliAsync(['up', `labs/${lab}.yaml`, '--stage', upAt, '--instance', id], env);
      expect(up.code, up.stdout).toBe(0);
      try {
        const r = await cliAsync(['check', instance, '--stage', check], env);
        expect(r.code, r.stdout).toBe(1);
        expect(r.stdout).toMatch(/✗/);
        // failed on an assertion, not an error
        expect(r.stdout).not.toMatch(/listener .* did not start|tcpdump in node/);
      } finally {
        expect((await cliAsync(['down', instance], env)).code).toBe(0);
        expect(namespaces(`nslab-${instance}.`)).toEqual([]);
      }
    }, 60_000);
});

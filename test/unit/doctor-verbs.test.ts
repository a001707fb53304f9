import { describe, expect, it } from 'vitest';
import { verbVerdicts } from '../../src/cli/doctor-verbs.js';

const all = () => true;
const byVerb = (v: ReturnType<typeof verbVerdicts>) => Object.fromEntries(v.map((x) => [x.verb, x]));

describe('doctor, per verb without root (issue 21)', () => {
  it('with user namespaces and every program, every verb runs rootless, what still needs root said', () => {
    const v = byVerb(verbVerdicts(undefined, all));
    for (const x of Object.values(v)) expect(x.rootless, x.verb).toBe(true);
    expect(v.test!.note).toMatch(/--keep: one lab file at a time/);
    expect(v.up!.note).toBeUndefined();
    expect(v.run!.note).toMatch(/nslab run -- npx vitest run/);
  });

  it('user namespaces blocked: up and test cannot, with the reason and its fix; exec, ls and down still can', () => {
    const v = byVerb(
      verbVerdicts({ reason: 'user.max_user_namespaces is 0', fix: 'sysctl -w user.max_user_namespaces=15000' }, all),
    );
    expect(v.up).toMatchObject({ rootless: false, why: 'user.max_user_namespaces is 0' });
    expect(v.up!.fix).toContain('sysctl -w user.max_user_namespaces=15000');
    expect(v.test!.rootless).toBe(false);
    expect(v.run!.rootless).toBe(false);
    expect(v['exec, shell']!.rootless).toBe(true);
    expect(v['ls, down, cleanup']!.rootless).toBe(true);
  });

  it('no perl: nothing can enter a holder (up, exec, check), and the package that brings it is named', () => {
    const v = byVerb(verbVerdicts(undefined, (p) => p !== 'perl'));
    for (const k of ['up', 'exec, shell', 'check, explain, reset, snapshot --node'])
      expect(v[k], k).toMatchObject({
        rootless: false,
        why: "'perl' is not installed",
        fix: 'apt-get install perl-base',
      });
    expect(v['ls, down, cleanup']!.rootless).toBe(true);
  });

  it('no unshare: up and test cannot make a holder', () => {
    const v = byVerb(verbVerdicts(undefined, (p) => p !== 'unshare'));
    expect(v.up).toMatchObject({ rootless: false, why: "'unshare' is not installed" });
    expect(v.test!.rootless).toBe(false);
    expect(v['exec, shell']!.rootless).toBe(true);
  });
});

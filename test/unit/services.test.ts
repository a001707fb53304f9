// Service options and stage actions in the lab file: what the resolver accepts and refuses (located), and what the
// plan shows. No root.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadLabText } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';
import { buildPlan } from '../../src/plan/build.js';
import { renderScript } from '../../src/plan/render.js';

function check(service: string, stages = '') {
  const text = `name: s
nodes:
  a:
    interfaces: { eth0: 10.0.0.1/24 }
    services:
      - ${service}
  b: { interfaces: { eth0: 10.0.0.2/24 } }
links: [a:eth0 b:eth0]
${stages}`;
  return checkLab(loadLabText(text, '/labs/s.yaml'));
}
const messages = (r: ReturnType<typeof check>) => r.problems.map((p) => `${p.line}:${p.col}: ${p.message}`);

describe('service options', () => {
  it('env, cwd (relative to the lab file), user and ready reach the model and the plan', () => {
    const r = check(
      "{ name: web, command: 'app --serve', env: { GREETING: hi, N: 3 }, cwd: srv, user: nobody, ready: { tcp: 80, timeout: 2s } }",
    );
    expect(r.problems).toEqual([]);
    const svc = r.model!.nodes[0]!.config.services[0]!;
    expect(svc).toMatchObject({
      env: { GREETING: 'hi', N: '3' },
      cwd: '/labs/srv',
      user: 'nobody',
      ready: { kind: 'tcp', port: 80, timeoutMs: 2000 },
    });
    const script = renderScript(buildPlan(r.model!, { instance: 's' }));
    expect(script).toContain(
      '(cd /labs/srv && GREETING=hi N=3 ip netns exec nslab-s.a setpriv --reuid=$(id -u nobody) --regid=$(id -g nobody) --init-groups app --serve >a-web.log 2>&1 &)',
    );
  });

  it('the twin: a plain service is planned as before', () => {
    const r = check("{ name: web, command: 'app --serve' }");
    expect(r.model!.nodes[0]!.config.services[0]).toEqual({
      name: 'web',
      argv: ['app', '--serve'],
      at: expect.anything(),
    });
    expect(renderScript(buildPlan(r.model!, { instance: 's' }))).toContain(
      'ip netns exec nslab-s.a app --serve >a-web.log 2>&1 &',
    );
  });

  it('ready: exactly one condition, a valid regular expression, a command; default timeout 10 s', () => {
    expect(
      check('{ name: web, command: app, ready: { log: listening } }').model!.nodes[0]!.config.services[0]!.ready,
    ).toEqual({
      kind: 'log',
      pattern: 'listening',
      timeoutMs: 10_000,
    });
    expect(messages(check('{ name: web, command: app, ready: { tcp: 80, udp: 53 } }'))).toEqual([
      '6:43: ready takes one of tcp, udp, log, command; this one has tcp and udp',
    ]);
    expect(messages(check('{ name: web, command: app, ready: { timeout: 1s } }'))).toEqual([
      '6:43: ready says nothing to wait for',
    ]);
    expect(messages(check("{ name: web, command: app, ready: { log: '(' } }"))[0]).toMatch(
      /^6:\d+: ready.log is not a regular expression: /,
    );
    expect(messages(check("{ name: web, command: app, ready: { command: '' } }"))).not.toEqual([]);
  });

  it('env names and user names are checked', () => {
    expect(messages(check("{ name: web, command: app, env: { 'A-B': x } }"))[0]).toMatch(
      /'A-B' is not an environment variable name/,
    );
    expect(messages(check("{ name: web, command: app, user: 'a b' }"))[0]).toMatch(/'a b' is not a user name/);
    expect(check('{ name: web, command: app, user: 65534 }').model!.nodes[0]!.config.services[0]!.user).toBe('65534');
  });
});

describe("a stage's service actions", () => {
  const stages = (apply: string) => `stages:
  - name: one
    apply: { a: { ${apply} } }
`;
  it('stop, start, restart, signal of declared services: in the model, and in the plan of the stage', () => {
    const r = check(
      "{ name: web, command: 'app', ready: { tcp: 80 } }",
      stages('signal: { web: hup }, restart: [web]'),
    );
    expect(r.problems).toEqual([]);
    const acts = r.model!.stages[0]!.apply.get('a')!.serviceActions!;
    expect(acts.map((a) => [a.action, a.service, a.signal])).toEqual([
      ['restart', 'web', undefined],
      ['signal', 'web', 'SIGHUP'],
    ]);
    const script = renderScript(buildPlan(r.model!, { instance: 's' }));
    // brought up with the stage applied: the service simply starts (once)
    expect(script.match(/ip netns exec nslab-s\.a app >a-web\.log/g)).toHaveLength(1);
  });

  it('up --stage: a service the stages stopped is not started; the twin, started again, is', () => {
    const stopped = check("{ name: web, command: 'app' }", stages('stop: [web]'));
    expect(
      buildPlan(stopped.model!, { instance: 's', stage: 'one' }).steps.filter((s) => s.tool === 'service'),
    ).toEqual([]);
    const again = check(
      "{ name: web, command: 'app' }",
      `${stages('stop: [web]')}  - name: two
    apply: { a: { start: [web] } }
`,
    );
    expect(
      buildPlan(again.model!, { instance: 's', stage: 'two' })
        .steps.filter((s) => s.tool === 'service')
        .map((s) => s.service),
    ).toEqual(['web']);
  });

  it('names not declared before the stage, or declared in it, and unknown signals are refused where they stand', () => {
    expect(messages(check("{ name: web, command: 'app' }", stages('restart: [wbe], signal: { web: HUPP }')))).toEqual([
      "11:29: node 'a' has no service 'wbe' declared before this stage",
      "11:50: 'HUPP' is not a signal",
    ]);
    expect(
      messages(check("{ name: web, command: 'app' }", stages('services: [{ name: db, command: db }], stop: [db]'))),
    ).toEqual(["11:65: service 'db' is declared in this same stage: it starts after the stage's actions"]);
    expect(
      messages(check("{ name: web, command: 'app' }", stages('services: [{ name: web, command: x }]')))[0],
    ).toMatch(/service 'web' of node 'a' is already declared/);
  });
});

describe('docs/lab-format.md', () => {
  it('quotes examples/services/echod.yaml as it is (the suite runs that file)', () => {
    const doc = readFileSync('docs/lab-format.md', 'utf8');
    const m = /<!-- quoted: examples\/services\/echod\.yaml -->\n```yaml\n([\s\S]*?)```/.exec(doc);
    expect(m?.[1]).toBe(readFileSync('examples/services/echod.yaml', 'utf8'));
  });
});

describe('docs/lab-format.md: files per node', () => {
  it('quotes examples/files/twind.yaml as it is (the suite runs that file)', () => {
    const doc = readFileSync('docs/lab-format.md', 'utf8');
    const m = /<!-- quoted: examples\/files\/twind\.yaml -->\n```yaml\n([\s\S]*?)```/.exec(doc);
    expect(m?.[1]).toBe(readFileSync('examples/files/twind.yaml', 'utf8'));
  });
});

// Type tests of the names defineLab infers (issue 20): every line after a `@ts-expect-error` must be a type error,
// every other line must compile. test/unit/api-types.test.ts runs tsc on this file as it is (no error: each directive
// met its error) and without the directives (an error on exactly each of those lines). Nothing here is run.
import { expect } from 'vitest';
import { defineLab, Lab, type LabDefinition } from '../../src/api/index.js';
import { useLab } from '../../src/api/vitest.js';
import { loadLab } from '../../src/lab/resolve.js';

const typed = defineLab({
  name: 'typed',
  nodes: {
    client: { interfaces: { eth0: '10.70.0.2/24' } },
    server: { interfaces: { eth0: '10.70.1.2/24', eth1: '10.70.2.2/24' } },
    sw: { kind: 'bridge' },
  },
  links: ['client:eth0 sw:p1', { endpoints: ['server:eth0', 'sw:p2'] }],
  stages: [{ name: 'fix' }, { name: 'more', apply: { server: { interfaces: { eth2: '10.70.3.2/24' } } } }],
});

export async function namesOfADefinedLab(): Promise<void> {
  await using lab = await Lab.up(typed);
  lab.node('server');
  // @ts-expect-error: a node the lab does not have
  lab.node('srever');
  await lab.applyStage('fix');
  // @ts-expect-error: a stage the lab does not have
  await lab.applyStage('fxi');
  await lab.exec('client', ['true']);
  // @ts-expect-error: exec in a node the lab does not have
  await lab.exec('cleint', ['true']);
  await lab.explain({ from: 'client', to: 'server' });
  // @ts-expect-error: explain from a node the lab does not have
  await lab.explain({ from: 'clinet', to: 'server' });

  const ping = await lab.ping({ from: 'client', to: 'server:eth1' });
  await expect(ping).toReplyVia('server:eth1');
  await expect(ping).toReplyVia('sw:p2'); // an end of an object link
  await expect(ping).toReplyVia('server:eth2'); // added by a stage
  // @ts-expect-error: an interface the node does not have
  await expect(ping).toReplyVia('server:eth9');
  await expect(ping).not.toReplyVia('server:eth0');
  // @ts-expect-error: under .not as well
  await expect(ping).not.toReplyVia('srever:eth0');
  await expect(ping).toFollowPath(['client', 'sw', 'server:eth0']);
  // @ts-expect-error: a hop the lab does not have
  await expect(ping).toFollowPath(['client', 'sw', 'srever']);
  await expect(ping).toBeSeenAt(['sw:p1', 'server:eth0']);
  // @ts-expect-error: a place the lab does not have
  await expect(ping).toBeSeenAt('server:eth7');
  await expect(ping).toSpread({ 'client:eth0': 1 });
  // @ts-expect-error: a spread over an interface the node does not have
  await expect(ping).toSpread({ 'client:eth3': 1 });

  // useLab carries the names too
  const used = useLab(typed);
  used.node('client');
  // @ts-expect-error: a node the lab does not have
  used.node('cliant');
}

export async function plainStringsOfALabFromAFile(definition: LabDefinition): Promise<void> {
  // a file, a URL, a model loaded from a file: any name compiles (and is checked at run time)
  await using file = await Lab.up('labs/dual-nic-reply-path.yaml');
  file.node('anything');
  await file.applyStage('any stage');
  await expect(await file.ping({ from: 'a', to: 'b' })).toReplyVia('any:thing');
  const url = useLab(new URL('file:///x.yaml'));
  url.node('anything');
  await using loaded = await Lab.up(loadLab('labs/dual-nic-reply-path.yaml'));
  await loaded.applyStage('any stage');
  // a definition typed as a whole, not a literal: its names are not known either
  await using whole = await Lab.up(defineLab(definition));
  whole.node('anything');
  await expect(await whole.ping({ from: 'a', to: 'b' })).toFollowPath(['a', 'b:eth0']);
}

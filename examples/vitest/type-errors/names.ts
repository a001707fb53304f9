// The names of a lab defined in TypeScript are types: misspelled, they do not
// compile (test/integration/api-example.test.ts expects exactly these errors).
import { expect } from 'vitest';
import 'nslab/vitest';
import { defineLab, Lab } from 'nslab';

const lab = await Lab.up(
  defineLab({
    name: 'names',
    nodes: {
      client: { interfaces: { eth0: '10.63.0.2/24' } },
      server: { interfaces: { eth0: '10.63.0.1/24', eth1: '10.63.1.1/24' } },
    },
    links: ['client:eth0 server:eth0'],
    stages: [{ name: 'fix' }],
  }),
);
// a node misspelled
lab.node('srever');
// an interface the node does not have
await expect(await lab.ping({ from: 'client', to: 'server:eth1' })).toReplyVia('server:eth9');
// a stage misspelled
await lab.applyStage('fxi');

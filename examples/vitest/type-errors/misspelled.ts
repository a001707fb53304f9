// Mistakes that must not compile (test/integration/api-example.test.ts runs
// tsc --strict on this file and expects exactly these errors).
import { expect } from 'vitest';
import 'nslab/vitest';
import { defineLab, type Lab } from 'nslab';

declare const lab: Lab;

// a probe option misspelled
await lab.ping({ form: 'pc2', to: 'server:eth1' });
// an expectation misspelled
await lab.route({ node: 'server', to: '192.168.2.17' }, { tabel: 'gateway1' });
// a lab definition misspelled
defineLab({ name: 'typo', nodes: { a: { interface: { eth0: '10.0.0.1/24' } } } });
// a matcher misspelled
expect(await lab.ping({ from: 'pc2', to: 'server' })).toReplyVai('server:eth1');

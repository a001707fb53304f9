// The soak's labs: generated chain labs (node i linked to node i+1), every tenth
// node running the run's own `sleep` as a service, and for `nslab test` two
// stages of ping and tcp tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SLEEP, work } from './run.mjs';

export const addr = (i, host) => `10.${Math.floor(i / 250)}.${i % 250}.${host}`;

/** Writes lab NAME, a chain of n nodes, into the run's directory; returns its path. */
export function labFile(name, n, { services = true, tests = false } = {}) {
  const nodes = [],
    links = [];
  for (let i = 1; i <= n; i++) {
    const ifs = [i > 1 ? `l: ${addr(i - 1, 2)}/24` : '', i < n ? `r: ${addr(i, 1)}/24` : ''].filter(Boolean);
    const svc = services && i % 10 === 0 ? `, services: [{ name: s1, command: sleep ${SLEEP} }]` : '';
    nodes.push(`  n${i}: { interfaces: { ${ifs.join(', ')} }${svc} }`);
    if (i < n) links.push(`  - n${i}:r n${i + 1}:l`);
  }
  let yaml = `name: ${name}\nnodes:\n${nodes.join('\n')}\nlinks:\n${links.join('\n')}\n`;
  const m = Math.floor(n / 2);
  if (tests)
    yaml += `stages:
  - name: neighbours
    tests:
      - { name: n1 pings n2, ping: { from: n1, to: n2:l, count: 2 }, expect: { replies: 2, path: [n1, n2] } }
      - { name: n${m} pings n${m + 1}, ping: { from: n${m}, to: n${m + 1}:l, count: 2 }, expect: { replies: 2, symmetric: true } }
  - name: the far end
    tests:
      - { name: n${n} pings n${n - 1}, ping: { from: n${n}, to: n${n - 1}:r, count: 2 }, expect: { replies: 2, reply-via: n${n - 1}:r } }
      - { name: n${n - 1} connects to n${n} over tcp, tcp: { from: n${n - 1}, to: n${n}:l }, expect: { connected: true } }
`;
  const file = join(work(), `${name}.yaml`);
  writeFileSync(file, yaml);
  return file;
}

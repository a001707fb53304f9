// Each bundled lab's fix: the stage that makes its tests pass and the node it
// changes. Shared by the export golden tests and the round-trip tests.
export const FIX_CASES = [
  { lab: 'dual-nic-reply-path', stage: 'with a routing table for eth1', node: 'server' },
  { lab: 'dual-nic-reply-path-v6', stage: 'with a routing table for eth1', node: 'server' },
  { lab: 'server-initiated-source', stage: "route to the client via enetA's router", node: 'server' },
  { lab: 'split-access-load-balance', stage: "split access with the reader's routes", node: 'lb' },
  { lab: 'split-access-load-balance', stage: 'load balancing', node: 'lb' },
  { lab: 'two-isp-nat-gateway', stage: 'replies per line', node: 'gw' },
  { lab: 'vip-source-example1', stage: 'with the source address setting', node: 'server' },
  { lab: 'vip-source-example2', stage: 'with the source address setting', node: 'server' },
] as const;

export const caseSlug = (c: { lab: string; stage: string }) =>
  `${c.lab}--${c.stage.replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '')}`;

/**
 * The export corpus (test/fixtures/export/): hosts of the kinds found in the field, each lab's node carrying the
 * constructs such hosts have. Each is exported to every format and either round-trips exactly through the real
 * program or is refused, construct by construct.
 */
export const CORPUS_CASES = [
  { lab: 'ec2-two-enis', node: 'host' },
  { lab: 'wg-quick', node: 'host' },
  { lab: 'dual-isp-router', node: 'gw' },
  { lab: 'rhel-dual-nic', node: 'server' },
  { lab: 'k8s-node', node: 'node1' },
  { lab: 'lb-anycast', node: 'lb' },
  { lab: 'cdn-edge', node: 'edge' },
] as const;

export const corpusFile = (lab: string) => `test/fixtures/export/${lab}.yaml`;

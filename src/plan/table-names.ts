// A node's routing-table names as iproute2 reads them: the rt_tables file that
// `ip netns exec` shows the node as /etc/iproute2/rt_tables. Pure; the engine
// writes it (engine/etc-netns.ts).
import type { LabModel } from '../lab/model.js';
import { nsName } from './names.js';

/** iproute2's own names, as in the rt_tables that Debian ships. */
const BUILTIN = [
  [255, 'local'],
  [254, 'main'],
  [253, 'default'],
  [0, 'unspec'],
] as const;

export interface TableNames {
  node: string;
  ns: string;
  text: string;
}

/** One file per node that declares tables (at its base or in any stage: a name is vocabulary, not configuration). */
export function tableNameFiles(lab: LabModel, instance: string): TableNames[] {
  return lab.nodes
    .filter((n) => n.kind === 'host' && Object.keys(n.tables).length)
    .map((n) => ({
      node: n.name,
      ns: nsName(instance, n.name),
      text:
        [
          `# routing table names of node '${n.name}' of nslab lab '${instance}'; removed with the lab`,
          ...BUILTIN.map(([id, name]) => `${id}\t${name}`),
          ...Object.entries(n.tables)
            .sort(([, a], [, b]) => a - b)
            .map(([name, id]) => `${id}\t${name}`),
        ].join('\n') + '\n',
    }));
}

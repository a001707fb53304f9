import { writeOutputFile } from '../engine/output.js';
import { UsageError } from '../errors.js';
import { takeSnapshot } from '../import/snapshot.js';
import { findInstance } from './common.js';
import { rootlessHere, sameInside } from './rootless.js';

/** `nslab snapshot [-o FILE]` reads this machine; `nslab snapshot --node LAB NODE` a node of a running lab. */
export async function run(node: string | undefined, opts: { node?: string; output?: string }): Promise<number> {
  let target = {};
  if (opts.node !== undefined) {
    if (!node) throw new UsageError('--node LAB needs the node too', 'nslab snapshot --node LAB NODE');
    const state = await findInstance(opts.node);
    // a rootless lab's nodes are in its holder: the nslab inside reads them
    if (rootlessHere()) return sameInside(state);
    const ns = state.namespaces.find((n) => n.node === node)?.ns;
    if (!ns)
      throw new UsageError(
        `lab '${state.instance}' has no node '${node}'`,
        `nodes: ${state.namespaces.map((n) => n.node).join(', ')}`,
      );
    target = {
      ns,
      name: node,
      source: `node ${node} of lab ${state.instance}${state.stages.length ? ` at stage '${state.stages.at(-1)}'` : ''}`,
    };
  } else if (node)
    throw new UsageError(
      `unexpected argument '${node}'`,
      'nslab snapshot reads this machine; nslab snapshot --node LAB NODE reads a lab node',
    );
  const text = JSON.stringify(await takeSnapshot(target), null, 1) + '\n';
  if (opts.output) writeOutputFile(opts.output, text);
  else process.stdout.write(text);
  return 0;
}

// nslab export: a node's final configuration in a distribution's own format.
import type { LabModel } from '../lab/model.js';
import type { ExportFile, Format } from './files.js';
import { renderIfupdown } from './format-ifupdown.js';
import { renderIp } from './format-ip.js';
import { renderNetplan } from './format-netplan.js';
import { renderNetworkd } from './format-networkd.js';
import { renderNm } from './format-nm.js';
import { renderRhel } from './format-rhel.js';
import { finalNode, type FinalNode } from './node-state.js';

export { FORMATS, concatFiles, type ExportFile, type Format } from './files.js';
export { finalNode, type FinalNode } from './node-state.js';

const RENDER: Record<Format, (n: FinalNode) => ExportFile[] | Promise<ExportFile[]>> = {
  rhel: renderRhel,
  nm: renderNm,
  networkd: renderNetworkd,
  netplan: renderNetplan,
  ifupdown: renderIfupdown,
  ip: renderIp,
};

export async function exportNode(
  lab: LabModel,
  node: string,
  stage: string | undefined,
  format: Format,
): Promise<ExportFile[]> {
  return RENDER[format](finalNode(lab, node, stage));
}

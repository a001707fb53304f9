// Labs defined in TypeScript: the same schema and the same checks as a lab
// file, with problems placed at the defineLab call instead of file:line:col.
import type { z } from 'zod';
import { LabFileError } from '../errors.js';
import type { LabModel } from '../lab/model.js';
import { checkLab } from '../lab/resolve.js';
import type { LabSpec } from '../lab/schema.js';
import { callSite } from './call-site.js';

/** A lab as written in a lab file, typed from the lab file schema. */
export type LabDefinition = z.input<typeof LabSpec>;

/**
 * Checks a lab definition as `nslab validate` checks a file; throws
 * LabFileError with every problem, placed at this call.
 */
export function defineLab(definition: LabDefinition): LabModel {
  const at = callSite();
  const file = at.file;
  // every problem points at the call: the keys it names say where in the definition
  const { model, problems } = checkLab({
    file,
    data: structuredClone(definition),
    locate: () => ({ line: at.line, col: at.col }),
    problems: [],
  });
  if (!model) throw new LabFileError(problems);
  return model;
}

// Labs defined in TypeScript: the same schema and the same checks as a lab
// file, with problems placed at the defineLab call instead of file:line:col.
import type { z } from 'zod';
import { LabFileError } from '../errors.js';
import type { LabModel } from '../lab/model.js';
import { checkLab } from '../lab/resolve.js';
import type { LabSpec } from '../lab/schema.js';
import { callSite } from './call-site.js';
import type { DefinedNames, Named } from './names.js';

/** A lab as written in a lab file, typed from the lab file schema. */
export type LabDefinition = z.input<typeof LabSpec>;

/** A checked lab whose node, interface and stage names are known to the compiler. */
export type DefinedLab<D> = LabModel & Named<DefinedNames<D>>;

/**
 * Checks a lab definition as `nslab validate` checks a file; throws
 * LabFileError with every problem, placed at this call. The model it returns
 * carries the definition's names as types: a lab brought up from it takes
 * only its own node, interface and stage names.
 */
export function defineLab<const D extends LabDefinition>(definition: D): DefinedLab<D> {
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

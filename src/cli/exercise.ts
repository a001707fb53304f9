import { readFileSync } from 'node:fs';
import { writeOutputFile } from '../engine/output.js';
import { basename, resolve } from 'node:path';
import { LabFileError, UsageError } from '../errors.js';
import { exerciseOf } from '../lab/exercise.js';
import { loadLabText } from '../lab/load.js';
import { checkLab, loadLab } from '../lab/resolve.js';

/** `nslab exercise LAB [-o FILE]`: the students' lab file, without the solution's apply. */
export async function run(file: string, opts: { output?: string }): Promise<number> {
  const model = loadLab(file); // the instructor's file must be valid first
  if (!model.stages.some((s) => s.solution))
    throw new UsageError(`lab '${model.name}' marks no stage as the solution`, 'add solution: true to the stage whose apply is the fix');
  const ex = exerciseOf(readFileSync(file, 'utf8'), basename(file));
  // what the students get must itself be a valid lab: a test may name something only the fix declares
  const out = opts.output ?? '(the exercise)';
  const { problems } = checkLab(loadLabText(ex.text, out));
  if (problems.length)
    throw new LabFileError(problems.map((p) => ({ ...p, message: `in the exercise: ${p.message}`, hint: `${p.hint ? `${p.hint}; ` : ''}declare what the tests need outside the solution stage's apply` })));
  if (opts.output) {
    if (resolve(opts.output) === resolve(file)) throw new UsageError(`-o ${opts.output} is the lab file itself`, 'write the exercise to another file: this one holds the solution');
    writeOutputFile(opts.output, ex.text);
    process.stderr.write(`wrote ${opts.output}: lab '${model.name}' without the apply of ${ex.solutions.map((s) => `'${s}'`).join(', ')}\n`);
  } else process.stdout.write(ex.text);
  return 0;
}

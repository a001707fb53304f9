import { readFileSync } from 'node:fs';
import { writeOutputFile } from '../engine/output.js';
import { basename, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { exerciseOf } from '../lab/exercise.js';
import { loadLab } from '../lab/resolve.js';

/** `nslab exercise LAB [-o FILE]`: the students' lab file, without the solution's apply. */
export async function run(file: string, opts: { output?: string }): Promise<number> {
  const model = loadLab(file); // the instructor's file must be valid first (its problems located in it)
  // refused, located, where YAML anchors, aliases or merges would carry the fix; checked as the students' lab before it
  // is written
  const ex = exerciseOf(readFileSync(file, 'utf8'), basename(file), { file });
  if (opts.output) {
    if (resolve(opts.output) === resolve(file))
      throw new UsageError(
        `-o ${opts.output} is the lab file itself`,
        'write the exercise to another file: this one holds the solution',
      );
    writeOutputFile(opts.output, ex.text);
    process.stderr.write(
      `wrote ${opts.output}: lab '${model.name}' without the apply of ${ex.solutions.map((s) => `'${s}'`).join(', ')}\n`,
    );
  } else process.stdout.write(ex.text);
  return 0;
}

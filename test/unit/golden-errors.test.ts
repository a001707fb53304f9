// Every bad lab file under test/fixtures/bad has its exact expected messages in a
// .err file beside it. UPDATE_GOLDEN=1 rewrites them (then review the diff).
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../../src/errors.js';
import { loadLabFile } from '../../src/lab/load.js';
import { checkLab } from '../../src/lab/resolve.js';

const dir = 'test/fixtures/bad';
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('bad lab files give their exact messages', () => {
  it('has a corpus of at least 30', () => expect(files.length).toBeGreaterThanOrEqual(30));
  for (const f of files) {
    it(f, () => {
      const { model, problems } = checkLab(loadLabFile(`${dir}/${f}`));
      expect(model).toBeUndefined();
      const text = problems.map(formatProblem).join('\n') + '\n';
      const golden = `${dir}/${f.replace(/\.yaml$/, '.err')}`;
      if (process.env.UPDATE_GOLDEN || !existsSync(golden)) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
    });
  }
});

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { labJsonSchema } from '../../src/lab/schema-json.js';

describe('published JSON Schema', () => {
  it('is up to date with the zod schema (npm run schema regenerates it)', () => {
    const committed = JSON.parse(readFileSync('schema/nslab-lab.schema.json', 'utf8'));
    expect(committed).toEqual(JSON.parse(JSON.stringify(labJsonSchema())));
  });
});

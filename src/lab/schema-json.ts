// Prints the lab file JSON Schema; `npm run schema` writes schema/nslab-lab.schema.json.
import { z } from 'zod';
import { LabSpec } from './schema.js';

export function labJsonSchema(): unknown {
  return {
    ...z.toJSONSchema(LabSpec, { target: 'draft-2020-12', io: 'input' }),
    $id: 'https://nslab.dev/schema/lab-v1.json',
    title: 'nslab lab file v1',
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify(labJsonSchema(), null, 2) + '\n');
}

// Prints scripts/requirements.tsv, the table of src/engine/requirements.ts as
// scripts/bootstrap.sh reads it: `npm run requirements` after changing the table.
import { requirementsTsv } from './requirements.js';

process.stdout.write(requirementsTsv());

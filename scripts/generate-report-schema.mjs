// Writes docs/report.schema.json from the zod schema in @labgrader/core (run after `npm run build`).
import { writeFileSync } from 'node:fs';
import { reportJsonSchema } from '@labgrader/core';

const target = new URL('../docs/report.schema.json', import.meta.url);
writeFileSync(target, JSON.stringify(reportJsonSchema(), null, 2) + '\n');
console.log(`wrote ${target.pathname}`);

// Writes deploy/grading-cluster/*.yaml from @labgrader/cluster (run after `npm run build`):
// the identities, RBAC and admission policies an existing grading cluster needs.
// The cluster stage installs the same objects into each kind cluster it creates.
import { mkdirSync, writeFileSync } from 'node:fs';
import { renderGradingClusterFiles } from '@labgrader/cluster';

const dir = new URL('../deploy/grading-cluster/', import.meta.url);
mkdirSync(dir, { recursive: true });
for (const [file, text] of Object.entries(renderGradingClusterFiles())) {
  writeFileSync(new URL(file, dir), text);
  console.log(`wrote deploy/grading-cluster/${file}`);
}

import { describe, expect, it } from '@jest/globals';
import { fileURLToPath } from 'node:url';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { lintRepository } from '../src/index.js';

async function referencesIn(example: string) {
  const repo = await openRepoFiles(fileURLToPath(new URL(`../../../examples/${example}`, import.meta.url)));
  const result = await lintRepository(repo, { runner: createExecaRunner(), checks: ['lint/yaml-valid'] });
  return result.inventory.references ?? [];
}

describe('inventory references', () => {
  it('lists what the passing lab refers to, marking the out-of-band Secret as not defined', async () => {
    const refs = await referencesIn('lab-85-passing');
    expect(
      refs.map((r) => `${r.kind}/${r.name} ${r.key ?? '-'} defined=${r.defined} ${r.location.file}:${r.location.line}`),
    ).toEqual([
      'ServiceAccount/web - defined=true k8s/deployment.yaml:24',
      'ConfigMap/web-config GREETING defined=true k8s/deployment.yaml:57',
      'Secret/web-secrets api-token defined=false k8s/deployment.yaml:62',
    ]);
    expect(refs.every((r) => r.namespace === 'lab85' && r.from.startsWith('Deployment lab85/web'))).toBe(true);
  });

  it('sees a committed Secret as defined', async () => {
    const refs = await referencesIn('lab-85-flawed-secrets');
    expect(refs.find((r) => r.name === 'web-db')).toMatchObject({ kind: 'Secret', key: 'password', defined: true });
  });
});

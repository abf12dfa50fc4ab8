/**
 * deploy/grading-cluster/: what an operator applies to an existing cluster
 * before it grades labs (identities, RBAC, admission policies). It is
 * generated from the same code the kind clusters are set up with, and must
 * pass labgrader's own linter without a finding.
 */
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { createExecaRunner } from '@labgrader/exec';
import { lintRepository } from '@labgrader/manifest-lint';
import { renderGradingClusterFiles } from '../src/index.js';
import { repoOf } from './helpers/fake.js';

const DIR = new URL('../../../deploy/grading-cluster/', import.meta.url).pathname;

describe('deploy/grading-cluster', () => {
  it('is exactly what `npm run grading-cluster` generates from packages/cluster', () => {
    const expected = renderGradingClusterFiles();
    const onDisk = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
    expect(onDisk.sort()).toEqual(Object.keys(expected).sort());
    for (const [file, text] of Object.entries(expected)) {
      expect({ file, text: readFileSync(DIR + file, 'utf8') }).toEqual({ file, text });
    }
  });

  it('passes labgrader lint with no finding', async () => {
    // Rendered with the real kubectl kustomize, as an operator's `kubectl apply -k` would.
    const result = await lintRepository(await repoOf(DIR), { runner: createExecaRunner() });
    // Every object was rendered and examined (not an empty pass).
    expect(result.inventory.objects).toHaveLength(15);
    expect(result.findings.map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line} ${f.message}`)).toEqual([]);
  });
});

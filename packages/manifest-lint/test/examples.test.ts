/** The lead's example labs: each documented flaw is reported by the rule that owns it. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { lintRepository } from '../src/index.js';

async function lint(example: string) {
  const repo = await openRepoFiles(fileURLToPath(new URL(`../../../examples/${example}`, import.meta.url)));
  return lintRepository(repo, { runner: createExecaRunner() });
}

const summary = (r: Awaited<ReturnType<typeof lint>>) =>
  r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`);

describe('example labs', () => {
  it('lab-85-flawed-secrets: literal token, committed Secret, no limits, :latest', async () => {
    expect(summary(await lint('lab-85-flawed-secrets'))).toEqual([
      'lint/image-tag k8s/deployment.yaml:44',
      'lint/env-secret-literal k8s/deployment.yaml:59',
      'lint/container-resources k8s/deployment.yaml:65',
      'lint/secret-committed k8s/secret.yaml:9',
    ]);
  });

  it('lab-85-flawed-probes: no readiness, liveness on an undeclared port, targetPort mismatch, one replica, drain-blocking PDB', async () => {
    expect(summary(await lint('lab-85-flawed-probes'))).toEqual([
      'lint/replicas k8s/deployment.yaml:9',
      'lint/rolling-update k8s/deployment.yaml:17',
      'lint/probes-present k8s/deployment.yaml:34',
      'lint/probe-port k8s/deployment.yaml:65',
      'lint/pdb-drain k8s/pdb.yaml:7',
      'lint/service-target-port k8s/service.yaml:15',
    ]);
  });

  it('lab-85-no-manifests is not gradable', async () => {
    const result = await lint('lab-85-no-manifests');
    expect(result.notGradable?.reason).toBe('no-manifests');
    expect(result.findings).toEqual([]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { AbortedError, silentLogger, emptyInventory, type StageInput } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { fileURLToPath } from 'node:url';
import { lintRepository, lintStage, type LintSettings } from '../src/index.js';
import { noTools } from './helpers/fake-runner.js';
import { memoryRepo } from './helpers/memory-repo.js';

function input(
  files: Parameters<typeof memoryRepo>[0],
  signal = new AbortController().signal,
): StageInput<LintSettings> {
  return {
    repo: memoryRepo(files),
    settings: lintStage.settingsSchema.parse({}),
    runner: noTools,
    signal,
    logger: silentLogger,
    inventory: emptyInventory,
    progress: () => {},
  };
}

describe('lintStage', () => {
  it('is the lint stage with settings that default from {}', () => {
    expect(lintStage.name).toBe('lint');
    expect(lintStage.settingsSchema.parse({}).kubernetesVersion).toBe('1.33');
  });

  it('prepares a context and publishes the inventory for later stages', async () => {
    const prepared = await lintStage.prepare(
      input({
        'k8s/ns.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
        'k8s/svc.yaml':
          '# the web service\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  ports: [{ port: 80 }]\n',
      }),
    );
    expect(prepared.notGradable).toBeUndefined();
    expect(prepared.inventory).toEqual({
      objects: [
        { apiVersion: 'v1', kind: 'Namespace', name: 'shop', location: { file: 'k8s/ns.yaml', line: 1, column: 1 } },
        {
          apiVersion: 'v1',
          kind: 'Service',
          name: 'web',
          namespace: 'shop',
          location: { file: 'k8s/svc.yaml', line: 2, column: 1 },
        },
      ],
      files: ['k8s/ns.yaml', 'k8s/svc.yaml'],
      references: [],
    });
    expect(prepared.context.objects).toHaveLength(2);
  });

  it('marks a repository without manifests as not gradable', async () => {
    const prepared = await lintStage.prepare(input({ 'README.md': '# notes' }));
    expect(prepared.notGradable).toMatchObject({ reason: 'no-manifests' });
    expect(prepared.inventory?.objects).toEqual([]);
  });

  it('stops when the stage budget is spent', async () => {
    const controller = new AbortController();
    controller.abort(new Error('budget spent'));
    await expect(
      lintStage.prepare(
        input({ 'k8s/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: a }\n' }, controller.signal),
      ),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});

describe('the passing lab 85 example', () => {
  it('is a clean production-grade manifest set: every rule runs, zero findings', async () => {
    const repo = await openRepoFiles(fileURLToPath(new URL('../../../examples/lab-85-passing', import.meta.url)));
    const result = await lintRepository(repo, { runner: createExecaRunner() });
    expect(result.findings.map((f) => `${f.checkId} ${f.severity} ${f.location?.file}:${f.location?.line}`)).toEqual(
      [],
    );
    expect(result.runs.filter((r) => r.error)).toEqual([]);
    expect(result.inventory.objects.map((o) => `${o.kind}/${o.name}`).sort()).toEqual([
      'ConfigMap/web-config',
      'Deployment/web',
      'Namespace/lab85',
      'NetworkPolicy/default-deny',
      'NetworkPolicy/web-allow-http',
      'PodDisruptionBudget/web',
      'Service/web',
      'ServiceAccount/web',
    ]);
    for (const run of result.runs) {
      expect(run.error).toBeUndefined();
      expect(run.outcome!.passed).toBe(run.outcome!.examined);
    }
  });
});

/**
 * Kustomize overlays rendered by the real `kubectl kustomize`, with findings
 * mapped back to the files the student wrote.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createExecaRunner } from '@labgrader/exec';
import { openRepoFiles } from '@labgrader/repo';
import { lintRepository, type LintResult } from '../src/index.js';
import { noTools } from './helpers/fake-runner.js';
import { tempRepo } from './helpers/temp-repo.js';

const base = {
  'k8s/base/kustomization.yaml':
    'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - deployment.yaml\n  - service.yaml\n',
  'k8s/base/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  replicas: 3',
    '  selector:',
    '    matchLabels: { app: web }',
    '  template:',
    '    metadata:',
    '      labels: { app: web }',
    '    spec:',
    '      containers:',
    '        - name: sidecar',
    '          image: ghcr.io/acme/proxy:1.0.0',
    '        - name: web',
    '          image: ghcr.io/acme/web:1.0.0',
    '          ports:',
    '            - name: http',
    '              containerPort: 8080',
    '',
  ].join('\n'),
  'k8s/base/service.yaml':
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  selector: { app: web }\n  ports:\n    - port: 80\n      targetPort: http\n',
  'k8s/overlays/prod/kustomization.yaml': [
    'apiVersion: kustomize.config.k8s.io/v1beta1',
    'kind: Kustomization',
    'namespace: shop',
    'namePrefix: prod-',
    'resources:',
    '  - ../../base',
    'patches:',
    '  - path: patch.yaml',
    'images:',
    '  - name: ghcr.io/acme/web',
    '    newTag: latest',
    '',
  ].join('\n'),
  'k8s/overlays/prod/patch.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: web',
    'spec:',
    '  replicas: 1',
    '  template:',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          resources:',
    '            limits: { memory: 128Mi }',
    '',
  ].join('\n'),
};

function at(result: LintResult, checkId: string): string[] {
  return result.findings
    .filter((f) => f.checkId === checkId)
    .map((f) => `${f.location?.file}:${f.location?.line}:${f.location?.column}`);
}

describe('kustomize overlays (kubectl kustomize)', () => {
  let repo: ReturnType<typeof tempRepo>;
  let result: LintResult;
  beforeAll(async () => {
    repo = tempRepo(base);
    result = await lintRepository(await openRepoFiles(repo.dir), {
      runner: createExecaRunner(),
      checks: [
        'lint/render',
        'lint/replicas',
        'lint/image-tag',
        'lint/container-resources',
        'lint/service-target-port',
        'lint/yaml-valid',
        'lint/schema-valid',
      ],
    });
  });
  afterAll(() => repo.cleanup());

  it('renders the overlay once and lints rendered objects, not the base files a second time', () => {
    expect(
      result.inventory.objects
        .map((o) => `${o.kind} ${o.namespace}/${o.name} ${o.location.file}:${o.location.line} ${o.rendered}`)
        .sort(),
    ).toEqual([
      'Deployment shop/prod-web k8s/base/deployment.yaml:1 true',
      'Service shop/prod-web k8s/base/service.yaml:1 true',
    ]);
    expect(at(result, 'lint/render')).toEqual([]);
    expect(at(result, 'lint/schema-valid')).toEqual([]);
  });

  it('points a value changed by a patch at the patch', () => {
    expect(at(result, 'lint/replicas')).toEqual(['k8s/overlays/prod/patch.yaml:6:13']);
  });

  it('points a value changed by a transformer at the kustomization field', () => {
    expect(at(result, 'lint/image-tag')).toEqual(['k8s/overlays/prod/kustomization.yaml:9:1']);
  });

  it('points fields of the base at the base, matching list items by name', () => {
    // sidecar has no resources at all (its name line); web got limits from the patch, its requests are still missing.
    expect(at(result, 'lint/container-resources')).toEqual([
      'k8s/base/deployment.yaml:14:11',
      'k8s/overlays/prod/patch.yaml:11:11',
    ]);
    expect(at(result, 'lint/service-target-port')).toEqual([]);
  });

  it('reports a failing build with the kustomization and lints its resources as written', async () => {
    const broken = tempRepo({
      ...base,
      'k8s/overlays/prod/patch.yaml':
        'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: not-there\nspec:\n  replicas: 1\n',
    });
    try {
      const r = await lintRepository(await openRepoFiles(broken.dir), {
        runner: createExecaRunner(),
        checks: ['lint/render', 'lint/replicas'],
      });
      const render = r.findings.filter((f) => f.checkId === 'lint/render');
      expect(render).toHaveLength(1);
      expect(render[0]?.message).toMatch(/^kubectl kustomize k8s\/overlays\/prod failed: .*not-there/);
      expect(render[0]?.location).toMatchObject({ file: 'k8s/overlays/prod/kustomization.yaml', line: 1 });
      expect(r.inventory.objects.map((o) => `${o.kind}/${o.name}`).sort()).toEqual(['Deployment/web', 'Service/web']);
    } finally {
      broken.cleanup();
    }
  });

  it('refuses remote bases and falls back to the files as written', async () => {
    const remote = tempRepo({
      ...base,
      'k8s/overlays/prod/kustomization.yaml':
        'resources:\n  - ../../base\n  - https://github.com/acme/shared//k8s?ref=main\npatches:\n  - path: patch.yaml\n',
    });
    try {
      const r = await lintRepository(await openRepoFiles(remote.dir), {
        runner: createExecaRunner(),
        checks: ['lint/render'],
      });
      expect(r.findings.map((f) => [f.location?.line, f.message])).toEqual([
        [
          3,
          'k8s/overlays/prod/kustomization.yaml: resources entry "https://github.com/acme/shared//k8s?ref=main" is a remote reference (a URL or a git repository); labgrader renders only what is committed, so vendor those files into the repository and list them by relative path',
        ],
      ]);
      expect(r.inventory.objects).toHaveLength(2);
    } finally {
      remote.cleanup();
    }
  });

  it('places generated objects and JSON patches on the kustomization', async () => {
    const generated = tempRepo({
      'k8s/kustomization.yaml': [
        'resources:',
        '  - deployment.yaml',
        'configMapGenerator:',
        '  - name: settings',
        '    literals:',
        '      - DB_PASSWORD=hunter2',
        'patches:',
        '  - target: { kind: Deployment, name: web }',
        '    patch: |-',
        '      - op: replace',
        '        path: /spec/template/spec/containers/1/image',
        '        value: ghcr.io/acme/web:latest',
        '',
      ].join('\n'),
      'k8s/deployment.yaml': base['k8s/base/deployment.yaml'],
    });
    try {
      const r = await lintRepository(await openRepoFiles(generated.dir), {
        runner: createExecaRunner(),
        checks: ['lint/configmap-secrets', 'lint/image-tag', 'lint/render'],
      });
      expect(r.findings.map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`)).toEqual([
        'lint/configmap-secrets k8s/kustomization.yaml:3',
        'lint/image-tag k8s/kustomization.yaml:7',
      ]);
      expect(r.inventory.objects.map((o) => o.name).sort()).toEqual([expect.stringMatching(/^settings-/), 'web']);
    } finally {
      generated.cleanup();
    }
  });

  it('without kubectl, warns and lints the resource files as written', async () => {
    const r = await lintRepository(await openRepoFiles(repo.dir), {
      runner: noTools,
      checks: ['lint/render', 'lint/replicas'],
    });
    expect(r.findings.map((f) => [f.checkId, f.severity, f.location?.file])).toEqual([
      ['lint/render', 'warning', 'k8s/overlays/prod/kustomization.yaml'],
    ]);
    expect(r.findings[0]?.message).toMatch(/kubectl is not installed/);
    expect(r.inventory.objects.every((o) => !o.rendered)).toBe(true);
    expect(r.inventory.objects).toHaveLength(2);
  });

  it('lints what a kustomization renders and says which files it does not deploy', async () => {
    const excluded = tempRepo({
      'k8s/kustomization.yaml': [
        'apiVersion: kustomize.config.k8s.io/v1beta1',
        'kind: Kustomization',
        'resources:',
        '  - deployment.yaml',
        '  # - debug-pod.yaml',
        '',
      ].join('\n'),
      'k8s/deployment.yaml': base['k8s/base/deployment.yaml'],
      // Commented out of resources: a debugging pod with a literal password and no limits.
      'k8s/debug-pod.yaml': [
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: debug',
        'spec:',
        '  containers:',
        '    - name: shell',
        '      image: busybox:latest',
        '      env:',
        '        - name: DB_PASSWORD',
        '          value: hunter2hunter2',
        '',
      ].join('\n'),
      // Not listed at all, in a subdirectory without a kustomization of its own.
      'k8s/old/deployment-v0.yaml': base['k8s/base/deployment.yaml'].replace('name: web', 'name: web-v0'),
      // Not a manifest: never mentioned.
      'k8s/values-notes.yaml': 'owner: team-a\n',
      // Outside the kustomization's directory: still a plain manifest.
      'deploy/job.yaml':
        'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: migrate\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers:\n        - name: migrate\n          image: ghcr.io/acme/migrate:1.0.0\n',
    });
    try {
      const r = await lintRepository(await openRepoFiles(excluded.dir), {
        runner: createExecaRunner(),
        checks: ['lint/render', 'lint/env-secret-literal', 'lint/image-tag', 'lint/replicas'],
      });
      expect(r.inventory.objects.map((o) => `${o.kind}/${o.name} ${o.location.file}`).sort()).toEqual([
        'Deployment/web k8s/deployment.yaml',
        'Job/migrate deploy/job.yaml',
      ]);
      // Nothing from the files kustomize does not deploy; each is named, at no cost.
      expect(r.findings.filter((f) => f.severity !== 'info').map((f) => `${f.checkId} ${f.location?.file}`)).toEqual(
        [],
      );
      expect(
        r.findings
          .filter((f) => f.checkId === 'lint/render')
          .map((f) => [f.severity, `${f.location?.file}:${f.location?.line}:${f.location?.column}`, f.message]),
      ).toEqual([
        [
          'info',
          'k8s/kustomization.yaml:5:3',
          'k8s/debug-pod.yaml (Pod debug) is commented out of k8s/kustomization.yaml: kustomize does not deploy it, so it was not linted (uncomment the entry if it should be deployed)',
        ],
        [
          'info',
          'k8s/old/deployment-v0.yaml:1:1',
          'k8s/old/deployment-v0.yaml (Deployment web-v0) is not listed in k8s/kustomization.yaml (resources): kustomize does not deploy it, so it was not linted (list it under resources: if it should be deployed, or delete it)',
        ],
      ]);
      const render = r.runs.find((run) => run.id === 'lint/render')!.outcome!;
      expect(render.passed).toBe(render.examined);
    } finally {
      excluded.cleanup();
    }
  });
});

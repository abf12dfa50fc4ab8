import { describe, expect, it } from '@jest/globals';
import type { CommandRunner } from '@labgrader/core';
import { openRepoFiles } from '@labgrader/repo';
import { lintRepository } from '../src/index.js';
import { noTools, scriptedRunner } from './helpers/fake-runner.js';
import { lintFiles } from './helpers/lint.js';
import { helmAvailable, realRunner, warnHelmNotRun } from './helpers/real-tools.js';
import { tempRepo } from './helpers/temp-repo.js';

const chart = {
  'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'chart/values.yaml': 'image: ghcr.io/acme/web:latest\nreplicas: 1\n',
  'chart/templates/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}-web',
    'spec:',
    '  replicas: {{ .Values.replicas }}',
    '  selector:',
    '    matchLabels:',
    '      app: web',
    '  template:',
    '    metadata:',
    '      labels:',
    '        app: web',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: {{ .Values.image | quote }}',
    '',
  ].join('\n'),
};

/** What `helm template release chart` prints for the chart above (recorded from helm v3.19). */
const rendered = [
  '---',
  '# Source: web/templates/deployment.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: release-web',
  'spec:',
  '  replicas: 1',
  '  selector:',
  '    matchLabels:',
  '      app: web',
  '  template:',
  '    metadata:',
  '      labels:',
  '        app: web',
  '    spec:',
  '      containers:',
  '        - name: web',
  '          image: "ghcr.io/acme/web:latest"',
  '',
].join('\n');

/** The stock `helm create` test hook next to a Deployment and its Service (the ramirachdi/tp-kubernetes-helm-jenkins chart, reduced). */
const chartWithTest = {
  'chart/Chart.yaml': 'apiVersion: v2\nname: web\nversion: 0.1.0\n',
  'chart/values.yaml': 'image: ghcr.io/acme/web:1.0.0\n',
  'chart/templates/deployment.yaml': [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: {{ .Release.Name }}-web',
    '  labels:',
    '    app: web',
    'spec:',
    '  replicas: 2',
    '  selector:',
    '    matchLabels:',
    '      app: web',
    '  template:',
    '    metadata:',
    '      labels:',
    '        app: web',
    '    spec:',
    '      containers:',
    '        - name: web',
    '          image: {{ .Values.image | quote }}',
    '          ports:',
    '            - name: http',
    '              containerPort: 8080',
    '---',
    'apiVersion: v1',
    'kind: Service',
    'metadata:',
    '  name: {{ .Release.Name }}-web',
    'spec:',
    '  selector:',
    '    app: web',
    '  ports:',
    '    - name: http',
    '      port: 80',
    '      targetPort: http',
    '',
  ].join('\n'),
  'chart/templates/tests/test-connection.yaml': [
    'apiVersion: v1',
    'kind: Pod',
    'metadata:',
    '  name: "{{ .Release.Name }}-web-test-connection"',
    '  labels:',
    '    app: web',
    '  annotations:',
    '    "helm.sh/hook": test',
    'spec:',
    '  containers:',
    '    - name: wget',
    '      image: busybox',
    "      command: ['wget']",
    "      args: ['{{ .Release.Name }}-web:80']",
    '  restartPolicy: Never',
    '',
  ].join('\n'),
};

/** What `helm template release chart` prints for chartWithTest (recorded from helm v3.19). */
const renderedWithTest = [
  '---',
  '# Source: web/templates/deployment.yaml',
  'apiVersion: v1',
  'kind: Service',
  'metadata:',
  '  name: release-web',
  'spec:',
  '  selector:',
  '    app: web',
  '  ports:',
  '    - name: http',
  '      port: 80',
  '      targetPort: http',
  '---',
  '# Source: web/templates/deployment.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: release-web',
  '  labels:',
  '    app: web',
  'spec:',
  '  replicas: 2',
  '  selector:',
  '    matchLabels:',
  '      app: web',
  '  template:',
  '    metadata:',
  '      labels:',
  '        app: web',
  '    spec:',
  '      containers:',
  '        - name: web',
  '          image: "ghcr.io/acme/web:1.0.0"',
  '          ports:',
  '            - name: http',
  '              containerPort: 8080',
  '---',
  '# Source: web/templates/tests/test-connection.yaml',
  'apiVersion: v1',
  'kind: Pod',
  'metadata:',
  '  name: "release-web-test-connection"',
  '  labels:',
  '    app: web',
  '  annotations:',
  '    "helm.sh/hook": test',
  'spec:',
  '  containers:',
  '    - name: wget',
  '      image: busybox',
  "      command: ['wget']",
  "      args: ['release-web:80']",
  '  restartPolicy: Never',
  '',
].join('\n');

/** Findings on the hook Pod, or of a Service about it: there must be none. */
const aboutTheHook = (result: Awaited<ReturnType<typeof lintFiles>>) =>
  result.findings
    .filter(
      (f) => f.location?.file === 'chart/templates/tests/test-connection.yaml' || f.message.includes('test-connection'),
    )
    .map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line} ${f.message}`);

describe('Helm charts', () => {
  it('renders with helm template and places findings on the template lines', async () => {
    const runner = scriptedRunner((command) => (command === 'helm' ? { stdout: rendered } : 'missing'));
    const result = await lintFiles(chart, {
      runner,
      env: {},
      checks: ['lint/image-tag', 'lint/replicas', 'lint/yaml-valid', 'lint/render'],
    });
    expect(runner.calls.map((c) => [c.command, c.args[0], c.args[1]])).toEqual([
      // The sandbox probe: this runner has no unshare, so helm runs without network isolation.
      ['unshare', '--net', '--'],
      ['helm', 'template', 'release'],
    ]);
    // values.schema.json could $ref URLs or host files: never validated.
    expect(runner.calls[1]?.args).toContain('--skip-schema-validation');
    expect(result.findings.map((f) => [f.checkId, `${f.location?.file}:${f.location?.line}`])).toEqual([
      ['lint/replicas', 'chart/templates/deployment.yaml:6'],
      ['lint/image-tag', 'chart/templates/deployment.yaml:17'],
    ]);
    expect(result.inventory.objects).toEqual([
      expect.objectContaining({
        kind: 'Deployment',
        name: 'release-web',
        rendered: true,
        location: expect.objectContaining({ file: 'chart/templates/deployment.yaml', line: 2 }),
      }),
    ]);
  });

  it('without helm, says where it looked and exactly how to install it, and that nothing else could be graded', async () => {
    const result = await lintFiles(chart, { runner: noTools, env: { HOME: '/home/student' } });
    expect(result.findings.map((f) => [f.checkId, f.severity, f.message])).toEqual([
      [
        'lint/render',
        'warning',
        'Helm chart chart was not rendered: helm is not installed here (looked for helm on PATH, /home/student/.cache/labgrader/bin/helm), so its templates were not linted. ' +
          'Install helm v3.19.0 where labgrader looks for it: `GOBIN=~/.cache/labgrader/bin go install helm.sh/helm/v3/cmd/helm@v3.19.0` (needs Go), or a release binary from https://github.com/helm/helm/releases on PATH, or set LABGRADER_HELM to its path.',
      ],
    ]);
    expect(result.notGradable?.reason).toBe('no-manifests');
    expect(result.notGradable?.message).toMatch(/helm is not installed/);
    expect(result.notGradable?.hint).toMatch(
      /^Install helm v3\.19\.0 .*go install helm\.sh\/helm\/v3\/cmd\/helm@v3\.19\.0/,
    );
  });

  it.each<[string, Record<string, string>, string]>([
    ['LABGRADER_HELM', { LABGRADER_HELM: '/opt/helm-3.19/helm', HOME: '/home/student' }, '/opt/helm-3.19/helm'],
    [
      '~/.cache/labgrader/bin (where .ci/run builds it)',
      { HOME: '/home/student' },
      '/home/student/.cache/labgrader/bin/helm',
    ],
    [
      'LABGRADER_CACHE_DIR/bin',
      { LABGRADER_CACHE_DIR: '/var/cache/lg', HOME: '/home/student' },
      '/var/cache/lg/bin/helm',
    ],
  ])('finds helm through %s when it is not on PATH', async (_how, env, binary) => {
    // This runner has no unshare and no helm on PATH: only `binary` starts.
    const runner = scriptedRunner((command) => (command === binary ? { stdout: rendered } : 'missing'));
    const result = await lintFiles(chart, { runner, env, checks: ['lint/replicas', 'lint/render'] });
    expect(result.findings.map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`)).toEqual([
      'lint/replicas chart/templates/deployment.yaml:6',
    ]);
    expect(runner.calls.map((c) => c.command).filter((c) => c !== 'unshare')).toEqual(
      env.LABGRADER_HELM ? [binary] : ['helm', binary],
    );
    // The binary that worked is tried first next time.
    runner.calls.length = 0;
    await lintFiles(chart, { runner, env, checks: ['lint/render'] });
    expect(runner.calls.map((c) => c.command).filter((c) => c !== 'unshare')).toEqual([binary]);
  });

  it('grades a helm test hook neither as a workload nor as one of the pods a Service sends to', async () => {
    const runner = scriptedRunner((command) => (command === 'helm' ? { stdout: renderedWithTest } : 'missing'));
    const result = await lintFiles(chartWithTest, { runner, env: {} });
    expect(result.inventory.objects.map((o) => `${o.kind} ${o.name}`)).toContain('Pod release-web-test-connection');
    expect(aboutTheHook(result)).toEqual([]);
    // The Deployment itself is still graded.
    expect(result.findings.map((f) => f.checkId)).toContain('lint/container-resources');
  });

  it('reports a chart that fails to render', async () => {
    const runner: CommandRunner = scriptedRunner(() => ({
      exitCode: 1,
      stderr: 'Error: parse error at (web/templates/deployment.yaml:6): unexpected "}" in operand\n',
    }));
    const result = await lintFiles(chart, { runner, checks: ['lint/render'] });
    expect(result.findings.map((f) => [f.location?.file, f.message])).toEqual([
      [
        'chart/Chart.yaml',
        'helm template chart failed: Error: parse error at (web/templates/deployment.yaml:6): unexpected "}" in operand',
      ],
    ]);
  });

  // Runs only where a helm binary is installed (.ci/run builds one); otherwise skipped, loudly.
  warnHelmNotRun('the real-helm test');
  (helmAvailable ? it : it.skip)('matches what the real helm binary prints', async () => {
    const repo = tempRepo(chart);
    try {
      const runner: CommandRunner = realRunner();
      const result = await lintRepository(await openRepoFiles(repo.dir), {
        runner,
        checks: ['lint/image-tag', 'lint/replicas'],
      });
      expect(result.findings.map((f) => `${f.checkId} ${f.location?.file}:${f.location?.line}`)).toEqual([
        'lint/replicas chart/templates/deployment.yaml:6',
        'lint/image-tag chart/templates/deployment.yaml:17',
      ]);
    } finally {
      repo.cleanup();
    }
  });

  (helmAvailable ? it : it.skip)(
    'renders the test hook with the real helm binary and grades it as no workload',
    async () => {
      const repo = tempRepo(chartWithTest);
      try {
        const result = await lintRepository(await openRepoFiles(repo.dir), { runner: realRunner() });
        expect(result.inventory.objects.map((o) => `${o.kind} ${o.name}`)).toContain('Pod release-web-test-connection');
        expect(aboutTheHook(result)).toEqual([]);
      } finally {
        repo.cleanup();
      }
    },
  );
});

import { describe, expect, it } from '@jest/globals';
import { lines, lintFiles } from './helpers/lint.js';

const cm = (name: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n  A: "1"\n`;

describe('discovery', () => {
  it('finds objects anywhere, in multi-document YAML, List kinds and JSON', async () => {
    const list = [
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata: { name: in-list-1 }',
      '  - apiVersion: v1',
      '    kind: ConfigMap',
      '    metadata: { name: in-list-2 }',
      '',
    ].join('\n');
    const json = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-json' } }, null, 2);
    const result = await lintFiles({
      'deploy/app.yml': `${cm('a')}---\n# comment between documents\n${cm('b')}`,
      'deploy/list.yaml': list,
      'manifests/cm.json': json,
    });
    expect(result.inventory.objects.map((o) => `${o.name}@${o.location.file}:${o.location.line}`)).toEqual([
      'a@deploy/app.yml:1',
      'b@deploy/app.yml:9',
      'in-list-1@deploy/list.yaml:4',
      'in-list-2@deploy/list.yaml:7',
      'from-json@manifests/cm.json:1',
    ]);
    expect(result.inventory.files).toEqual(['deploy/app.yml', 'deploy/list.yaml', 'manifests/cm.json']);
  });

  it('ignores YAML that is not Kubernetes: workflows, compose files, tool configs, kubeconfigs, examples', async () => {
    const result = await lintFiles({
      '.github/workflows/ci.yaml':
        'on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps: [ { uses: "x" } ]\n',
      'docker-compose.yaml': 'services:\n  web:\n    image: web\n',
      'kind-config.yaml': 'apiVersion: kind.x-k8s.io/v1alpha4\nkind: Cluster\nnodes: [ { role: control-plane } ]\n',
      'kubeconfig.yaml': 'apiVersion: v1\nkind: Config\nclusters: []\n',
      'skaffold.yaml': 'apiVersion: skaffold/v4beta6\nkind: Config\nmetadata: { name: app }\n',
      'examples/bad/deploy.yaml': 'apiVersion: v1\nkind: Pod\nmetadata: { name: example }\n',
      'notes.yaml': 'just: [notes, "apiVersion is mentioned", kind of]\n',
      'broken-not-k8s.yml': 'key: [unclosed\n',
      'k8s/cm.yaml': cm('real'),
    });
    expect(result.inventory.objects.map((o) => o.name)).toEqual(['real']);
    expect(result.findings).toEqual([]);
  });

  it('honours include and extra exclude settings', async () => {
    const files = {
      'k8s/a.yaml': cm('a'),
      'k8s/generated/b.yaml': cm('b'),
      'k8s/c.json': JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } }),
    };
    const result = await lintFiles(files, {
      settings: { include: ['k8s/**/*.yaml'], extraExclude: ['k8s/generated/**'] },
    });
    expect(result.inventory.objects.map((o) => o.name)).toEqual(['a']);
  });

  it('reports symlinks that point outside the repository', async () => {
    const result = await lintFiles({ 'k8s/secret.yaml': { symlinkOutside: '/etc/passwd' }, 'k8s/cm.yaml': cm('a') });
    expect(result.findings.filter((f) => f.checkId === 'lint/yaml-valid').map((f) => [f.severity, f.message])).toEqual([
      [
        'warning',
        'k8s/secret.yaml is a symlink pointing outside the repository; it is never read (commit the file itself)',
      ],
    ]);
  });

  it('reads Windows line endings and places findings on the same lines', async () => {
    const text = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  replicas: 1',
      '  template:',
      '    spec:',
      '      containers: [{ name: web, image: web:1 }]',
      '',
    ].join('\n');
    const unix = await lintFiles({ 'k8s/d.yaml': text }, { checks: ['lint/replicas'] });
    const windows = await lintFiles({ 'k8s/d.yaml': text.replace(/\n/g, '\r\n') }, { checks: ['lint/replicas'] });
    expect(lines(windows, 'lint/replicas')).toEqual(['k8s/d.yaml:6']);
    expect(lines(windows, 'lint/replicas')).toEqual(lines(unix, 'lint/replicas'));
    const multi = await lintFiles(
      { 'k8s/d.yaml': `${text}---\n${text.replace('name: web', 'name: api')}`.replace(/\n/g, '\r\n') },
      { checks: ['lint/replicas'] },
    );
    expect(lines(multi, 'lint/replicas')).toEqual(['k8s/d.yaml:6', 'k8s/d.yaml:16']);
  });

  it('says when the repository has no manifests at all', async () => {
    const result = await lintFiles({ 'README.md': '# lab', '.github/workflows/ci.yml': 'on: push\n' });
    expect(result.notGradable).toMatchObject({ reason: 'no-manifests' });
    expect(result.findings).toEqual([]);
  });

  it("does not call a repository of broken manifests ungradable: that is the student's to fix", async () => {
    const result = await lintFiles({ 'k8s/app.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x\n' });
    expect(result.notGradable).toBeUndefined();
    expect(lines(result, 'lint/yaml-valid')).toEqual(['k8s/app.yaml:3']);
  });
});

/**
 * Findings that grading real student repositories showed to be false, each
 * with the true finding next to it that must still fire:
 *
 *  - selectors matched pods of other namespaces (victoriacheng15/kubernetes-lab:
 *    a Service without a namespace "sent port 3306 to" Redis pods of three other labs)
 *  - Helm test hooks graded as workloads (the stock `helm create` test-connection Pod)
 *  - yes/no switches under password-sounding names (`MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`)
 *  - a placeholder ConfigMap `key: value` (antoinedespres/efrei-s9-kubernetes-project)
 */
import { describe, expect, it } from '@jest/globals';
import type { LintResult } from '../src/index.js';
import { lintFiles } from './helpers/lint.js';

const found = (result: LintResult, checkId: string) =>
  result.findings
    .filter((f) => f.checkId === checkId)
    .map((f) => `${f.severity} ${f.location?.file}:${f.location?.line} ${f.message}`);

function deployment(name: string, options: { namespace?: string; labels?: string; port?: number } = {}): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    `  name: ${name}`,
    ...(options.namespace ? [`  namespace: ${options.namespace}`] : []),
    'spec:',
    `  selector: { matchLabels: ${options.labels ?? `{ app: ${name} }`} }`,
    '  template:',
    `    metadata: { labels: ${options.labels ?? `{ app: ${name} }`} }`,
    '    spec:',
    '      containers:',
    `        - name: ${name}`,
    '          image: ghcr.io/acme/app:1.0.0',
    ...(options.port ? [`          ports: [{ containerPort: ${options.port} }]`] : []),
    '',
  ].join('\n');
}

describe('selectors match pods of their own namespace only', () => {
  it('a Service without a namespace is not judged by the pods of team-b (the repro-ns trial)', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          deployment('web', { port: 80 }),
          'apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  selector: {app: web}\n  ports: [{port: 80, targetPort: 80}]\n',
          deployment('web', { namespace: 'team-b', port: 8080 }),
        ].join('---\n'),
      },
      { checks: ['lint/service-target-port', 'lint/service-selector'] },
    );
    expect(result.findings).toEqual([]);
  });

  it('says why a Service whose pods are in another namespace has no endpoints', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          'apiVersion: v1\nkind: Service\nmetadata: {name: api}\nspec:\n  selector: {app: api}\n  ports: [{port: 80}]\n',
          deployment('api', { namespace: 'team-b', port: 80 }),
        ].join('---\n'),
      },
      { checks: ['lint/service-selector'] },
    );
    expect(found(result, 'lint/service-selector')).toEqual([
      'error k8s/app.yaml:5 Service api selects app=api, but only pods of other namespaces have these labels (Deployment team-b/api), and a Service selects pods of its own namespace only (Service api sets no namespace, so it lands where it is applied: `default` with a plain kubectl apply); give the Service and the workload the same metadata.namespace, or the Service has no endpoints',
    ]);
  });

  it('counts a NetworkPolicy only for the pods of its namespace, `default` being the one of manifests without a namespace', async () => {
    const policy = (name: string, namespace?: string) =>
      `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec:\n  podSelector: {}\n  policyTypes: [Ingress]\n`;
    const result = await lintFiles(
      {
        'k8s/web.yaml': deployment('web'),
        'k8s/dns-test.yaml': deployment('dns-test', { namespace: 'default' }),
        'k8s/deny.yaml': policy('deny'),
        'k8s/shop.yaml': [deployment('api', { namespace: 'shop' }), policy('shop-deny', 'other')].join('---\n'),
      },
      { checks: ['lint/networkpolicy-present'] },
    );
    expect(found(result, 'lint/networkpolicy-present')).toEqual([
      'warning k8s/shop.yaml:4 Namespace shop has no NetworkPolicy: the pods of its 1 workload (Deployment shop/api) accept connections from every pod in the cluster and can reach anything; add a default-deny policy and allow what each workload needs',
    ]);
  });

  it('tells NetworkPolicy selectors of the own namespace from pods that are in another one', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          deployment('web', { namespace: 'shop' }),
          deployment('db', { namespace: 'data' }),
          [
            'apiVersion: networking.k8s.io/v1',
            'kind: NetworkPolicy',
            'metadata: { name: web-to-db, namespace: shop }',
            'spec:',
            '  podSelector: { matchLabels: { app: web } }',
            '  policyTypes: [Egress]',
            '  egress:',
            '    - to:',
            '        - podSelector: { matchLabels: { app: db } }',
            '',
          ].join('\n'),
          'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: db, namespace: shop }\nspec:\n  podSelector: { matchLabels: { app: db } }\n  policyTypes: [Ingress]\n',
        ].join('---\n'),
      },
      { checks: ['lint/networkpolicy-selector'] },
    );
    expect(found(result, 'lint/networkpolicy-selector')).toEqual([
      'warning k8s/app.yaml:37 NetworkPolicy shop/web-to-db allows traffic to pods labelled app=db of its own namespace, but only pods of other namespaces have these labels (Deployment data/db), so this rule does not allow that traffic; add a namespaceSelector for their namespace next to the podSelector, or move the policy to it',
      'warning k8s/app.yaml:43 NetworkPolicy shop/db applies to pods labelled app=db, but only pods of other namespaces have these labels (Deployment data/db), and a NetworkPolicy applies to pods of its own namespace only (NetworkPolicy shop/db is in namespace shop); give the policy the namespace of the pods it is for, or it restricts none of them',
    ]);
  });

  it('a budget of another namespace neither doubles nor replaces the one of the pods', async () => {
    const pdb = (name: string, namespace?: string) =>
      `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: ${name}\n${namespace ? `  namespace: ${namespace}\n` : ''}spec:\n  maxUnavailable: 1\n  selector: { matchLabels: { app: web } }\n`;
    const result = await lintFiles(
      {
        'k8s/app.yaml': [deployment('web', { namespace: 'shop' }), pdb('web', 'shop'), pdb('web-other')].join('---\n'),
      },
      { checks: ['lint/pdb-drain'] },
    );
    expect(found(result, 'lint/pdb-drain')).toEqual([
      'warning k8s/app.yaml:30 PodDisruptionBudget web-other selects no pod template of its namespace: only pods of other namespaces have these labels (Deployment shop/web), and a budget covers pods of its own namespace only (PodDisruptionBudget web-other sets no namespace, so it lands where it is applied: `default` with a plain kubectl apply); give it their namespace, or it protects nothing',
    ]);
  });

  it('still lets a ServiceMonitor with namespaceSelector.any and a system:serviceaccounts binding reach every namespace', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          deployment('web', { namespace: 'shop' }),
          'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop, labels: { app: web } }\nspec:\n  selector: { app: web }\n  ports: [{ port: 80 }]\n',
          'apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: { name: web, namespace: monitoring }\nspec:\n  namespaceSelector: { any: true }\n  selector: { matchLabels: { app: web } }\n  endpoints: [{ port: http }]\n',
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: everyone-admin }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin }\nsubjects:\n  - { kind: Group, name: "system:serviceaccounts", apiGroup: rbac.authorization.k8s.io }\n',
        ].join('---\n'),
      },
      { checks: ['lint/observability-metrics', 'lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/observability-metrics')).toEqual([]);
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      'error k8s/app.yaml:33 ClusterRoleBinding everyone-admin gives all ServiceAccounts (used by Deployment shop/web) the cluster-admin role across the whole cluster',
    ]);
  });
});

describe('Helm hooks are not workloads of the release', () => {
  // `helm template` output of a chart with the stock test-connection Pod and a migration Job.
  const rendered = [
    deployment('web', { namespace: 'shop', labels: '{ app: web }', port: 8080 }).replace(
      'ports: [{ containerPort: 8080 }]',
      'ports: [{ name: http, containerPort: 8080 }]',
    ),
    'apiVersion: v1\nkind: Service\nmetadata: { name: web, namespace: shop }\nspec:\n  selector: { app: web }\n  ports: [{ port: 80, targetPort: http }]\n',
    [
      'apiVersion: v1',
      'kind: Pod',
      'metadata:',
      '  name: web-test-connection',
      '  namespace: shop',
      '  labels: { app: web }',
      '  annotations:',
      '    "helm.sh/hook": test',
      'spec:',
      '  containers:',
      '    - name: wget',
      '      image: busybox',
      '      command: [wget]',
      '      args: ["web:80"]',
      '      env:',
      '        - { name: ADMIN_PASSWORD, value: hunter2 }',
      '  restartPolicy: Never',
      '',
    ].join('\n'),
    [
      'apiVersion: batch/v1',
      'kind: Job',
      'metadata:',
      '  name: web-migrate',
      '  namespace: shop',
      '  annotations: { "helm.sh/hook": "pre-install,pre-upgrade" }',
      'spec:',
      '  template:',
      '    metadata: { labels: { app: web } }',
      '    spec:',
      '      restartPolicy: Never',
      '      containers:',
      '        - { name: migrate, image: "ghcr.io/acme/web:latest" }',
      '',
    ].join('\n'),
  ].join('---\n');

  it('grades neither the test Pod nor the migration Job as workloads, but still finds a password written in them', async () => {
    const result = await lintFiles({ 'k8s/rendered.yaml': rendered });
    // The hook Pod starts at line 23, the Job after it.
    const inHooks = (f: { location?: { line: number } }) => (f.location?.line ?? 0) >= 23;
    expect(
      result.findings.filter((f) => f.severity !== 'info' && (f.checkId.includes('service') || inHooks(f))),
    ).toEqual([
      expect.objectContaining({
        checkId: 'lint/env-secret-literal',
        location: expect.objectContaining({ line: 38 }),
        message:
          'Env var ADMIN_PASSWORD of container "wget" (Pod shop/web-test-connection) holds a literal secret-looking value; read it from a Secret with valueFrom.secretKeyRef',
      }),
    ]);
  });
});

describe('secret-sounding names', () => {
  const env = (entries: string[]) =>
    deployment('db', { namespace: 'shop' }).replace(
      '          image: ghcr.io/acme/app:1.0.0\n',
      `          image: ghcr.io/acme/app:1.0.0\n          env:\n${entries.map((e) => `            - ${e}\n`).join('')}`,
    );

  it('a yes/no switch is no credential, a password still is', async () => {
    const result = await lintFiles(
      {
        'k8s/db.yaml': env([
          '{ name: MYSQL_ALLOW_EMPTY_PASSWORD, value: "yes" }',
          '{ name: MYSQL_RANDOM_ROOT_PASSWORD, value: "true" }',
          '{ name: ALLOW_EMPTY_PASSWORD, value: "no" }',
          '{ name: POSTGRES_HOST_AUTH_METHOD, value: trust }',
          '{ name: POSTGRES_PASSWORD, value: postgres }',
          '{ name: MYSQL_ROOT_PASSWORD, value: "1234" }',
        ]),
      },
      { checks: ['lint/env-secret-literal'] },
    );
    expect(found(result, 'lint/env-secret-literal').map((f) => f.split(' ').slice(0, 5).join(' '))).toEqual([
      'error k8s/db.yaml:19 Env var POSTGRES_PASSWORD',
      'error k8s/db.yaml:20 Env var MYSQL_ROOT_PASSWORD',
    ]);
  });

  it('a placeholder `key: value` is not a secret; api_key and secret_key are, and the message quotes the key', async () => {
    const result = await lintFiles(
      {
        'k8s/config.yaml':
          'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: gateway\n# No data\ndata:\n  key: value\n  api_key: 8f14e45fceea167a5a36dedd4bea2543\n  secret_key: hunter2hunter2\n  MYSQL_ALLOW_EMPTY_PASSWORD: "yes"\n',
      },
      { checks: ['lint/configmap-secrets'] },
    );
    expect(found(result, 'lint/configmap-secrets')).toEqual([
      'error k8s/config.yaml:8 ConfigMap gateway key "api_key" looks like a secret; move it to a Secret',
      'error k8s/config.yaml:9 ConfigMap gateway key "secret_key" looks like a secret; move it to a Secret',
    ]);
  });
});

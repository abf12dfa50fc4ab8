/**
 * Findings that grading real student repositories showed to be false, each
 * with the true finding next to it that must still fire:
 *
 *  - selectors matched pods of other namespaces (victoriacheng15/kubernetes-lab:
 *    a Service without a namespace "sent port 3306 to" Redis pods of three other labs)
 *  - Helm test hooks graded as workloads (the stock `helm create` test-connection Pod)
 *  - yes/no switches under password-sounding names (`MYSQL_ALLOW_EMPTY_PASSWORD: "yes"`)
 *  - a placeholder ConfigMap `key: value` (antoinedespres/efrei-s9-kubernetes-project)
 *
 * and the legitimate cases next to two gaps closed later: Secrets every pod of
 * a namespace can read (a dedicated ServiceAccount reading one named Secret,
 * an operator's own ServiceAccount, are not), and objects defined twice (base
 * and overlays, per-environment renderings and other namespaces are not).
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

describe('RBAC: what every pod of a namespace can read', () => {
  const role = (name: string, rule: string, namespace = 'shop') =>
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: { name: ${name}, namespace: ${namespace} }\nrules:\n  - ${rule}\n`;
  const binding = (name: string, roleName: string, subject: string, namespace = 'shop') =>
    `apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: { name: ${name}, namespace: ${namespace} }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: Role, name: ${roleName} }\nsubjects:\n  - ${subject}\n`;
  const withAccount = (yaml: string, account: string) =>
    yaml.replace('      containers:\n', `      serviceAccountName: ${account}\n      containers:\n`);
  const readAll = '{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch"] }';

  it('a Role reading every Secret bound to default is reported at the subject; for a dedicated ServiceAccount, or one named Secret, it is not', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          deployment('web', { namespace: 'shop' }),
          withAccount(deployment('worker', { namespace: 'shop' }), 'worker'),
        ].join('---\n'),
        'k8s/rbac.yaml': [
          role('read-secrets', readAll),
          binding('default-read-secrets', 'read-secrets', '{ kind: ServiceAccount, name: default }'),
          binding('worker-read-secrets', 'read-secrets', '{ kind: ServiceAccount, name: worker }'),
          role(
            'read-db-credentials',
            '{ apiGroups: [""], resources: ["secrets"], resourceNames: ["db-credentials"], verbs: ["get"] }',
          ),
          binding('default-read-db-credentials', 'read-db-credentials', '{ kind: ServiceAccount, name: default }'),
        ].join('---\n'),
      },
      { checks: ['lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      'error k8s/rbac.yaml:12 RoleBinding shop/default-read-secrets grants Role shop/read-secrets (get, list, watch on Secrets, k8s/rbac.yaml:5) to ServiceAccount default, which every pod of namespace shop without a serviceAccountName runs as (Deployment shop/web): any of those pods can read every Secret of namespace shop, credentials meant for other workloads included',
    ]);
    expect(result.findings[0]?.fixHint).toContain('resourceNames: ["db-credentials"]');
    expect(result.runs[0]?.outcome).toMatchObject({ examined: 3, passed: 2 });
  });

  it('the one ServiceAccount every workload runs as is the same as default; an operator reading the Secrets of its own namespace is not', async () => {
    const result = await lintFiles(
      {
        'k8s/app.yaml': [
          withAccount(deployment('web', { namespace: 'shop' }), 'app'),
          withAccount(deployment('worker', { namespace: 'shop' }), 'app'),
          withAccount(deployment('rotator', { namespace: 'operators' }), 'rotator'),
        ].join('---\n'),
        'k8s/rbac.yaml': [
          role('read-secrets', readAll),
          binding('app-read-secrets', 'read-secrets', '{ kind: ServiceAccount, name: app }'),
          role(
            'rotator',
            '{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list", "watch", "update"] }',
            'operators',
          ),
          binding('rotator', 'rotator', '{ kind: ServiceAccount, name: rotator }', 'operators'),
        ].join('---\n'),
      },
      { checks: ['lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      'error k8s/rbac.yaml:12 RoleBinding shop/app-read-secrets grants Role shop/read-secrets (get, list, watch on Secrets, k8s/rbac.yaml:5) to ServiceAccount app, which every workload of namespace shop runs as (Deployment shop/web, Deployment shop/worker): any of those pods can read every Secret of namespace shop, credentials meant for other workloads included',
    ]);
  });

  it('every ServiceAccount of the cluster reading every Secret of every namespace', async () => {
    const result = await lintFiles(
      {
        'k8s/rbac.yaml':
          'apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: { name: secret-reader }\nrules:\n  - { apiGroups: ["*"], resources: ["secrets"], verbs: ["list"] }\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: { name: everyone-reads-secrets }\nroleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: secret-reader }\nsubjects:\n  - kind: Group\n    apiGroup: rbac.authorization.k8s.io\n    name: system:serviceaccounts\n',
      },
      { checks: ['lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      'error k8s/rbac.yaml:10 ClusterRoleBinding everyone-reads-secrets gives all ServiceAccounts ClusterRole secret-reader, which grants "*" apiGroups (k8s/rbac.yaml:5)',
      'error k8s/rbac.yaml:14 ClusterRoleBinding everyone-reads-secrets grants ClusterRole secret-reader (list on Secrets, k8s/rbac.yaml:5) to every ServiceAccount of the cluster (group system:serviceaccounts), that is every pod of every namespace: any of those pods can read every Secret of every namespace, credentials meant for other workloads included',
    ]);
  });

  it('a roleRef the API server refuses is reported at its line, whoever the subjects are', async () => {
    const refused = (kind: string, apiGroup: string, roleKind: string, subject: string) =>
      `apiVersion: rbac.authorization.k8s.io/v1\nkind: ${kind}\nmetadata: { name: ops, namespace: shop }\nroleRef:\n  apiGroup: ${apiGroup}\n  kind: ${roleKind}\n  name: view\nsubjects:\n  - ${subject}\n`;
    const user = '{ kind: User, apiGroup: rbac.authorization.k8s.io, name: ops@example.com }';
    const result = await lintFiles(
      {
        'k8s/a.yaml': refused('RoleBinding', '""', 'ClusterRole', '{ kind: ServiceAccount, name: web }'),
        'k8s/b.yaml': refused('RoleBinding', 'rbac.authorization.k8s.io/v1', 'ClusterRole', user),
        'k8s/c.yaml': refused('ClusterRoleBinding', 'rbac.authorization.k8s.io', 'Role', user),
        'k8s/d.yaml': refused('RoleBinding', 'rbac.authorization.k8s.io', 'ClusterRole', user),
      },
      { checks: ['lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      'error k8s/a.yaml:5 The API server refuses RoleBinding shop/ops: roleRef.apiGroup must be "rbac.authorization.k8s.io", not "" (the binding is never created and grants nothing)',
      'error k8s/b.yaml:5 The API server refuses RoleBinding shop/ops: roleRef.apiGroup must be "rbac.authorization.k8s.io" (the group alone, without its version), not "rbac.authorization.k8s.io/v1" (the binding is never created and grants nothing)',
      'error k8s/c.yaml:6 The API server refuses ClusterRoleBinding shop/ops: roleRef.kind must be "ClusterRole" in a ClusterRoleBinding, not "Role" (the binding is never created and grants nothing)',
    ]);
  });

  it('a refused binding that would hand every Secret to the default ServiceAccount says both, the second as what it would do once fixed', async () => {
    const result = await lintFiles(
      {
        'k8s/rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: { name: reader, namespace: shop }
rules:
  - { apiGroups: [""], resources: [secrets], verbs: [get, list] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: reader-binding, namespace: shop }
subjects:
  - kind: ServiceAccount
    name: default
    namespace: shop
roleRef:
  kind: Role
  name: reader
  apiGroup: ""
`,
      },
      { checks: ['lint/rbac-privileged'] },
    );
    expect(found(result, 'lint/rbac-privileged')).toEqual([
      expect.stringMatching(
        /^error k8s\/rbac\.yaml:12 RoleBinding shop\/reader-binding would grant, once its roleRef is fixed, Role shop\/reader \(get, list on Secrets, k8s\/rbac\.yaml:5\) to ServiceAccount default, /,
      ),
      'error k8s/rbac.yaml:17 The API server refuses RoleBinding shop/reader-binding: roleRef.apiGroup must be "rbac.authorization.k8s.io", not "" (the binding is never created and grants nothing)',
    ]);
  });
});

describe('duplicate objects: one build at a time', () => {
  const namespace = (name: string, labels = '') =>
    `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n${labels ? `  labels: ${labels}\n` : ''}`;
  const kustomization = (resources: string[]) =>
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map((r) => `  - ${r}\n`).join('')}`;

  it('the second definition is reported at its name, naming the first one; without a namespace is in default', async () => {
    const result = await lintFiles(
      {
        'k8s/a.yaml': deployment('web', { namespace: 'default' }),
        'k8s/b.yaml': `# v2\n${deployment('web', { port: 8080 })}`,
        'k8s/c.yaml': [deployment('web', { namespace: 'other' }), namespace('shop'), namespace('shop')].join('---\n'),
      },
      { checks: ['lint/duplicate-object'] },
    );
    expect(found(result, 'lint/duplicate-object')).toEqual([
      'error k8s/b.yaml:5 Deployment default/web is already defined at k8s/a.yaml:4 (an object without a namespace lands in default), differently: kubectl apply applies both and the one applied last replaces the other, so the cluster runs only one of the definitions that were graded; keep one (or give this one another name)',
      'info k8s/c.yaml:23 Namespace shop is already defined at k8s/c.yaml:18, identically: kubectl apply leaves it as it is, but keep one copy, or a change made to one of them will be undone by the other',
    ]);
  });

  it('kustomization trees linted as written are builds of their own, and so is each file of committed helm template output', async () => {
    const rendered = (replicas: number) =>
      `---\n# Source: web/templates/deployment.yaml\n${deployment('web', { namespace: 'shop' }).replace('spec:\n', `spec:\n  replicas: ${replicas}\n`)}`;
    const result = await lintFiles(
      {
        'deploy/base/kustomization.yaml': kustomization(['deployment.yaml']),
        'deploy/base/deployment.yaml': deployment('api'),
        'deploy/overlays/dev/kustomization.yaml': kustomization(['../../base', 'namespace.yaml']),
        'deploy/overlays/dev/namespace.yaml': namespace('api', '{ env: dev }'),
        'deploy/overlays/prod/kustomization.yaml': kustomization(['../../base', 'namespace.yaml', 'extra.yaml']),
        'deploy/overlays/prod/namespace.yaml': namespace('api', '{ env: prod }'),
        // Within one tree, a copy is still a copy.
        'deploy/overlays/prod/extra.yaml': namespace('api', '{ env: production }'),
        'rendered/dev.yaml': rendered(1),
        'rendered/prod.yaml': rendered(3),
        'k8s/api.yaml': deployment('api'),
      },
      { checks: ['lint/duplicate-object'] },
    );
    // No runner: the kustomizations are linted as written (lint/render says so).
    expect(found(result, 'lint/duplicate-object')).toEqual([
      'error deploy/overlays/prod/namespace.yaml:4 Namespace api is already defined at deploy/overlays/prod/extra.yaml:4, differently: kubectl apply applies both and the one applied last replaces the other, so the cluster runs only one of the definitions that were graded; keep one (or give this one another name)',
    ]);
  });
});

import { describe, expect, it } from '@jest/globals';
import { loadKubeSchema } from '../src/index.js';
import { lintFiles } from './helpers/lint.js';

async function schemaFindings(text: string) {
  const result = await lintFiles({ 'k8s/app.yaml': text }, { checks: ['lint/schema-valid'] });
  return result.findings.map((f) => ({
    line: f.location?.line,
    column: f.location?.column,
    severity: f.severity,
    message: f.message,
  }));
}

describe('schema validation (Kubernetes 1.33)', () => {
  it('explains typos with the field they meant, at the key', async () => {
    const findings = await schemaFindings(
      [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata:',
        '  name: web',
        'spec:',
        '  selector: { matchLabels: { app: web } }',
        '  template:',
        '    metadata: { labels: { app: web } }',
        '    spec:',
        '      containers:',
        '        - name: web',
        '          image: web:1.0.0',
        '          readinessprobe:',
        '            httpGet: { path: /, port: 80 }',
        '          resources:',
        '            limit: { memory: 1Gi }',
        '',
      ].join('\n'),
    );
    expect(findings).toEqual([
      {
        line: 13,
        column: 11,
        severity: 'error',
        message:
          'spec.template.spec.containers.0.readinessprobe: unknown field "readinessprobe" (did you mean "readinessProbe"?)',
      },
      {
        line: 16,
        column: 13,
        severity: 'error',
        message: 'spec.template.spec.containers.0.resources.limit: unknown field "limit" (did you mean "limits"?)',
      },
    ]);
  });

  it('reports wrong types, bad quantities, enums, labels that are not strings and missing required fields', async () => {
    const findings = await schemaFindings(
      [
        'apiVersion: v1',
        'kind: Service',
        'metadata:',
        '  name: web',
        '  labels:',
        '    version: 2',
        'spec:',
        '  type: Loadbalancer',
        '  ports:',
        '    - port: "80"',
        '---',
        'apiVersion: v1',
        'kind: Pod',
        'metadata:',
        '  name: p',
        'spec:',
        '  containers:',
        '    - image: busybox:1.36',
        '      resources:',
        '        limits: { memory: 1GB }',
        '',
      ].join('\n'),
    );
    expect(findings.map((f) => [f.line, f.message])).toEqual([
      [6, 'metadata.labels.version: expected a string, got the number 2; quote it'],
      [
        8,
        'spec.type: "Loadbalancer" is not one of ClusterIP, NodePort, LoadBalancer, ExternalName (did you mean "LoadBalancer"?)',
      ],
      [10, 'spec.ports.0.port: expected an integer, got the string "80"'],
      [18, 'spec.containers.0: missing required field "name"'],
      [
        20,
        'spec.containers.0.resources.limits.memory: "1GB" is not a Kubernetes quantity (examples: 250m, 0.5, 128Mi, 1Gi; units are case-sensitive, and MB/GB are not units)',
      ],
    ]);
  });

  it('knows which apiVersions Kubernetes 1.33 serves, and treats other groups as custom resources', async () => {
    const findings = await schemaFindings(
      [
        'apiVersion: policy/v1beta1',
        'kind: PodDisruptionBudget',
        'metadata: { name: old }',
        '---',
        'apiVersion: app/v1',
        'kind: Deployment',
        'metadata: { name: typo }',
        '---',
        'apiVersion: v1',
        'kind: Deploymnet',
        'metadata: { name: kind-typo }',
        '---',
        'apiVersion: monitoring.coreos.com/v1',
        'kind: ServiceMonitor',
        'metadata: { name: web }',
        '---',
        'kind: ConfigMap',
        'metadata: { name: no-version }',
        '---',
        'apiVersion: v1',
        'kind: Namespace',
        'metadata: { name: shop, namespace: default }',
        '',
      ].join('\n'),
    );
    expect(findings.map((f) => [f.line, f.severity, f.message])).toEqual([
      [1, 'error', 'Kubernetes 1.33 does not serve PodDisruptionBudget at apiVersion policy/v1beta1; use policy/v1'],
      [5, 'error', 'Kubernetes 1.33 does not serve Deployment at apiVersion app/v1; use apps/v1'],
      [10, 'error', 'Kubernetes 1.33 has no kind "Deploymnet" in v1 (did you mean Deployment?)'],
      [13, 'info', 'ServiceMonitor web is a custom resource (monitoring.coreos.com/v1); its fields were not validated'],
      [17, 'error', 'ConfigMap no-version has no apiVersion; add one (for example apps/v1 for a Deployment)'],
      [22, 'warning', 'Namespace is cluster-scoped; metadata.namespace "default" is ignored'],
    ]);
  });

  it('loads the generated schema with the kinds and scopes students use', () => {
    const schema = loadKubeSchema('1.33');
    expect(schema.kind('apps/v1', 'Deployment')).toEqual({ t: 'apps.v1.Deployment', ns: true });
    expect(schema.kind('rbac.authorization.k8s.io/v1', 'ClusterRole')?.ns).toBe(false);
    expect(schema.resourceNamespaced('', 'pods')).toBe(true);
    expect(schema.resourceNamespaced('', 'nodes')).toBe(false);
    expect(schema.servingVersions('HorizontalPodAutoscaler').sort()).toEqual(['autoscaling/v1', 'autoscaling/v2']);
  });
});

/**
 * Rule options a rubric sets. The fixtures under fixtures/rules/ run every
 * rule with its defaults; these cases need a non-default option.
 */
import { describe, expect, it } from '@jest/globals';
import { lines, lintFiles } from './helpers/lint.js';

function deployment(replicas: number, affinity: string): string {
  return [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata: { name: web, namespace: shop }',
    'spec:',
    `  replicas: ${replicas}`,
    '  selector: { matchLabels: { app: web } }',
    '  template:',
    '    metadata: { labels: { app: web } }',
    '    spec:',
    affinity,
    '      containers: [{ name: web, image: "ghcr.io/acme/web:1.0.0" }]',
    '',
  ].join('\n');
}

const requiredOnHostname = [
  '      affinity:',
  '        podAntiAffinity:',
  '          requiredDuringSchedulingIgnoredDuringExecution:',
  '            - topologyKey: kubernetes.io/hostname',
  '              labelSelector: { matchLabels: { app: web } }', // line 14
].join('\n');

describe('lint/pod-spread with the cluster node count', () => {
  it('is an error when a required anti-affinity needs more nodes than the cluster has', async () => {
    const result = await lintFiles(
      { 'k8s/web.yaml': deployment(3, requiredOnHostname) },
      { checks: [{ id: 'lint/pod-spread', options: { nodes: 1 } }] },
    );
    expect(lines(result, 'lint/pod-spread')).toEqual(['k8s/web.yaml:14']);
    expect(result.findings[0]).toMatchObject({
      severity: 'error',
      message: expect.stringContaining('the cluster has 1 node: 2 pods would stay Pending') as unknown,
    });
  });

  it('accepts the same anti-affinity when there are enough nodes, or when the count is unknown', async () => {
    for (const options of [{ nodes: 3 }, {}]) {
      const result = await lintFiles(
        { 'k8s/web.yaml': deployment(3, requiredOnHostname) },
        { checks: [{ id: 'lint/pod-spread', options }] },
      );
      expect(result.findings).toEqual([]);
      expect(result.runs[0]?.outcome).toMatchObject({ examined: 1, passed: 1 });
    }
  });

  it('never objects to a preferred anti-affinity, whatever the node count', async () => {
    const preferred = requiredOnHostname
      .replace('requiredDuringSchedulingIgnoredDuringExecution:', 'preferredDuringSchedulingIgnoredDuringExecution:')
      .replace(
        '            - topologyKey:',
        '            - weight: 100\n              podAffinityTerm:\n                topologyKey:',
      )
      .replace('              labelSelector:', '                labelSelector:');
    const result = await lintFiles(
      { 'k8s/web.yaml': deployment(5, preferred) },
      { checks: [{ id: 'lint/pod-spread', options: { nodes: 1 } }] },
    );
    expect(result.findings).toEqual([]);
    expect(result.runs[0]?.outcome).toMatchObject({ examined: 1, passed: 1 });
  });
});

import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome, KubeObjectRef, ManifestInventory } from '@labgrader/core';
import { buildDocument } from '../src/markdown/document.js';
import { parseMarkdown } from '../src/markdown/parse.js';
import { findMentions } from '../src/kube/mentions.js';
import { prepare, run } from './helpers/grade.js';
import { memoryRepo } from './helpers/memory-repo.js';

function inventory(...specs: [kind: string, name: string, namespace?: string][]): ManifestInventory {
  const objects: KubeObjectRef[] = specs.map(([kind, name, namespace], i) => ({
    apiVersion: 'v1',
    kind,
    name,
    ...(namespace ? { namespace } : {}),
    location: { file: `k8s/${kind.toLowerCase()}.yaml`, line: i + 1, column: 1 },
  }));
  return { objects, files: [...new Set(objects.map((o) => o.location.file))] };
}

const LAB = inventory(
  ['Namespace', 'lab85'],
  ['Deployment', 'web', 'lab85'],
  ['Service', 'web', 'lab85'],
  ['ConfigMap', 'web-config', 'lab85'],
  ['StatefulSet', 'cache', 'lab85'],
);

async function consistency(notes: string, inv: ManifestInventory = LAB, options: unknown = {}): Promise<CheckOutcome> {
  return run(
    await prepare(memoryRepo({ 'architecture-notes.md': notes }), { inventory: inv }),
    'docs/manifest-consistency',
    options,
  );
}

async function mentions(notes: string): Promise<string[]> {
  const parsed = await parseMarkdown(notes);
  if (!parsed.ok) throw new Error(parsed.message);
  return findMentions(buildDocument('n.md', notes, parsed.tree)).map(
    (m) => `${m.kind}/${m.name}@${m.line}:${m.form}${m.strong ? '' : ':weak'}`,
  );
}

const lines = (o: CheckOutcome): string[] => o.findings.map((f) => `${f.location?.line} ${f.subject}: ${f.message}`);

describe('mentions of Kubernetes objects', () => {
  it('recognises kind/name, kind next to inline code and kubectl commands', async () => {
    const notes = [
      'The Deployment `web` and the `web-config` ConfigMap, a Service named `web`.', // 1
      'Rolled back with `kubectl rollout undo deployment/web` and `kubectl -n lab85 scale statefulset cache --replicas=2`.', // 2
      '',
      '```console',
      '$ kubectl delete svc web-old',
      'deployment.apps/web restarted',
      '```',
      '',
      '- **NetworkPolicy `default-deny`** blocks traffic; [the ServiceAccount `web`](k8s/sa.yaml).',
    ].join('\n');
    expect(await mentions(notes)).toEqual([
      'Deployment/web@1:adjacent',
      'ConfigMap/web-config@1:adjacent',
      'Service/web@1:adjacent',
      'Deployment/web@2:slash',
      'StatefulSet/cache@2:kubectl',
      'Service/web-old@5:kubectl',
      'Deployment/web@6:slash',
      'NetworkPolicy/default-deny@9:adjacent',
      'ServiceAccount/web@9:adjacent',
    ]);
  });

  it('ignores prose that only looks like object names', async () => {
    const notes = [
      'The web service talks to the `db` service, and ingress/egress rules apply.', // lower-case service: prose
      'A Service/Deployment pair, the pod/container split, see https://kubernetes.io/docs/concepts/services-networking/service/.',
      'Secrets are created with `kubectl create secret generic web-secrets`.',
      'The `lab85` namespace, the `cache` svc, and Deployments `a` and `b`.',
      '',
      '```mermaid',
      'flowchart LR',
      '  svc/ghost --> deployment/phantom',
      '```',
      '',
      '```yaml',
      'kind: Service',
      'metadata: { name: yaml-only }',
      '```',
    ].join('\n');
    expect(await mentions(notes)).toEqual(['Secret/web-secrets@3:kubectl']);
    expect(await mentions('Then service/frontend took over.')).toEqual(['Service/frontend@1:slash:weak']);
  });
});

describe('docs/manifest-consistency', () => {
  it('reports objects the notes name that the manifests lack, and workloads the notes never mention', async () => {
    const notes = [
      '# Notes',
      '',
      '## Components',
      '',
      'The Deployment `web` reads the ConfigMap `web-cfg`; the Service `web-svc` exposes it.',
      'The Ingress `web` routes traffic. The Secret `web-secrets` holds the token.',
    ].join('\n');
    const outcome = await consistency(notes);
    expect(lines(outcome)).toEqual([
      "5 ConfigMap/web-cfg: The notes name ConfigMap 'web-cfg' (line 5), but no ConfigMap of that name is in the manifests (ConfigMap objects in the manifests: web-config).",
      "5 Service/web-svc: The notes name Service 'web-svc' (line 5), but no Service of that name is in the manifests (Service objects in the manifests: web).",
      "6 Ingress/web: The notes name Ingress 'web' (line 6), but no Ingress of that name is in the manifests (the manifests define no Ingress at all; 'web' is a Deployment/Service there).",
      "3 StatefulSet/cache: The StatefulSet 'cache' (k8s/statefulset.yaml:5) is not mentioned in the notes: describe what it runs in 'Components'.",
    ]);
    // Deployment/web (named and a workload: one subject) ok; ConfigMap, Service, Ingress wrong; Secret unchecked; cache missing.
    expect([outcome.passed, outcome.examined]).toEqual([1, 5]);
  });

  it('counts any whole-word mention of a workload name, and namespaces that objects live in', async () => {
    const notes =
      'The web tier and the cache (Redis) run in the Namespace `lab85`. The `web-config` ConfigMap is separate.';
    const outcome = await consistency(notes);
    expect([lines(outcome), outcome.passed, outcome.examined]).toEqual([[], 4, 4]);
    const partial = await consistency('Only the webhook and web-config are described.', LAB);
    expect(lines(partial).map((l) => l.split(':')[0])).toEqual(['1 Deployment/web', '1 StatefulSet/cache']);
  });

  it('is not applicable without manifests, and honours its options', async () => {
    const none = await consistency('The Service `ghost` is here.', inventory());
    expect([none.examined, none.findings]).toEqual([0, []]);
    expect(none.evidence?.[0]?.detail).toBe(
      'no Kubernetes objects were found, so the notes were not compared with the manifests',
    );
    const onlyMentions = await consistency('The Service `ghost` is here.', LAB, { requireWorkloadMentions: false });
    expect([onlyMentions.passed, onlyMentions.examined]).toEqual([0, 1]);
    const onlyWorkloads = await consistency('The Service `ghost`, web and cache.', LAB, { checkMentions: false });
    expect([onlyWorkloads.passed, onlyWorkloads.examined]).toEqual([2, 2]);
    const ignored = await consistency('The Service `ghost`, web and cache.', LAB, { ignoreNames: ['ghost'] });
    expect(ignored.findings).toEqual([]);
    const secrets = await consistency('The Secret `token`, web and cache.', LAB, { uncheckedKinds: [] });
    expect(lines(secrets)[0]).toMatch(/^1 Secret\/token: /);
  });

  it('grades a zero for each workload when the notes are missing', async () => {
    const context = await prepare(memoryRepo({ 'README.md': '# x' }), { inventory: LAB });
    const outcome = await run(context, 'docs/manifest-consistency');
    expect([outcome.passed, outcome.examined, outcome.findings.length]).toEqual([0, 2, 1]);
  });
});

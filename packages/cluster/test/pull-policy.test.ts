/**
 * Images labgrader put into the nodes run as they are: a container that
 * would pull one anyway (imagePullPolicy Always, or Kubernetes's default
 * Always for `:latest` and untagged images) is applied with IfNotPresent,
 * and the change is said at the line the student wrote. Containers of other
 * images, and pull policies that already use the node's image, are untouched.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import { discoverObjects, defaultLintSettings } from '@labgrader/manifest-lint';
import { buildPlan } from '../src/index.js';
import { effectivePullPolicy, preferImagesInNodes } from '../src/pull-policy.js';
import { repoOf, writeLab } from './helpers/fake.js';

const LAB = {
  'k8s/web.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: lab85
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      initContainers:
        - name: migrate
          image: lab85-web
      containers:
        - name: web
          image: lab85-web:latest
        - name: sidecar
          image: ghcr.io/me/lab85-proxy:1.2
          imagePullPolicy: Always
        - name: pinned
          image: ghcr.io/me/lab85-proxy:1.2
          imagePullPolicy: IfNotPresent
        - name: other
          image: redis:7
          imagePullPolicy: Always
`,
  'k8s/job.yaml': `apiVersion: batch/v1
kind: CronJob
metadata:
  name: report
  namespace: lab85
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers:
            - name: report
              image: docker.io/library/lab85-web:latest
`,
};

let lab: string;
beforeAll(() => {
  lab = writeLab(LAB);
});
afterAll(() => rmSync(lab, { recursive: true, force: true }));

async function plan() {
  const { objects } = await discoverObjects({ repo: await repoOf(lab), settings: defaultLintSettings() });
  return buildPlan(objects, { mapping: { mode: 'kind', job: 'a1b2c3' }, secrets: { synthesize: true, exclude: [] } });
}

describe('effectivePullPolicy', () => {
  it("is Kubernetes's default when none is written", () => {
    expect(effectivePullPolicy('web', undefined)).toBe('Always');
    expect(effectivePullPolicy('web:latest', undefined)).toBe('Always');
    expect(effectivePullPolicy('localhost:5000/web', undefined)).toBe('Always');
    expect(effectivePullPolicy('web:1.0', undefined)).toBe('IfNotPresent');
    expect(effectivePullPolicy(`web@sha256:${'a'.repeat(64)}`, undefined)).toBe('IfNotPresent');
    expect(effectivePullPolicy('web:1.0', 'Always')).toBe('Always');
    expect(effectivePullPolicy('web:latest', 'Never')).toBe('Never');
  });
});

describe('preferImagesInNodes', () => {
  it('sets IfNotPresent where an image in the nodes would be pulled, and says so at the line', async () => {
    const p = await plan();
    const changes = preferImagesInNodes(p.objects, ['lab85-web:latest', 'ghcr.io/me/lab85-proxy:1.2']);
    expect(changes.map((c) => [c.subject, `${c.location.file}:${c.location.line}`, c.change])).toEqual([
      [
        'CronJob lab85/report container report',
        'k8s/job.yaml:15',
        'imagePullPolicy set to IfNotPresent (was no imagePullPolicy and the tag of docker.io/library/lab85-web:latest defaults to Always): labgrader put docker.io/library/lab85-web:latest into the nodes, and a pull would ask a registry for it instead of running the one submitted',
      ],
      [
        'Deployment lab85/web initContainer migrate',
        'k8s/web.yaml:16',
        'imagePullPolicy set to IfNotPresent (was no imagePullPolicy and the tag of lab85-web defaults to Always): labgrader put lab85-web into the nodes, and a pull would ask a registry for it instead of running the one submitted',
      ],
      [
        'Deployment lab85/web container web',
        'k8s/web.yaml:19',
        'imagePullPolicy set to IfNotPresent (was no imagePullPolicy and the tag of lab85-web:latest defaults to Always): labgrader put lab85-web:latest into the nodes, and a pull would ask a registry for it instead of running the one submitted',
      ],
      [
        'Deployment lab85/web container sidecar',
        'k8s/web.yaml:22',
        'imagePullPolicy set to IfNotPresent (was Always): labgrader put ghcr.io/me/lab85-proxy:1.2 into the nodes, and a pull would ask a registry for it instead of running the one submitted',
      ],
    ]);
    const web = p.objects.find((o) => o.subject === 'Deployment lab85/web')!.manifest as {
      spec: { template: { spec: { initContainers: object[]; containers: object[] } } };
    };
    const policies = (list: object[]) => list.map((c) => (c as { imagePullPolicy?: string }).imagePullPolicy);
    expect(policies(web.spec.template.spec.initContainers)).toEqual(['IfNotPresent']);
    expect(policies(web.spec.template.spec.containers)).toEqual([
      'IfNotPresent',
      'IfNotPresent',
      'IfNotPresent',
      'Always',
    ]);
    // What the student wrote is unchanged: lint/image-pull-policy judges it.
    const source = p.objects.find((o) => o.subject === 'Deployment lab85/web')!.source;
    expect(source.get(['spec', 'template', 'spec', 'containers', 0, 'imagePullPolicy'])).toBeUndefined();
  });

  it('changes nothing when no image is in the nodes', async () => {
    const p = await plan();
    const before = JSON.stringify(p.objects.map((o) => o.manifest));
    expect(preferImagesInNodes(p.objects, [])).toEqual([]);
    expect(JSON.stringify(p.objects.map((o) => o.manifest))).toBe(before);
  });
});

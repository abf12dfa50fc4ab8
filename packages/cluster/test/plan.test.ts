/**
 * The deployment plan from real discovery of real files: namespaces kept
 * (kind) or renamed into job-private ones (existing cluster) with every
 * reference rewritten, cluster-scoped objects refused or converted (the
 * hostile cases are in isolation.test.ts), the Secrets to synthesize, and
 * which workload and Service the drills target.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { discoverObjects, defaultLintSettings } from '@labgrader/manifest-lint';
import { createNamespaces } from '../src/deploy.js';
import { Transcript, Tool } from '../src/commands.js';
import { buildPlan, jobNamespace, mainService, mainWorkload, Redactor } from '../src/index.js';
import { withPodSecurity } from '../src/plan.js';
import { silentLogger } from '@labgrader/core';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, writeLab, fakeTool } from './helpers/fake.js';

const LAB = {
  'k8s/namespace.yaml':
    'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n  labels:\n    pod-security.kubernetes.io/enforce: restricted\n',
  'k8s/api.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: { app: api }
  template:
    metadata:
      labels: { app: api, tier: backend }
    spec:
      imagePullSecrets:
        - name: registry-creds
      containers:
        - name: api
          image: registry.example/shop/api:2.1.0
          envFrom:
            - secretRef:
                name: api-env
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef: { name: db, key: password }
            - name: DB_USER
              valueFrom:
                secretKeyRef: { name: db, key: user }
            - name: FEATURE
              valueFrom:
                secretKeyRef: { name: flags, key: feature, optional: true }
            - name: DEFINED
              valueFrom:
                secretKeyRef: { name: committed, key: k }
          volumeMounts:
            - { name: tls, mountPath: /tls }
      initContainers:
        - name: migrate
          image: registry.example/shop/migrate:2.1.0
      volumes:
        - name: tls
          secret:
            secretName: api-tls
            items: [{ key: tls.crt, path: tls.crt }]
---
apiVersion: v1
kind: Service
metadata:
  name: api
  namespace: shop
spec:
  selector: { app: api }
  ports:
    - { name: grpc, port: 9000, targetPort: 9000 }
    - { name: http, port: 80, targetPort: 8080 }
---
apiVersion: v1
kind: Secret
metadata:
  name: committed
  namespace: shop
stringData:
  k: not-really-secret
`,
  'k8s/worker.yaml': `apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  replicas: 5
  selector:
    matchLabels: { app: worker }
  template:
    metadata:
      labels: { app: worker }
    spec:
      containers:
        - name: worker
          image: registry.example/shop/worker:2.1.0
`,
  'k8s/policy.yaml': `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api
  namespace: shop
spec:
  podSelector: { matchLabels: { app: api } }
  ingress:
    - from:
        - namespaceSelector:
            matchLabels: { kubernetes.io/metadata.name: shop }
        - namespaceSelector:
            matchLabels: { kubernetes.io/metadata.name: monitoring }
  egress:
    - to:
        - namespaceSelector:
            matchLabels: { kubernetes.io/metadata.name: kube-system }
`,
  'k8s/rbac.yaml': `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: api-reader
rules:
  - apiGroups: [""]
    resources: [configmaps]
    verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: api-reader
  namespace: shop
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: api-reader }
subjects:
  - { kind: ServiceAccount, name: default, namespace: shop }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: api-view
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view }
subjects:
  - { kind: ServiceAccount, name: default, namespace: shop }
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: fast
provisioner: example.com/fast
`,
};

let lab: string;
beforeAll(() => {
  lab = writeLab(LAB);
});
afterAll(() => rmSync(lab, { recursive: true, force: true }));

async function objects(dir: string) {
  return (await discoverObjects({ repo: await repoOf(dir), settings: defaultLintSettings() })).objects;
}

const secrets = { synthesize: true, exclude: [] as string[] };

describe('buildPlan', () => {
  it('kind: keeps names, creates the namespaces the manifests use but do not define, lists the images', async () => {
    const plan = buildPlan(await objects(lab), { mapping: { mode: 'kind', job: 'a1b2c3' }, secrets });
    expect(plan.namespaceObjects.map((o) => o.manifest.metadata)).toEqual([
      {
        name: 'shop',
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'app.kubernetes.io/managed-by': 'labgrader',
          'labgrader.dev/job': 'a1b2c3',
        },
      },
    ]);
    expect(plan.extraNamespaces).toEqual([]); // `default` exists in every cluster
    expect(plan.namespaces).toEqual(['default', 'shop']);
    expect(plan.objects.find((o) => o.subject === 'Deployment worker')?.namespace).toBe('default');
    // Cluster-scoped objects are never applied, even to a cluster of the job's own.
    expect(plan.refused.map((r) => [r.subject, r.rule])).toEqual([['StorageClass fast', 'cluster-scoped']]);
    expect(plan.images).toEqual([
      'registry.example/shop/migrate:2.1.0',
      'registry.example/shop/api:2.1.0',
      'registry.example/shop/worker:2.1.0',
    ]);
  });

  it('existing cluster: every namespace becomes the job’s own, with references rewritten', async () => {
    const plan = buildPlan(await objects(lab), {
      mapping: { mode: 'existing', job: 'a1b2c3', prefix: 'lg' },
      secrets,
    });
    expect(plan.namespaceObjects.map((o) => o.manifest.metadata)).toEqual([
      {
        name: 'lg-a1b2c3-shop',
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'labgrader.dev/job': 'a1b2c3',
          'app.kubernetes.io/managed-by': 'labgrader',
        },
      },
    ]);
    // The worker had no namespace: it goes to the job's `default`, which the stage creates.
    expect(plan.extraNamespaces).toEqual(['lg-a1b2c3-default']);
    expect(plan.namespaces).toEqual(['lg-a1b2c3-default', 'lg-a1b2c3-shop']);
    expect(plan.originalNamespace.get('lg-a1b2c3-shop')).toBe('shop');
    const byName = (subject: string) => plan.objects.find((o) => o.subject === subject)!.manifest;
    expect((byName('Deployment shop/api').metadata as { namespace: string }).namespace).toBe('lg-a1b2c3-shop');
    // A selector naming the lab's namespace follows it; other namespaces are left alone (ingress), and
    // egress to them is narrowed to the job's namespaces (see isolation.test.ts).
    expect(JSON.stringify(byName('NetworkPolicy shop/api').spec)).toContain(
      '"kubernetes.io/metadata.name":"lg-a1b2c3-shop"',
    );
    expect(JSON.stringify(byName('NetworkPolicy shop/api').spec)).toContain(
      '"kubernetes.io/metadata.name":"monitoring"',
    );
    expect(JSON.stringify(byName('NetworkPolicy shop/api').spec)).toContain(
      '"kubernetes.io/metadata.name":"kube-system"',
    );
    // RBAC: the lab's ClusterRole (namespaced rules only) becomes a Role in each namespace of the job;
    // bindings follow; the ClusterRoleBinding to `view` becomes RoleBindings there.
    const roles = plan.objects.filter((o) => o.manifest.kind === 'Role');
    expect(roles.map((o) => o.manifest.metadata)).toEqual([
      { name: 'api-reader', namespace: 'lg-a1b2c3-default', labels: { 'labgrader.dev/job': 'a1b2c3' } },
      { name: 'api-reader', namespace: 'lg-a1b2c3-shop', labels: { 'labgrader.dev/job': 'a1b2c3' } },
    ]);
    expect(byName('RoleBinding shop/api-reader')).toMatchObject({
      roleRef: { kind: 'Role', name: 'api-reader' },
      subjects: [{ namespace: 'lg-a1b2c3-shop' }],
    });
    expect(
      plan.objects.filter((o) => o.subject === 'ClusterRoleBinding api-view').map((o) => o.manifest),
    ).toMatchObject([
      {
        kind: 'RoleBinding',
        metadata: { name: 'api-view', namespace: 'lg-a1b2c3-default' },
        roleRef: { name: 'view' },
      },
      {
        kind: 'RoleBinding',
        metadata: { name: 'api-view', namespace: 'lg-a1b2c3-shop' },
        subjects: [{ namespace: 'lg-a1b2c3-shop' }],
      },
    ]);
    // Anything else cluster-scoped never touches a shared cluster.
    expect(plan.refused.map((r) => [r.subject, r.rule])).toEqual([['StorageClass fast', 'cluster-scoped']]);
  });

  it('synthesizes the Secrets the workloads need and the repository lacks, with the keys they read', async () => {
    const plan = buildPlan(await objects(lab), { mapping: { mode: 'kind', job: 'x' }, secrets });
    expect(
      plan.secrets.map((s) => [s.namespace, s.name, s.keys, s.references.map((r) => `${r.file}:${r.line}`)]),
    ).toEqual([
      ['shop', 'api-tls', ['tls.crt'], ['k8s/api.yaml:43']], // the key its volume projects
      ['shop', 'db', ['password', 'user'], ['k8s/api.yaml:25', 'k8s/api.yaml:28']],
      ['shop', 'api-env', [], ['k8s/api.yaml:21']], // envFrom: no key named
    ]);
    // Not: the image pull secret (a missing one does not stop a pod), the optional one, the committed one.
    const none = buildPlan(await objects(lab), {
      mapping: { mode: 'kind', job: 'x' },
      secrets: { synthesize: true, exclude: ['db', 'api-env', 'api-tls'] },
    });
    expect(none.secrets).toEqual([]);
    expect(
      buildPlan(await objects(lab), {
        mapping: { mode: 'kind', job: 'x' },
        secrets: { synthesize: false, exclude: [] },
      }).secrets,
    ).toEqual([]);
  });

  it('picks the workload a Service selects (then the most replicas), and its Service and http port', async () => {
    const plan = buildPlan(await objects(lab), { mapping: { mode: 'kind', job: 'x' }, secrets });
    const { workload } = mainWorkload(plan);
    expect(workload?.subject).toBe('Deployment shop/api'); // selected by a Service, although worker has more replicas
    expect(workload?.selectorArg).toBe('app=api');
    const { service } = mainService(plan, workload);
    expect(service).toMatchObject({ subject: 'Service shop/api', port: { port: 80, name: 'http' }, headless: false });
    expect(mainWorkload(plan, 'worker').workload?.subject).toBe('Deployment worker');
    expect(mainWorkload(plan, 'Deployment default/worker').workload?.subject).toBe('Deployment worker');
    expect(mainWorkload(plan, 'shop/nope')).toEqual({
      problem: "the rubric names the workload 'shop/nope', which the manifests do not define",
    });
    expect(mainService(plan, mainWorkload(plan, 'worker').workload)).toEqual({
      problem: 'no Service with a TCP port and a cluster IP selects the pods of Deployment worker',
    });
  });

  it('enforces Pod Security "baseline" at least on the namespaces the job creates, and stays out of kube-system', async () => {
    expect(withPodSecurity({}, 'baseline')).toEqual({ 'pod-security.kubernetes.io/enforce': 'baseline' });
    expect(withPodSecurity({ 'pod-security.kubernetes.io/enforce': 'restricted' }, 'baseline')).toEqual({
      'pod-security.kubernetes.io/enforce': 'restricted',
    });
    expect(withPodSecurity({ 'pod-security.kubernetes.io/enforce': 'privileged' }, 'baseline')).toEqual({
      'pod-security.kubernetes.io/enforce': 'baseline',
    });
    expect(withPodSecurity({}, 'privileged')).toEqual({});

    const dir = writeLab({
      ...LAB,
      'k8s/namespace.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata:\n  name: shop\n',
      'k8s/sneaky.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: sneaky\n  namespace: kube-system\n',
    });
    try {
      const plan = buildPlan(await objects(dir), { mapping: { mode: 'kind', job: 'x' }, secrets });
      expect(plan.namespaceObjects[0]?.manifest.metadata).toEqual({
        name: 'shop',
        labels: {
          'pod-security.kubernetes.io/enforce': 'baseline',
          'app.kubernetes.io/managed-by': 'labgrader',
          'labgrader.dev/job': 'x',
        },
      });
      expect(plan.refused.map((s) => [s.subject, s.reason])).toEqual([
        [
          'ConfigMap kube-system/sneaky',
          'it is in the cluster’s own kube-system namespace, where the cluster’s components run; put the lab’s objects in the lab’s namespaces',
        ],
        ['StorageClass fast', expect.stringContaining('StorageClasses are the cluster operator’s choice') as unknown],
      ]);

      // kind: `default` exists already, so it is labelled; the lab's namespace is applied with the label.
      const clock = new FakeClock();
      const runner = new FakeRunner(clock).on(/^kubectl /, { stdout: '' });
      const kubectl = fakeTool(runner, clock);
      const deps = { kubectl, clock, sleep: clock.sleep, redactor: new Redactor(), progress: () => {} };
      await createNamespaces(plan, deps, () => {});
      expect(runner.lines()).toEqual([
        'kubectl label namespace default labgrader.dev/job=x pod-security.kubernetes.io/enforce=baseline --overwrite',
        'kubectl apply -f -',
      ]);

      // Existing clusters: the generated namespace for objects without one gets the label too.
      const existing = buildPlan(await objects(dir), {
        mapping: { mode: 'existing', job: 'j1', prefix: 'lg' },
        secrets,
        podSecurity: 'restricted',
      });
      const created: string[] = [];
      const runner2 = new FakeRunner(clock).on(/^kubectl create -f -$/, { stdout: '' });
      const kubectl2 = new Tool(
        runner2,
        'kubectl',
        'kubectl',
        [],
        {},
        new Transcript(clock, 0),
        silentLogger,
        new AbortController().signal,
      );
      await createNamespaces(existing, { ...deps, kubectl: kubectl2 }, (ns) => created.push(ns));
      // Nothing goes to kube-system, not even a copy of it in a shared cluster.
      expect(created).toEqual(['lg-j1-shop', 'lg-j1-default']);
      const labels = runner2.calls.map(
        (c) =>
          (JSON.parse(c.options.input!) as { items: { metadata: { labels: object } }[] }).items[0]!.metadata.labels,
      );
      expect(labels).toHaveLength(2);
      for (const l of labels) {
        expect(l).toEqual({
          'labgrader.dev/job': 'j1',
          'app.kubernetes.io/managed-by': 'labgrader',
          'pod-security.kubernetes.io/enforce': 'restricted',
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('plans the passing example: one namespace, one Secret, the web Deployment and Service', async () => {
    const plan = buildPlan(await objects(path.join(EXAMPLES, 'lab-85-passing')), {
      mapping: { mode: 'existing', job: '0f0f0f', prefix: 'lg' },
      secrets,
    });
    expect(plan.namespaces).toEqual(['lg-0f0f0f-lab85']);
    expect(plan.secrets.map((s) => `${s.namespace}/${s.name}:${s.keys.join(',')}`)).toEqual([
      'lg-0f0f0f-lab85/web-secrets:api-token',
    ]);
    expect(mainWorkload(plan).workload?.subject).toBe('Deployment lab85/web');
    expect(jobNamespace({ mode: 'existing', job: 'abcdef', prefix: 'lg' }, 'x'.repeat(80))).toHaveLength(63);
  });
});

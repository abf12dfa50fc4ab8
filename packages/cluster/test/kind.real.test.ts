/**
 * The cluster stage against real kind clusters (the offline node image of
 * test/kind-offline/), through the CLI, end to end:
 *
 *  - kind target: the passing example gets full marks with measured
 *    recoveries, and its cluster is gone afterwards; a job that runs out of
 *    time still deletes its cluster before the report comes back;
 *  - existing target: one kind cluster created here and shared by three
 *    concurrent jobs (the passing example, a lab whose readiness probe never
 *    passes, a single-replica lab), each in namespaces of its own, graded
 *    exactly, and nothing left behind; a namespace named like the lab's is
 *    never touched.
 *
 * Runs only where the offline node image and a Docker engine are present
 * (.ci/run prepares them); otherwise it says so loudly and is skipped.
 * Nothing here is timed: durations are printed, never asserted.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { APPLIER_USER, GRADER_USER, isolationSettingsSchema } from '../src/index.js';
import { namespaceGuardrails } from '../src/isolation/guardrails.js';
import path from 'node:path';
import {
  APP_IMAGE,
  serviceAccountKubeconfig,
  KIND,
  KIND_ENV,
  KUBECTL,
  NODE_IMAGE,
  ROOT,
  clusterFindings,
  clusterPoints,
  evidence,
  HOSTILE_LAB,
  grade,
  kindClusterContainers,
  labVariant,
  measured,
  points,
  real,
  rubricWith,
  run,
  work,
} from './helpers/real-cluster.js';

real('cluster stage on a kind cluster of its own (--cluster kind)', () => {
  it('grades the passing example with full marks, measures every recovery, and deletes its cluster', async () => {
    const rubric = rubricWith('kind-pass', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-pass }'],
    ]);
    const { code, report } = await grade(
      'examples/lab-85-passing',
      ['--cluster', 'kind', '--rubric', rubric],
      KIND_ENV,
    );
    console.log(`passing example, kind: ${measured(report)}`);
    expect(code).toBe(0);
    expect(report.status).toBe('graded');
    expect(report.findings).toEqual([]);
    expect(points(report)).toEqual({
      'architecture-notes': 10,
      'architecture-diagram': 10,
      'secret-configuration': 15,
      'resources-and-probes': 15,
      'failure-analysis': 15,
      deployable: 5,
      availability: 5,
      'notes-match-manifests': 5,
      'runs-in-cluster': 5,
      'survives-failure': 15,
    });
    expect(report.score).toEqual({ points: 100, maxPoints: 100, percent: 100, rubricMaxPoints: 100 });

    // Measured, not assumed: each drill recorded its recovery time, its commands and the Service's answers.
    const recoveries = evidence(report, 'recovery-time');
    expect(recoveries.map((r) => r.replace(/^[\d.]+ s /, ''))).toEqual([
      '(pod-kill)',
      '(container-kill)',
      '(bad-rollout)',
    ]);
    for (const r of recoveries) expect(Number(r.split(' ')[0])).toBeGreaterThan(0);
    expect(evidence(report, 'pod-kill')[0]).toMatch(
      /^deleted pod web-[a-z0-9]+-[a-z0-9]+; 3\/3 pods Ready again after [\d.]+ s/,
    );
    expect(evidence(report, 'container-kill')[0]).toMatch(
      /^killed container web of pod web-\S+ \(SIGKILL\); restarted and Ready again/,
    );
    expect(evidence(report, 'bad-rollout')[0]).toMatch(
      /^set image web=127\.0\.0\.1:9\/labgrader\/bad-rollout:does-not-exist on deployment\/web; watched [\d.]+ s: at least 2\/3 pods stayed Ready, the new pods failed with (ErrImagePull|ImagePullBackOff); kubectl rollout undo: rolled back/,
    );
    expect(evidence(report, 'commands').join('\n')).toContain('docker exec lgt-pass-');
    expect(evidence(report, 'synthesized-secret')).toEqual([
      'created Secret lab85/web-secrets with random values for key api-token: the manifests use it but it is created out of band',
    ]);
    expect(evidence(report, 'images')).toEqual([`loaded from the local Docker daemon: ${APP_IMAGE}`]);

    // The cluster is gone: kind does not know it, and no container of it is left.
    const cleanup = evidence(report, 'cleanup')[0] ?? '';
    const name = /^deleted kind cluster (lgt-pass-[0-9a-f]{6}) in [\d.]+ s$/.exec(cleanup)?.[1];
    expect(name).toBeDefined();
    expect(run(KIND, ['get', 'clusters']).stdout.split('\n')).not.toContain(name);
    expect(kindClusterContainers()).not.toContain(name);
  }, 600_000);

  it('deletes its cluster before reporting, when the stage runs out of time', async () => {
    const rubric = rubricWith('kind-abort', [
      ['target: { type: kind }', 'target: { type: kind, clusterNamePrefix: lgt-abort }'],
      ['    timeoutSeconds: 600', '    timeoutSeconds: 15'],
    ]);
    const { code, report } = await grade(
      'examples/lab-85-passing',
      ['--cluster', 'kind', '--rubric', rubric],
      KIND_ENV,
    );
    expect(code).toBe(3);
    expect(report.notGradable).toMatchObject({
      reason: 'timed-out',
      message: 'the cluster stage exceeded its 15 s time budget',
    });
    expect(report.stages.find((s) => s.name === 'cluster')?.status).toBe('timed-out');
    // By the time the report is back, nothing of the job's cluster is left.
    expect(kindClusterContainers().filter((c) => c.startsWith('lgt-abort-'))).toEqual([]);
    expect(
      run(KIND, ['get', 'clusters'])
        .stdout.split('\n')
        .filter((c) => c.startsWith('lgt-abort-')),
    ).toEqual([]);
  }, 600_000);
});

real('cluster stage in an existing cluster (--kube-context), jobs sharing it as the least-privileged grader', () => {
  const cluster = `lgt-shared-${process.pid}`;
  let kubeconfig = '';
  /** The grader runs as labgrader-system/labgrader-grader, with only the RBAC deploy/grading-cluster gives it. */
  let graderKubeconfig = '';
  const kubectl = (...args: string[]) => run(KUBECTL, ['--kubeconfig', kubeconfig, ...args]);
  let namespacesBefore: string[] = [];

  beforeAll(() => {
    kubeconfig = path.join(work, 'shared-kubeconfig');
    const config = 'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n';
    const created = run(
      KIND,
      [
        'create',
        'cluster',
        '--name',
        cluster,
        '--image',
        NODE_IMAGE,
        '--config',
        '-',
        '--kubeconfig',
        kubeconfig,
        '--wait',
        '180s',
      ],
      config,
    );
    if (created.status !== 0) throw new Error(`kind create cluster failed: ${created.stderr}`);
    for (const what of ['daemonset/kube-proxy', 'deployment/coredns']) {
      const r = kubectl('-n', 'kube-system', 'rollout', 'status', what, '--timeout=180s');
      if (r.status !== 0) throw new Error(`${what}: ${r.stderr}`);
    }
    // An existing cluster has the lab's image in a registry; here it is loaded once, by the test.
    const loaded = run(KIND, ['load', 'docker-image', APP_IMAGE, '--name', cluster]);
    if (loaded.status !== 0) throw new Error(`kind load: ${loaded.stderr}`);
    // The operator's one-time setup: labgrader's identities, RBAC and admission policies.
    const bundle = kubectl('apply', '-k', path.join(ROOT, 'deploy/grading-cluster'));
    if (bundle.status !== 0) throw new Error(`kubectl apply -k deploy/grading-cluster: ${bundle.stderr}`);
    graderKubeconfig = serviceAccountKubeconfig(kubectl, 'labgrader-grader', path.join(work, 'grader-kubeconfig'));
    // Someone else's namespace named like the lab's: the jobs must never touch it.
    kubectl('create', 'namespace', 'lab85');
    kubectl('-n', 'lab85', 'create', 'configmap', 'not-yours', '--from-literal=owner=someone-else');
    namespacesBefore = kubectl('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort();
  }, 600_000);

  afterAll(() => {
    run(KIND, ['delete', 'cluster', '--name', cluster, '--kubeconfig', kubeconfig]);
    expect(kindClusterContainers()).not.toContain(cluster);
  }, 300_000);

  it('grades each job in namespaces of its own, exactly, and leaves the cluster as it found it', async () => {
    const rubric = rubricWith('shared', [['readyTimeoutSeconds: 180', 'readyTimeoutSeconds: 30']]);
    const neverReady = labVariant('never-ready', (d) => d.replace('path: /readyz', 'path: /never-ready'));
    const single = labVariant('single-replica', (d) => d.replace('replicas: 3', 'replicas: 1'));
    const env = { KUBECONFIG: graderKubeconfig, LABGRADER_KUBECTL: KUBECTL };
    const args = ['--kube-context', `kind-${cluster}`, '--rubric', rubric];
    const [passing, never, one] = await Promise.all([
      grade('examples/lab-85-passing', args, env),
      grade(neverReady, args, env),
      grade(single, args, env),
    ]);
    console.log(`existing cluster: passing ${measured(passing.report)}`);
    console.log(`existing cluster: single replica ${measured(one.report)}`);
    console.log(`existing cluster: never ready ${measured(never.report)}`);

    // Each job had namespaces of its own, and deleted them.
    const own = [passing, never, one].map(({ report }) => {
      const cleanup = evidence(report, 'cleanup')[0] ?? '';
      const m = /^deleted namespaces (lg-[0-9a-f]{6}-lab85) in [\d.]+ s$/.exec(cleanup);
      expect(m).not.toBeNull();
      return m![1];
    });
    expect(new Set(own).size).toBe(3);
    expect(kubectl('get', 'namespaces', '-o', 'name').stdout.split('\n').filter(Boolean).sort()).toEqual(
      namespacesBefore,
    );
    // No job namespace is left (labgrader-system is the operator's, from deploy/grading-cluster/).
    expect(kubectl('get', 'namespaces', '-l', 'labgrader.dev/job', '-o', 'name').stdout).toBe('');
    expect(kubectl('-n', 'lab85', 'get', 'configmap', 'not-yours', '-o', 'jsonpath={.data.owner}').stdout).toBe(
      'someone-else',
    );
    expect(kubectl('-n', 'lab85', 'get', 'all,secrets', '-o', 'name').stdout).not.toMatch(/web/);

    // The passing example: full marks; the container kill needs node access, which this target does not give.
    expect(passing.code).toBe(0);
    expect(clusterPoints(passing.report)).toEqual({ 'runs-in-cluster': 5, 'survives-failure': 15 });
    expect(clusterFindings(passing.report)).toEqual([
      'info cluster/container-kill-recovery - The container-kill drill cannot run here: this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed; cluster/container-kill-recovery was not graded.',
    ]);
    expect(evidence(passing.report, 'baseline')[0]).toMatch(
      /via API server proxy to Service lg-[0-9a-f]{6}-lab85\/web:80\/\)$/,
    );

    // A readiness probe that never passes: the finding is on its line, the drills could not run, 0 of 20.
    expect(never.code).toBe(0);
    expect(clusterPoints(never.report)).toEqual({ 'runs-in-cluster': 0, 'survives-failure': 0 });
    expect(never.report.score).toMatchObject({ points: 80, maxPoints: 100 });
    const neverFindings = clusterFindings(never.report);
    expect(neverFindings.filter((f) => f.includes('cluster/deploys-ready'))).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:78 Deployment lab85\/web did not become Ready within 30 s \(0\/3 pods Ready\): The readiness probe of container "web" of Deployment lab85\/web fails: HTTP probe failed with statuscode: 404( \(\d+ times\))?\.$/,
      ),
    ]);
    // One cause, one finding: the drills and the Service earn nothing, and say why without a finding of their own.
    expect(neverFindings.filter((f) => !f.includes('cluster/deploys-ready'))).toEqual([
      'info cluster/container-kill-recovery - The container-kill drill cannot run here: this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed; cluster/container-kill-recovery was not graded.',
    ]);
    expect(never.report.criteria.find((c) => c.id === 'survives-failure')?.summary).toContain(
      'cluster/pod-kill-recovery: not meaningful, no credit (Deployment lab85/web never became Ready; the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:78)',
    );

    // One replica: the pod is replaced quickly, but the bad rollout takes the only pod down.
    expect(one.code).toBe(0);
    const survives = one.report.criteria.find((c) => c.id === 'survives-failure')!;
    const check = (id: string, n = 0) => survives.checks.filter((c) => c.id === id)[n]!;
    expect(check('cluster/pod-kill-recovery')).toMatchObject({ examined: 1, passed: 1, score: 1 });
    expect(check('cluster/container-kill-recovery')).toMatchObject({ examined: 0 });
    expect(check('cluster/rollout-undo')).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(check('cluster/rollout-undo').summary).toMatch(
      /^0\/1 pods stayed Ready during the bad rollout \(at least 1 expected\); undo recovered/,
    );
    const oneFindings = clusterFindings(one.report);
    expect(oneFindings).toContainEqual(
      'error cluster/rollout-undo k8s/deployment.yaml:9 While a release with an image that cannot be pulled (127.0.0.1:9/labgrader/bad-rollout:does-not-exist) rolled out, only 0 of 1 pods of Deployment lab85/web stayed Ready (at least 1 expected): the rolling update took old pods down before new ones were Ready.',
    );
    expect(oneFindings).toContainEqual(
      expect.stringMatching(
        /^error cluster\/service-availability k8s\/deployment\.yaml:9 During the bad-rollout drill Service lab85\/web answered only \d+ of \d+ requests/,
      ),
    );
    // Whether the Service kept answering through the pod kill depends on how fast the replacement got Ready:
    // the grade must follow the measurement, whichever it was.
    const duringPodKill = one.report.evidence.find((e) => e.label === 'during-pod-kill')!.detail;
    const [ok, total] = /^(\d+)\/(\d+) requests answered/.exec(duringPodKill)!.slice(1).map(Number) as [number, number];
    const availability = check('cluster/service-availability');
    expect(availability).toMatchObject({ examined: 2, passed: ok / total >= 0.95 ? 1 : 0 });
    // 15 × (pod kill 1 + rollout undo 0.5 + 2 × availability) / 4
    expect(clusterPoints(one.report)['survives-failure']).toBe(
      Math.round(15 * ((1 + 0.5 + 2 * (availability.passed / 2)) / 4) * 100) / 100,
    );
  }, 900_000);

  it('grades a hostile lab as the least-privileged grader: refused at its lines, nothing cluster-wide created', async () => {
    const env = { KUBECONFIG: graderKubeconfig, LABGRADER_KUBECTL: KUBECTL };
    const rubric = rubricWith('shared-hostile', [['readyTimeoutSeconds: 180', 'readyTimeoutSeconds: 60']]);
    const { report } = await grade(HOSTILE_LAB, ['--kube-context', `kind-${cluster}`, '--rubric', rubric], env);
    const refused = clusterFindings(report).filter((f) => f.includes(' was not applied: '));
    expect(refused.map((f) => f.split(' was not applied')[0])).toEqual(
      expect.arrayContaining([
        'error cluster/deploys-ready k8s/takeover.yaml:10 ClusterRoleBinding lab-admin',
        'error cluster/deploys-ready k8s/takeover.yaml:31 PersistentVolume host-root',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:3 CustomResourceDefinition backdoors.example.com',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:35 FlowSchema exempt-me',
        'error cluster/deploys-ready k8s/cluster-wide.yaml:54 ClusterIssuer anyone',
      ]),
    );
    // The web service itself deployed and was Ready, in the job's own namespace.
    expect(evidence(report, 'ready')).toEqual([expect.stringMatching(/^Deployment lab85\/web: 3\/3 Ready/)]);
    // Nothing of the lab outside its namespaces, and the namespaces are gone.
    expect(kubectl('get', 'clusterrolebinding', 'lab-admin').status).not.toBe(0);
    expect(kubectl('get', 'persistentvolume', 'host-root').status).not.toBe(0);
    expect(kubectl('get', 'crd', 'backdoors.example.com').status).not.toBe(0);
    expect(kubectl('get', 'flowschema', 'exempt-me').status).not.toBe(0);
    expect(kubectl('get', 'validatingwebhookconfiguration', 'see-everything').status).not.toBe(0);
    expect(kubectl('get', 'clusterrole', 'admin', '-o', 'json').stdout).not.toContain('secret-reader');
    expect(kubectl('get', 'namespaces', '-l', 'labgrader.dev/job', '-o', 'name').stdout).toBe('');
  }, 600_000);

  it('the cluster itself refuses, as the lab’s identity and as the grader, what labgrader’s planning refuses', () => {
    // A job namespace with its guard rails, as the stage makes it (but no Pod Security label: the policy alone must hold).
    const ns = 'lg-policy-probe';
    expect(kubectl('create', 'namespace', ns).status).toBe(0);
    try {
      expect(kubectl('label', 'namespace', ns, 'labgrader.dev/job=probe').status).toBe(0);
      const guardrails = namespaceGuardrails({
        namespace: ns,
        job: 'probe',
        isolation: isolationSettingsSchema.parse({}),
      });
      const applied = run(
        KUBECTL,
        ['--kubeconfig', kubeconfig, 'apply', '-f', '-'],
        JSON.stringify({ apiVersion: 'v1', kind: 'List', items: guardrails }),
      );
      expect(applied.stderr).toBe('');
      const as = (user: string, manifest: object) =>
        run(
          KUBECTL,
          ['--kubeconfig', kubeconfig, `--as=${user}`, 'create', '--dry-run=server', '-f', '-'],
          JSON.stringify(manifest),
        );
      const lab = (manifest: object) => as(APPLIER_USER, manifest);
      const pod = (spec: object) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'p', namespace: ns },
        spec: { containers: [{ name: 'c', image: APP_IMAGE }], ...spec },
      });
      // RBAC: nothing cluster-scoped, nothing outside the job's namespaces.
      expect(
        lab({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'ClusterRoleBinding',
          metadata: { name: 'x' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
        }).stderr,
      ).toMatch(/forbidden/);
      expect(
        lab({
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: 'x' },
          spec: { capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: '/' } },
        }).stderr,
      ).toMatch(/forbidden/);
      expect(lab({ ...pod({}), metadata: { name: 'p', namespace: 'kube-system' } }).stderr).toMatch(/forbidden/);
      // RBAC escalation prevention: a lab's RoleBinding to edit or admin, in its own namespace.
      expect(
        lab({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'x', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
        }).stderr,
      ).toMatch(/forbidden/);
      // The allowed ClusterRole can be bound.
      expect(
        lab({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'x', namespace: ns },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: ns }],
        }).status,
      ).toBe(0);
      // Admission policies: each refusal names labgrader's reason.
      const svc = (spec: object) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 's', namespace: ns },
        spec: { ports: [{ port: 80 }], ...spec },
      });
      expect(lab(svc({ type: 'NodePort' })).stderr).toMatch(/labgrader: NodePort and LoadBalancer Services/);
      expect(lab(svc({ externalIPs: ['172.18.0.1'] })).stderr).toMatch(/labgrader: Services with externalIPs/);
      expect(
        lab({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'c', namespace: ns },
          spec: {
            accessModes: ['ReadWriteOnce'],
            volumeName: 'someone-else',
            resources: { requests: { storage: '1Mi' } },
          },
        }).stderr,
      ).toMatch(/labgrader: a lab’s claims may not choose/);
      expect(lab(pod({ hostNetwork: true })).stderr).toMatch(/labgrader: pods of a lab may not share the node/);
      expect(lab(pod({ volumes: [{ name: 'root', hostPath: { path: '/' } }] })).stderr).toMatch(
        /labgrader: pods of a lab may not mount hostPath/,
      );
      expect(
        lab(pod({ containers: [{ name: 'c', image: APP_IMAGE, securityContext: { privileged: true } }] })).stderr,
      ).toMatch(/labgrader: pods of a lab may not run privileged/);
      expect(lab(pod({})).status).toBe(0); // an ordinary pod is fine
      // What labgrader made for the job cannot be changed by the lab.
      const patched = run(KUBECTL, [
        '--kubeconfig',
        kubeconfig,
        `--as=${APPLIER_USER}`,
        '-n',
        ns,
        'patch',
        'networkpolicy',
        'labgrader-egress',
        '--type=merge',
        '-p',
        '{"spec":{"egress":[{}]}}',
      ]);
      expect(patched.stderr).toMatch(/labgrader: objects labgrader created for the grading job/);
      expect(
        run(KUBECTL, [
          '--kubeconfig',
          kubeconfig,
          `--as=${APPLIER_USER}`,
          '-n',
          ns,
          'delete',
          'resourcequota',
          'labgrader-quota',
        ]).stderr,
      ).toMatch(/labgrader: objects labgrader created/);

      // The grader's own identity may not step outside the job's namespaces either.
      const grader = (manifest: object) => as(GRADER_USER, manifest);
      expect(grader({ ...pod({}), metadata: { name: 'p', namespace: 'kube-system' } }).stderr).toMatch(
        /forbidden|labgrader:/,
      );
      expect(
        grader({
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'RoleBinding',
          metadata: { name: 'x', namespace: 'kube-system' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
          subjects: [{ kind: 'ServiceAccount', name: 'default', namespace: 'kube-system' }],
        }).stderr,
      ).toMatch(/labgrader: the grader may only/);
      expect(grader({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'not-a-job' } }).stderr).toMatch(
        /labgrader: the grader may only/,
      );
      expect(
        run(KUBECTL, [
          '--kubeconfig',
          kubeconfig,
          `--as=${GRADER_USER}`,
          'label',
          'namespace',
          'kube-system',
          'labgrader.dev/job=x',
        ]).stderr,
      ).toMatch(/labgrader: the grader may only/);
      expect(
        run(KUBECTL, [
          '--kubeconfig',
          kubeconfig,
          `--as=${GRADER_USER}`,
          'delete',
          'namespace',
          'lab85',
          '--dry-run=server',
        ]).stderr,
      ).toMatch(/labgrader: the grader may only/);
    } finally {
      kubectl('delete', 'namespace', ns, '--wait=false');
    }
  }, 300_000);
});

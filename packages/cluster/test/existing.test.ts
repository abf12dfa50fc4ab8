/**
 * The existing-cluster target against a scripted kubectl: the job's own
 * namespaces (created, never adopted), the API-server proxy probe, the drill
 * that needs node access reported as not applicable, and cleanup of exactly
 * what the job created. The real cluster is in kind.real.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { InfrastructureError, NotGradableError } from '@labgrader/core';
import { clusterRegistry, prepareCluster } from '../src/index.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput } from './helpers/fake.js';
import { scriptIsolation, scriptKindCluster } from './helpers/scripted-cluster.js';

const passing = path.join(EXAMPLES, 'lab-85-passing');
const SETTINGS = { target: { type: 'existing', context: 'staging', namespacePrefix: 'lg' } };

function setup() {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  scriptKindCluster(runner, clock, {
    replicas: 3,
    readyAfterMs: 3_000,
    podKill: { readyAfterMs: 2_600, goneAfterMs: 3_000 },
    containerKill: { readyAfterMs: 1_000 },
    rollout: { minReady: 2, undoReadyAfterMs: 1_000 },
    probeOutputs: [],
  });
  let proxied = 0;
  runner
    .on(/^kubectl --context staging get --raw \/readyz/, { stdout: 'ok' })
    .on(/^kubectl --context staging auth can-i create namespaces$/, { stdout: 'yes\n' })
    .on(/get --raw \/api\/v1\/namespaces\/lg-[0-9a-f]{6}-lab85\/services\/web:80\/proxy\//, () => {
      proxied += 1;
      return { stdout: '{"message":"hello"}' };
    })
    .on(/delete namespace /, { stdout: 'namespace deleted\n' })
    .on(/get namespaces -l labgrader\.dev\/job=[0-9a-f]{6} -o name$/, { stdout: '' });
  let n = 0;
  const deps = {
    env: { KUBECONFIG: '/home/grader/.kube/config' },
    clock,
    sleep: clock.sleep,
    randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 13 + 7) % 256),
  };
  return { clock, runner, deps, proxied: () => proxied };
}

describe('the cluster stage, existing target (scripted kubectl)', () => {
  it('works in namespaces of its own, probes through the API server, and deletes exactly what it created', async () => {
    const { runner, deps, proxied } = setup();
    const checks = [
      { id: 'cluster/pod-kill-recovery', options: {} },
      { id: 'cluster/container-kill-recovery', options: {} },
    ];
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks }), deps);
    const lines = runner.lines();
    const ns = /(lg-[0-9a-f]{6}-lab85)/.exec(lines.join('\n'))![1]!;
    const job = ns.split('-')[1]!;

    // Never kind, never docker: only kubectl with the context, the KUBECONFIG handed down.
    expect(new Set(runner.calls.map((c) => path.basename(c.command)))).toEqual(new Set(['kubectl']));
    expect(runner.calls.every((c) => c.args.slice(0, 2).join(' ') === '--context staging')).toBe(true);
    expect(runner.calls.every((c) => c.options.env?.KUBECONFIG === '/home/grader/.kube/config')).toBe(true);

    // The namespace is created (never applied: an existing one is never adopted), renamed and labelled.
    const writes = runner.calls.filter((c) => c.args.includes('-f'));
    const asLab = '--as=system:serviceaccount:labgrader-system:labgrader-applier';
    expect(
      writes.map((c) => [
        c.args.slice(2, c.args.indexOf('-f')).join(' '),
        (JSON.parse(c.options.input!) as { items: { kind: string }[] }).items.map((i) => i.kind).join(','),
      ]),
    ).toEqual([
      ['create', 'Namespace'],
      // The grader's own rights in the namespace first, then the guard rails.
      ['apply', 'RoleBinding'],
      ['apply', 'NetworkPolicy,ResourceQuota,LimitRange,RoleBinding,Role,RoleBinding'],
      [`${asLab} create --dry-run=server`, 'ClusterRoleBinding'],
      [`${asLab} create --dry-run=server`, 'PersistentVolumeClaim'],
      [`${asLab} create --dry-run=server`, 'Pod'],
      ['create', 'Secret'],
      [`${asLab} apply`, 'NetworkPolicy,NetworkPolicy,PodDisruptionBudget,ServiceAccount,ConfigMap,Service,Deployment'],
    ]);
    const namespace = (JSON.parse(writes[0]!.options.input!) as { items: { metadata: unknown }[] }).items[0]!.metadata;
    expect(namespace).toEqual({
      name: ns,
      labels: {
        'pod-security.kubernetes.io/enforce': 'restricted',
        'labgrader.dev/job': job,
        'app.kubernetes.io/managed-by': 'labgrader',
      },
    });
    const applied = (JSON.parse(writes[7]!.options.input!) as { items: { metadata: { namespace?: string } }[] }).items;
    expect(new Set(applied.map((o) => o.metadata.namespace))).toEqual(new Set([ns]));

    // The Service is probed through the API server; the pod kill is measured.
    expect(prep.context.baseline).toMatchObject({ answered: true, via: `API server proxy to Service ${ns}/web:80/` });
    expect(proxied()).toBeGreaterThan(1);
    expect(prep.context.drills['pod-kill']).toMatchObject({ status: 'completed', recoverySeconds: 3 });
    expect(prep.context.drills['pod-kill']?.probe?.total).toBeGreaterThan(0);
    // No node access here: the container kill is not applicable, and says so.
    expect(prep.context.drills['container-kill']).toMatchObject({ status: 'unsupported' });
    const check = clusterRegistry.get('cluster/container-kill-recovery')!;
    const graded = await check.check(prep.context, check.options.parse({}));
    expect(graded).toMatchObject({ examined: 0 });
    expect(graded.findings[0]).toMatchObject({ severity: 'info' });

    // Cleanup: the job's namespace, then a check that no namespace labelled with the job is left.
    expect(lines.slice(-2)).toEqual([
      `kubectl --context staging delete namespace ${ns} --ignore-not-found --wait=true --timeout=170s`,
      `kubectl --context staging get namespaces -l labgrader.dev/job=${job} -o name`,
    ]);
    expect(prep.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
      new RegExp(`^deleted namespaces ${ns} in `),
    );
  });

  it('never adopts a namespace that already exists, and deletes only what it created', async () => {
    const { runner, deps } = setup();
    runner.on(/create -f -$/, (c) =>
      (c.options.input ?? '').includes('"kind":"Namespace"')
        ? { exitCode: 1, stderr: 'Error from server (AlreadyExists): namespaces "lg-x-lab85" already exists' }
        : undefined,
    );
    const err = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS), deps).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InfrastructureError);
    expect((err as Error).message).toMatch(
      /already exists in the cluster; labgrader never adopts a namespace it did not create/,
    );
    expect(runner.lines().some((l) => / delete /.test(l))).toBe(false);
  });

  it('refuses to deploy into a cluster without labgrader’s policies, or where they are not enforced', async () => {
    let { runner, deps } = setup();
    runner.on(/get validatingadmissionpolicybindings/, {
      exitCode: 1,
      stderr:
        'Error from server (NotFound): validatingadmissionpolicybindings.admissionregistration.k8s.io "labgrader-job-pods" not found',
    });
    let err = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS), deps).catch((e: unknown) => e);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: expect.stringContaining("the cluster does not have labgrader's admission policies") as unknown,
      hint: expect.stringContaining('kubectl apply -f deploy/grading-cluster/') as unknown,
    });
    expect(runner.lines().some((l) => /(create|apply) -f -/.test(l))).toBe(false);

    // Installed, but something lets the probes through: nothing of the lab is applied, the namespace is deleted.
    ({ runner, deps } = setup());
    scriptIsolation(runner, { enforced: false });
    err = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS), deps).catch((e: unknown) => e);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: expect.stringMatching(
        /^the grading cluster accepted a ClusterRoleBinding to cluster-admin from system:serviceaccount:labgrader-system:labgrader-applier \(server-side dry run\), so its isolation is not in force; nothing of the lab was applied$/,
      ) as unknown,
    });
    expect(runner.lines().some((l) => /--as=\S+ apply -f -/.test(l))).toBe(false);
    expect(runner.lines().some((l) => / delete namespace lg-/.test(l))).toBe(true);
  });

  it('reports a cluster it cannot reach, or may not create namespaces in, as unavailable', async () => {
    let { runner, deps } = setup();
    runner.on(/get --raw \/readyz/, { exitCode: 1, stderr: 'error: context "staging" does not exist' });
    let err = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotGradableError);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: 'the cluster (context staging) cannot be reached: error: context "staging" does not exist',
    });
    ({ runner, deps } = setup());
    runner.on(/auth can-i create namespaces/, { exitCode: 1, stdout: 'no\n' });
    err = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS), deps).catch((e: unknown) => e);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: expect.stringContaining('may not create namespaces') as unknown,
    });
    expect(runner.lines().some((l) => /(create|apply) -f -|delete namespace/.test(l))).toBe(false);
  });
});

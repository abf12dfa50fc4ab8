/**
 * The cluster stage's orchestration against a scripted CommandRunner and a
 * fake clock: what it runs, in which order, with which inputs; what it
 * measures; that it cleans up in every outcome (abort included); that it
 * never logs or reports the Secret values it makes up. The real thing is in
 * kind.real.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortedError, NotGradableError, type ConfiguredCheck } from '@labgrader/core';
import {
  clusterRegistry,
  drillsToRun,
  prepareCluster,
  clusterSettingsSchema,
  type ClusterSlots,
} from '../src/index.js';
import { EXAMPLES, FakeClock, FakeRunner, recordingLogger, repoOf, stageInput } from './helpers/fake.js';
import { scriptKindCluster, type Script } from './helpers/scripted-cluster.js';
import { scriptRotationDrills } from './helpers/scripted-drills.js';

const ENV = {
  LABGRADER_KIND: '/opt/kind/bin/kind',
  LABGRADER_KUBECTL: '/opt/k8s/kubectl',
  LABGRADER_KIND_NODE_IMAGE: 'labgrader/kind-node:v1.34.4',
  LABGRADER_KIND_DISABLE_DEFAULT_CNI: '1',
};
const passing = path.join(EXAMPLES, 'lab-85-passing');

/** Probe loop output: n answered requests 250 ms apart, then m refused ones. */
function probeLines(ok: number, refused = 0): string {
  const lines: string[] = [];
  for (let i = 0; i < ok + refused; i++) lines.push(`${1_000_000 + i * 250} ${i < ok ? '0 200' : '7 000'}`);
  return lines.join('\n') + '\n';
}

const HEALTHY: Script = {
  replicas: 3,
  readyAfterMs: 4_000,
  podKill: { readyAfterMs: 1_800, goneAfterMs: 3_000 },
  containerKill: { readyAfterMs: 2_300 },
  rollout: { minReady: 2, undoReadyAfterMs: 1_200 },
  probeOutputs: [probeLines(20), probeLines(10), probeLines(40)],
};

function setup(script: Script = HEALTHY) {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  const cluster = scriptKindCluster(runner, clock, script);
  scriptRotationDrills(runner, clock, cluster);
  let n = 0;
  const deps = {
    env: ENV,
    clock,
    sleep: clock.sleep,
    // Deterministic "randomness": the job id and the Secret values.
    randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 37 + 11) % 256),
  };
  return { clock, runner, cluster, deps };
}

describe('the cluster stage, kind target (scripted runner)', () => {
  it('creates the cluster, deploys, runs the drills, measures them and deletes the cluster', async () => {
    const { runner, cluster, deps } = setup();
    const logger = recordingLogger();
    const progress: string[] = [];
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, {}, { logger, progress }), deps);
    const ctx = prep.context;

    // The commands, in order (polling left out).
    const lines = runner.lines().filter((l) => !/ -o json$/.test(l) || /get service/.test(l));
    const name = /--name (labgrader-[0-9a-f]{6})/.exec(lines.join('\n'))![1]!;
    expect(lines.slice(0, 7)).toEqual([
      'kind version',
      'kubectl version --client',
      'docker info --format {{.ServerVersion}}',
      'docker image inspect --format {{.Id}} labgrader/kind-node:v1.34.4',
      expect.stringMatching(
        new RegExp(
          `^kind create cluster --name ${name} --image labgrader/kind-node:v1.34.4 --config - --kubeconfig \\S+/kubeconfig --wait 300s$`,
        ),
      ),
      expect.stringMatching(/kubectl --kubeconfig \S+ -n kube-system rollout status daemonset\/kube-proxy/),
      expect.stringMatching(/kubectl --kubeconfig \S+ -n kube-system rollout status deployment\/coredns/),
    ]);
    const create = runner.calls.find((c) => c.args[0] === 'create' && c.args[1] === 'cluster')!;
    expect(create.command).toBe('/opt/kind/bin/kind');
    expect(create.options.input).toBe(
      'kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnetworking:\n  disableDefaultCNI: true\nnodes:\n  - role: control-plane\n',
    );
    const kubectlCalls = runner.calls.filter((c) => path.basename(c.command) === 'kubectl');
    expect(new Set(kubectlCalls.map((c) => c.command))).toEqual(new Set(['/opt/k8s/kubectl']));
    expect(lines).toContain(`kind load docker-image ghcr.io/labgrader-examples/lab85-web:1.0.0 --name ${name}`);
    expect(lines.slice(-2)).toEqual([
      expect.stringMatching(new RegExp(`^kind delete cluster --name ${name} --kubeconfig \\S+/kubeconfig$`)),
      `docker ps -aq --filter label=io.x-k8s.kind.cluster=${name}`,
    ]);

    // The grading cluster's own policies first, then the namespace and its guard rails, then the
    // enforcement probes (as the lab's identity, refused), the Secret (create, never apply), and
    // the lab's objects in install order, applied as the lab's identity.
    const writes = runner.calls.filter(
      (c) => c.args.includes('-f') && c.args.includes('-') && !c.args.includes('replace'),
    );
    // The secret-rotation drill replaces the Secret once with new values (checked below: never logged).
    const rotations = runner.calls.filter((c) => c.args.includes('replace'));
    expect(rotations).toHaveLength(1);
    const kinds = writes.map((c) => [
      c.args.slice(2, c.args.indexOf('-f')).join(' '),
      (JSON.parse(c.options.input!) as { items: { kind: string }[] }).items.map((i) => i.kind),
    ]);
    const asLab = '--as=system:serviceaccount:labgrader-system:labgrader-applier';
    expect(kinds).toEqual([
      [
        'apply',
        [
          'Namespace',
          'ServiceAccount',
          'ClusterRole',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
          'ValidatingAdmissionPolicy',
          'ValidatingAdmissionPolicyBinding',
        ],
      ],
      ['apply', ['Namespace']],
      ['apply', ['NetworkPolicy', 'ResourceQuota', 'LimitRange', 'RoleBinding', 'Role', 'RoleBinding']],
      [`${asLab} create --dry-run=server`, ['ClusterRoleBinding']],
      [`${asLab} create --dry-run=server`, ['PersistentVolumeClaim']],
      [`${asLab} create --dry-run=server`, ['Pod']],
      ['create', ['Secret']],
      [
        `${asLab} apply`,
        [
          'NetworkPolicy',
          'NetworkPolicy',
          'PodDisruptionBudget',
          'ServiceAccount',
          'ConfigMap',
          'Service',
          'Deployment',
        ],
      ],
    ]);
    // The node egress guard went into the node before anything of the lab.
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^docker exec ${name}-control-plane sh -c set -e\niptables`)),
    );
    expect(prep.evidence?.map((e) => e.label)).toEqual(expect.arrayContaining(['egress-guard', 'isolation']));

    // The synthesized Secret: the key the Deployment reads, a random value; never logged or reported.
    const secret = (
      JSON.parse(writes[6]!.options.input!) as { items: { metadata: object; data: Record<string, string> }[] }
    ).items[0]!;
    expect(secret.metadata).toMatchObject({ name: 'web-secrets', namespace: 'lab85' });
    const value = Buffer.from(secret.data['api-token']!, 'base64').toString();
    expect(value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const graded = await Promise.all(clusterRegistry.list().map(async (c) => c.check(ctx, c.options.parse({}))));
    const everything = JSON.stringify({
      drills: ctx.drills,
      baseline: ctx.baseline,
      diagnoses: ctx.deploy.workloads.map((w) => [w.diagnoses, w.events]),
      graded,
      evidence: prep.evidence,
      log: logger.lines,
      progress,
      calls: runner.calls.map((c) => [c.command, c.args]),
    });
    expect(everything).not.toContain(value);
    expect(everything).not.toContain(secret.data['api-token']);
    expect(prep.evidence).toContainEqual(
      expect.objectContaining({
        label: 'synthesized-secret',
        detail:
          'created Secret lab85/web-secrets with random values for key api-token: the manifests use it but it is created out of band',
        location: expect.objectContaining({ file: 'k8s/deployment.yaml', line: 62 }) as unknown, // name: web-secrets
      }),
    );

    // Deploy and measurements (fake clock, 500 ms polling).
    expect(ctx.deploy.applyFailures).toEqual([]);
    expect(ctx.deploy.workloads.map((w) => [w.planned.subject, w.ready, w.readySeconds])).toEqual([
      ['Deployment lab85/web', true, 4],
    ]);
    expect(ctx.baseline).toMatchObject({ answered: true, attempts: 1 });
    expect(ctx.drills['pod-kill']).toMatchObject({
      status: 'completed',
      recoverySeconds: 2,
      desired: 3,
      probe: { total: 20, ok: 20, ratio: 1 },
    });
    expect(ctx.drills['pod-kill']?.replacements).toHaveLength(1);
    expect(ctx.drills['container-kill']).toMatchObject({ status: 'completed', recoverySeconds: 2.5, container: 'web' });
    expect(ctx.drills['bad-rollout']).toMatchObject({
      status: 'completed',
      minReady: 2,
      desired: 3,
      // The pull failed and the rollout held still from the start: watched the minimum, 2 s.
      observedSeconds: 2,
      recoverySeconds: 1.5,
      pullError: expect.stringMatching(/^ImagePullBackOff/) as unknown,
    });
    // The node probe loops were each stopped with their own stop file.
    // (and the Secret rotation's; the readiness gate needs pod addresses, which this script's pods lack)
    expect(cluster.probeScripts).toHaveLength(4);
    expect(new Set(cluster.stopFiles).size).toBe(4);
    expect(cluster.probeScripts[0]).toContain(
      "curl -s -o /dev/null -w '%{http_code}' --max-time 2.000 'http://10.96.0.10:80/'",
    );

    expect(prep.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
      new RegExp(`^deleted kind cluster ${name} in `),
    );
    expect(progress).toContain(`deleting the kind cluster ${name}`);
  });

  it('grades the measurements with the rubric bands, through the checks', async () => {
    const { runner, deps } = setup({ ...HEALTHY, podKill: { readyAfterMs: 45_000, goneAfterMs: 3_000 } });
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, {}), deps);
    const podKill = clusterRegistry.get('cluster/pod-kill-recovery')!;
    const bands = {
      bands: [
        { maxSeconds: 30, credit: 1 },
        { maxSeconds: 90, credit: 0.5 },
      ],
    };
    const outcome = await podKill.check(prep.context, podKill.options.parse(bands));
    expect(outcome).toMatchObject({ examined: 1, passed: 0, score: 0.5 });
    expect(outcome.summary).toBe('recovered in 45 s (≤ 90 s band: 50% credit)');
    expect(outcome.findings).toEqual([
      expect.objectContaining({
        severity: 'warning',
        location: expect.objectContaining({ file: 'k8s/deployment.yaml', line: 78 }) as unknown, // readinessProbe:
      }),
    ]);
  });

  it('watches a stuck rollout until the Ready count held for a poll, then undoes it', async () => {
    const { runner, deps } = setup({
      ...HEALTHY,
      rollout: { minReady: 3, undoReadyAfterMs: 1_200, oldPodDeletedAfterMs: 1_800 },
    });
    const prep = await prepareCluster(
      stageInput(await repoOf(passing), runner, {
        drills: { podKill: { run: 'never' }, containerKill: { run: 'never' } },
      }),
      deps,
    );
    const rollout = prep.context.drills['bad-rollout'];
    // The pull failed at once; the Ready count changed between the polls at 1.5 s and 2 s: at the 2 s minimum it had
    // not held yet, so one poll more (500 ms).
    expect(rollout?.observedSeconds).toBe(2.5);
    expect(rollout).toMatchObject({ status: 'completed', minReady: 2, desired: 3, recoverySeconds: 1.5 });
  });

  it('deletes the cluster when the job is aborted in the middle of a drill, and reports the abort', async () => {
    const { runner, deps } = setup();
    const controller = new AbortController();
    runner.on(/delete pod (\S+) --wait=false$/, () => {
      controller.abort(new AbortedError('the cluster stage exceeded its 600 s time budget'));
      return undefined; // fall through to the scripted answer
    });
    const input = stageInput(await repoOf(passing), runner, {}, { signal: controller.signal });
    await expect(prepareCluster(input, deps)).rejects.toThrow('exceeded its 600 s time budget');
    const lines = runner.lines();
    const deleted = runner.calls.find((c) => c.args[0] === 'delete' && c.args[1] === 'cluster');
    expect(deleted).toBeDefined();
    // Cleanup runs without the aborted signal, after the abort.
    expect(deleted!.options.signal).toBeUndefined();
    expect(lines.indexOf(lines.find((l) => l.startsWith('kind delete cluster'))!)).toBeGreaterThan(
      lines.findIndex((l) => / delete pod /.test(l)),
    );
  });

  it('takes a cluster slot before kind create and gives it back once the cluster is deleted', async () => {
    const { runner, deps } = setup();
    const events: string[] = [];
    const clusterSlots: ClusterSlots = {
      acquire: async ({ cluster, progress }) => {
        events.push(`acquire ${cluster} after ${runner.lines().length} commands`);
        progress('waiting for a cluster slot: 2 of 2 kind clusters run on this host');
        return {
          release: async (outcome) => {
            events.push(`release ${JSON.stringify(outcome)}`);
            events.push(`last command: ${runner.lines().at(-1)!.split(' ').slice(0, 3).join(' ')}`);
          },
        };
      },
    };
    const progress: string[] = [];
    await prepareCluster(stageInput(await repoOf(passing), runner, {}, { progress }), { ...deps, clusterSlots });
    const create = runner.lines().findIndex((l) => l.startsWith('kind create cluster'));
    const name = /--name (labgrader-[0-9a-f]{6})/.exec(runner.lines()[create]!)![1]!;
    expect(events).toEqual([
      `acquire ${name} after ${create} commands`,
      'release {"leftBehind":false}',
      'last command: docker ps -aq',
    ]);
    expect(progress).toContain('waiting for a cluster slot: 2 of 2 kind clusters run on this host');
  });

  it('a job aborted while it waits for a slot creates nothing', async () => {
    const { runner, deps } = setup();
    const clusterSlots: ClusterSlots = {
      acquire: () => Promise.reject(new Error('superseded by a newer push')),
    };
    const err = await prepareCluster(stageInput(await repoOf(passing), runner, {}), { ...deps, clusterSlots }).catch(
      (e: unknown) => e,
    );
    expect(String(err)).toContain('superseded by a newer push');
    expect(runner.lines().filter((l) => /^kind (create|delete)/.test(l))).toEqual([]);
  });

  it('deletes a half-created cluster when kind create fails, and reports the cluster as unavailable', async () => {
    const { runner, deps } = setup();
    runner.on(/^kind create cluster/, {
      exitCode: 1,
      stderr: 'ERROR: failed to create cluster: failed to pull image "kindest/node:v1.34.0": connection refused\n',
    });
    const err = await prepareCluster(stageInput(await repoOf(passing), runner, {}), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotGradableError);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: expect.stringContaining('kind create cluster failed: ERROR: failed to create cluster') as unknown,
      hint: expect.stringContaining('LABGRADER_KIND_NODE_IMAGE') as unknown,
    });
    expect(runner.lines().some((l) => l.startsWith('kind delete cluster'))).toBe(true);
  });

  it('says clearly when kind is missing or Docker is down, without creating anything', async () => {
    let { runner, deps } = setup();
    runner.missing('/opt/kind/bin/kind');
    let err = await prepareCluster(stageInput(await repoOf(passing), runner, {}), deps).catch((e: unknown) => e);
    expect(err).toMatchObject({
      reason: 'cluster-unavailable',
      message: "the cluster stage needs 'kind', which is not installed here (looked for '/opt/kind/bin/kind')",
      hint: 'Install it or point LABGRADER_KIND at it, or grade without the cluster stage (--cluster none).',
    });
    expect(runner.lines().filter((l) => /create|delete/.test(l))).toEqual([]);

    ({ runner, deps } = setup());
    runner.on(/^docker info/, {
      exitCode: 1,
      stderr: 'Cannot connect to the Docker daemon at unix:///var/run/docker.sock.',
    });
    err = await prepareCluster(stageInput(await repoOf(passing), runner, {}), deps).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotGradableError);
    expect((err as NotGradableError).message).toBe(
      'no Docker engine answers here (docker info: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.)',
    );
    expect(runner.lines().filter((l) => /create|delete/.test(l))).toEqual([]);
  });

  it('explains a workload that never becomes Ready, skips the drills, and keeps the cluster only when asked', async () => {
    const never: Script = { ...HEALTHY, readyAfterMs: undefined };
    const first = setup(never);
    let { runner, deps } = first;
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, { readyTimeoutSeconds: 20 }), deps);
    expect(first.clock.t).toBeGreaterThanOrEqual(20_000);
    const outcome = prep.context.deploy.workloads[0]!;
    expect(outcome).toMatchObject({ ready: false, readyReplicas: 0, desired: 3 });
    expect(outcome.diagnoses).toEqual([
      {
        reason: 'ReadinessProbeFailed',
        container: 'web',
        message:
          'The readiness probe of container "web" of Deployment lab85/web fails: HTTP probe failed with statuscode: 404 (3 times).',
        location: expect.objectContaining({ file: 'k8s/deployment.yaml', line: 78, column: 11 }) as unknown,
      },
    ]);
    expect(prep.context.drillsSkipped).toBe('Deployment lab85/web never became Ready');
    expect(prep.context.drills).toEqual({});
    expect(runner.lines().some((l) => l.startsWith('kind delete cluster'))).toBe(true);

    ({ runner, deps } = setup(never));
    // A kept cluster keeps its kubeconfig (to debug it): put it where this test cleans up.
    const keptDir = mkdtempSync(path.join(tmpdir(), 'labgrader-kept-'));
    const kept = await prepareCluster(
      stageInput(await repoOf(passing), runner, {
        readyTimeoutSeconds: 5,
        target: { type: 'kind', keepOnFailure: true },
      }),
      { ...deps, makeTempDir: async () => keptDir },
    );
    expect(runner.lines().some((l) => l.startsWith('kind delete cluster'))).toBe(false);
    expect(kept.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
      /^kept labgrader-[0-9a-f]{6} for debugging \(keepOnFailure\); delete it with: kind delete cluster --name labgrader-[0-9a-f]{6}$/,
    );
    expect(runner.lines().find((l) => l.startsWith('kind create'))).toContain('--retain');
    rmSync(keptDir, { recursive: true, force: true });
  });

  it('runs only the drills the configured checks grade', async () => {
    const { runner, deps } = setup();
    const checks: ConfiguredCheck[] = [{ id: 'cluster/pod-kill-recovery', options: {} }];
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, {}, { checks }), deps);
    expect(Object.keys(prep.context.drills)).toEqual(['pod-kill']);
    expect(runner.lines().some((l) => / set image | ctr /.test(l))).toBe(false);
  });
});

describe('drillsToRun', () => {
  const drillIds = (...args: Parameters<typeof drillsToRun>) => {
    const { run, disabled } = drillsToRun(...args);
    return { run: run.map((d) => d.id), disabled };
  };
  const settings = (scenarios: Record<string, unknown> = {}) => clusterSettingsSchema.parse({ scenarios });
  it('runs what configured checks grade; always/never override; every drill when the caller does not say', () => {
    expect(drillIds(settings(), undefined)).toEqual({
      run: [
        'pod-kill',
        'container-kill',
        'bad-rollout',
        'secret-rotation',
        'readiness-gate',
        'node-failure',
        'node-drain',
      ],
      disabled: [],
    });
    expect(drillIds(settings(), [{ id: 'cluster/deploys-ready', options: {} }])).toEqual({ run: [], disabled: [] });
    expect(
      drillIds(settings(), [
        { id: 'cluster/rollout-undo', options: {} },
        { id: 'cluster/service-availability', options: { during: ['pod-kill'] } },
      ]),
    ).toEqual({ run: ['pod-kill', 'bad-rollout'], disabled: [] });
    // The default `during` is pod-kill and bad-rollout.
    expect(drillIds(settings(), [{ id: 'cluster/service-availability', options: {} }]).run).toEqual([
      'pod-kill',
      'bad-rollout',
    ]);
    expect(
      drillIds(settings({ containerKill: { run: 'always' }, badRollout: { run: 'never' } }), [
        { id: 'cluster/rollout-undo', options: {} },
      ]),
    ).toEqual({ run: ['container-kill'], disabled: ['bad-rollout'] });
  });
});

/**
 * The stage and the checks with broken labs, against the scripted cluster
 * and the fake clock (the same labs are graded for real in
 * broken-labs.real.test.ts):
 *
 *  - one cause, one finding, on its line, with the full reason; the drills
 *    it makes meaningless earn nothing, with the reason in their summary;
 *  - the steady state is watched long enough for the liveness probes to act;
 *  - the wait for Ready stops when nothing can change, and says why.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { AbortedError, InfrastructureError, type CheckOutcome } from '@labgrader/core';
import { clusterRegistry, prepareCluster, type ClusterContext } from '../src/index.js';
import { BROKEN_LABS, writeBrokenLab, type BrokenLab } from './helpers/broken-labs.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput } from './helpers/fake.js';
import { PULL_CAUSE, SANDBOX_OOM, scriptKindCluster, type Script } from './helpers/scripted-cluster.js';

const ENV = {
  LABGRADER_KIND: '/opt/kind/bin/kind',
  LABGRADER_KUBECTL: '/opt/k8s/kubectl',
  LABGRADER_KIND_NODE_IMAGE: 'labgrader/kind-node:v1.34.4',
};

function probeLines(ok: number): string {
  return Array.from({ length: ok }, (_, i) => `${1_000_000 + i * 250} 0 200`).join('\n') + '\n';
}

const HEALTHY: Script = {
  replicas: 3,
  readyAfterMs: 4_000,
  podKill: { readyAfterMs: 1_800, goneAfterMs: 3_000 },
  containerKill: { readyAfterMs: 2_300 },
  rollout: { minReady: 2, undoReadyAfterMs: 1_200 },
  probeOutputs: [probeLines(20), probeLines(10), probeLines(40)],
};

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(path.dirname(d), { recursive: true, force: true });
});
function lab(broken: BrokenLab): string {
  const dir = writeBrokenLab(broken);
  dirs.push(dir);
  return dir;
}

async function run(
  dir: string,
  script: Script,
  settings: Record<string, unknown> = {},
  configured: [string, Record<string, unknown>][] = LAB85,
) {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  scriptKindCluster(runner, clock, script);
  let n = 0;
  const progress: string[] = [];
  const checks = configured.map(([id, options]) => ({ id, options }));
  const prep = await prepareCluster(stageInput(await repoOf(dir), runner, settings, { progress, checks }), {
    env: ENV,
    clock,
    sleep: clock.sleep,
    randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 37 + 11) % 256),
  });
  return { prep, context: prep.context, clock, runner, progress };
}

/** Every check of the stage, with its rubric options in rubrics/lab-85.yaml. */
const LAB85: [string, Record<string, unknown>][] = [
  ['cluster/deploys-ready', {}],
  ['cluster/service-availability', { includeBaseline: true, during: [] }],
  ['cluster/pod-kill-recovery', {}],
  ['cluster/container-kill-recovery', {}],
  [
    'cluster/rollout-undo',
    {
      bands: [
        { maxSeconds: 60, credit: 1 },
        { maxSeconds: 180, credit: 0.5 },
      ],
    },
  ],
  ['cluster/service-availability', { includeBaseline: false, during: ['pod-kill', 'bad-rollout'] }],
];

async function gradeAll(context: ClusterContext): Promise<CheckOutcome[]> {
  return Promise.all(
    LAB85.map(async ([id, options]) => {
      const check = clusterRegistry.get(id)!;
      return check.check(context, check.options.parse(options));
    }),
  );
}

const findings = (outcomes: CheckOutcome[]) =>
  outcomes.flatMap((o) =>
    o.findings.map((f) => `${f.severity} ${f.checkId} ${f.location?.file}:${f.location?.line} ${f.message}`),
  );
/** Each check's credit, as the rubric scorer takes it (its score, else passed/examined; null when it examined nothing). */
const credits = (outcomes: CheckOutcome[]) =>
  outcomes.map((o) => (o.examined === 0 ? null : (o.score ?? o.passed / o.examined)));

describe('the passing example', () => {
  it('is watched through the drills until the kubelet counted an answer of its liveness probe, and nothing restarts by itself', async () => {
    const { context, prep, runner, progress } = await run(path.join(EXAMPLES, 'lab-85-passing'), HEALTHY);
    // The restart window (5 + 10 × 3 + 1 s for its liveness probe, plus 5 s) is what a failure would extend it to.
    expect(context.steady).toMatchObject({ windowSeconds: 41, until: 'liveness-answered' });
    // The drills took longer than the probe needed to answer: nothing more to wait for.
    expect(progress.filter((m) => m.startsWith('watching the Ready pods'))).toEqual([]);
    expect(prep.evidence?.find((e) => e.label === 'steady-state')?.detail).toMatch(
      /^watched the Ready workloads for [\d.]+ s after they were Ready, the drills included \(every liveness probe answered \(the kubelet counted \d+ successful liveness results? of container "web" of Deployment lab85\/web, none failed\)\): no container restarted by itself$/,
    );
    expect(
      runner
        .lines()
        .some((l) => / get --raw \/api\/v1\/nodes\/labgrader-000001-control-plane\/proxy\/metrics\/probes$/.test(l)),
    ).toBe(true);
    // The container kill restarted a container: the drill's doing, not the lab's.
    expect(context.drills['container-kill']?.restartedContainers).toHaveLength(1);
    expect(context.cause).toBeUndefined();
    const outcomes = await gradeAll(context);
    expect(findings(outcomes)).toEqual([]);
    expect(credits(outcomes)).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("without the kubelet's counters: watched as long as its liveness probe needs to run once (5 + 10 + 1 s, plus 5 s)", async () => {
    const { context, prep, clock } = await run(path.join(EXAMPLES, 'lab-85-passing'), {
      ...HEALTHY,
      livenessCounters: 'refused',
    });
    expect(context.steady!.watchedSeconds).toBeGreaterThanOrEqual(21);
    expect(context.steady!.watchedSeconds).toBeLessThan(41);
    expect(clock.t).toBeGreaterThanOrEqual(4_000 + 21_000);
    expect(prep.evidence?.find((e) => e.label === 'steady-state')?.detail).toMatch(
      /\(the kubelet's probe counters could not be read, so at least the time each liveness probe needs to run once, 21 s: the liveness probe of container "web" of Deployment lab85\/web runs a first time within initialDelaySeconds 5 \+ periodSeconds 10 \+ timeoutSeconds 1 = 16 s, plus 5 s\): no container restarted by itself$/,
    );
    expect(credits(await gradeAll(context))).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it('with steadyState.until: restart-window, watched the whole restart window', async () => {
    const { context, prep, clock } = await run(path.join(EXAMPLES, 'lab-85-passing'), HEALTHY, {
      steadyState: { until: 'restart-window' },
    });
    expect(context.steady).toMatchObject({ windowSeconds: 41, until: 'restart-window' });
    expect(context.steady!.watchedSeconds).toBeGreaterThanOrEqual(41);
    expect(clock.t).toBeGreaterThanOrEqual(4_000 + 41_000);
    expect(prep.evidence?.find((e) => e.label === 'steady-state')?.detail).toMatch(
      /\(at least 41 s: the liveness probe of container "web" of Deployment lab85\/web restarts it within initialDelaySeconds 5 \+ periodSeconds 10 × failureThreshold 3 \+ timeoutSeconds 1 = 36 s, plus 5 s\): no container restarted by itself$/,
    );
  });
});

describe('one cause, one finding, at its line; the drills it makes meaningless earn nothing', () => {
  it.each([
    ['counted', 'the kubelet counts its failures'],
    ['refused', "without the kubelet's counters, from its Unhealthy events"],
  ] as const)(
    'a liveness probe that kills the app every 30 s (%s: %s): found at livenessProbe, the drills not meaningful',
    async (counters, _how) => {
      const { context, prep } = await run(lab(BROKEN_LABS.livenessNotFound), {
        ...HEALTHY,
        livenessKillEveryMs: 30_000,
        livenessCounters: counters,
      });
      const web = context.deploy.workloads[0]!;
      expect(web.ready).toBe(true);
      // Stopped watching at the first restart it saw (the other pods were deleted or killed by the drills).
      expect(web.restartsAfterReady).toBeGreaterThanOrEqual(1);
      expect(context.cause).toMatchObject({
        summary: expect.stringMatching(
          /^Deployment lab85\/web restarted \d+ times? by itself after it was Ready \(LivenessProbeFailed\)$/,
        ) as unknown,
        reportedBy: 'cluster/deploys-ready',
        location: expect.objectContaining({ file: 'k8s/deployment.yaml', line: 71 }) as unknown,
      });
      expect(prep.evidence?.find((e) => e.label === 'steady-state')?.detail).toMatch(
        /: Deployment lab85\/web restarted \d+ times? by itself$/,
      );
      const outcomes = await gradeAll(context);
      expect(findings(outcomes)).toEqual([
        expect.stringMatching(
          /^error cluster\/deploys-ready k8s\/deployment\.yaml:71 Deployment lab85\/web became Ready but did not stay Ready: The liveness probe of container "web" of Deployment lab85\/web fails \(HTTP probe failed with statuscode: 404\), so the kubelet restarted the container \d+ times? in the \d+ s after its pods were Ready\.$/,
        ),
      ]);
      // deploys-ready 0; the baseline answered; every drill: not meaningful, no credit.
      expect(credits(outcomes)).toEqual([0, 1, 0, 0, 0, 0]);
      expect(outcomes[2]!.summary).toMatch(
        /^not meaningful, no credit \(Deployment lab85\/web restarted \d+ times? by itself after it was Ready \(LivenessProbeFailed\); the cause is reported once, by cluster\/deploys-ready at k8s\/deployment\.yaml:71\)$/,
      );
    },
  );

  it.each([
    [BROKEN_LABS.targetPortNothing, ''],
    [
      BROKEN_LABS.noReadinessTargetPortNothing,
      '; the pods have no readiness probe, so Kubernetes counts them Ready as soon as they start, whether they answer or not',
    ],
  ])(
    'a Service whose targetPort points at nothing (%s): found at targetPort, stopped waiting, no drill run',
    async (broken, note) => {
      const { context, runner } = await run(lab(broken), { ...HEALTHY, baselineCode: '000', endpointPort: 8081 });
      expect(context.baseline).toMatchObject({
        answered: false,
        diagnosis: {
          reason: 'PortNotDeclared',
          terminal: true,
          location: expect.objectContaining({ file: 'k8s/service.yaml', line: 15 }),
        },
      });
      // Stopped after about 10 s, not the 60 s of answerTimeoutSeconds.
      expect(context.baseline!.afterSeconds).toBeLessThan(15);
      expect(context.baseline!.stoppedWaiting).toMatch(
        /^stopped waiting for the Service after [\d.]+ s \(\d+ requests\): the state is terminal, PortNotDeclared$/,
      );
      expect(context.drills).toEqual({});
      expect(runner.lines().some((l) => / delete pod | set image | ctr /.test(l))).toBe(false);
      // Still watched until its liveness probe acted.
      expect(context.steady!.because).toMatch(/^every liveness probe answered \(the kubelet counted/);
      const outcomes = await gradeAll(context);
      expect(findings(outcomes)).toEqual([
        `error cluster/service-availability k8s/service.yaml:15 Service lab85/web never answered although its pods were Ready (${context.baseline!.attempts} requests in ${context.baseline!.afterSeconds} s, then labgrader stopped waiting: the state is terminal): Service lab85/web sends its requests to targetPort 8081 of its 3 ready endpoints, where nothing answers (last: curl exit 7 (connection refused)): the pods' containers declare http (8080), metrics (9090)${note}.`,
      ]);
      expect(credits(outcomes)).toEqual([1, 0, 0, 0, 0, 0]);
      expect(outcomes[3]!.summary).toBe(
        'not meaningful, no credit (Service lab85/web never answered; the cause is reported once, by cluster/service-availability at k8s/service.yaml:15)',
      );
    },
  );

  it('a named targetPort no container declares: no ready endpoints, because…', async () => {
    const named: BrokenLab = {
      name: 'target-port-named',
      what: 'a named targetPort no container declares',
      edits: { 'k8s/service.yaml': (t) => t.replace('targetPort: http', 'targetPort: web') },
    };
    const { context } = await run(lab(named), { ...HEALTHY, baselineCode: '000', endpointPort: null });
    expect(context.baseline?.diagnosis).toMatchObject({
      reason: 'NamedPortNotFound',
      message:
        'Service lab85/web has no ready endpoints, because its targetPort "web" names no port of the 3 pods it selects (their containers declare http (8080), metrics (9090)) (last: curl exit 7 (connection refused)).',
    });
  });

  it('an image that cannot be pulled: one finding at image:, with the whole reason; stopped waiting when the kubelet backs off', async () => {
    const { context, prep, clock } = await run(lab(BROKEN_LABS.imageCannotBePulled), {
      ...HEALTHY,
      readyAfterMs: undefined,
      trouble: 'pull',
    });
    // Not the 180 s of readyTimeoutSeconds.
    expect(clock.t).toBeLessThan(60_000);
    expect(context.deploy.stoppedWaiting).toMatchObject({
      reason:
        'the state of Deployment lab85/web is terminal: the image of container "web" cannot be pulled (3 failed pulls) and the kubelet is backing off (ImagePullBackOff)',
    });
    expect(prep.evidence?.find((e) => e.label === 'stopped-waiting')?.detail).toMatch(
      /^stopped waiting after [\d.]+ s: the state of Deployment lab85\/web is terminal: /,
    );
    const outcomes = await gradeAll(context);
    expect(findings(outcomes)).toEqual([
      `error cluster/deploys-ready k8s/deployment.yaml:44 Deployment lab85/web did not become Ready (0/3 pods Ready after ${context.deploy.stoppedWaiting!.afterSeconds} s; labgrader stopped waiting: the state is terminal): The image "ghcr.io/labgrader-examples/lab85-web:1.0.0" of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff: ${PULL_CAUSE}).`,
    ]);
    expect(findings(outcomes)[0]).toContain(
      'lookup ghcr.io on 127.0.0.11:53: read udp 127.0.0.1:36391->127.0.0.11:53: i/o timeout',
    );
    expect(credits(outcomes)).toEqual([0, 0, 0, 0, 0, 0]);
    expect(outcomes[1]!.summary).toBe(
      'not meaningful, no credit (Deployment lab85/web never became Ready; the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:44)',
    );
  });

  it('a memory limit the sandbox cannot start in: one finding at limits.memory, stopped waiting', async () => {
    const { context, clock } = await run(lab(BROKEN_LABS.memoryTooLow), {
      ...HEALTHY,
      readyAfterMs: undefined,
      trouble: 'sandbox-oom',
    });
    expect(clock.t).toBeLessThan(30_000);
    expect(context.deploy.stoppedWaiting?.reason).toMatch(
      /^the state of Deployment lab85\/web is terminal: the container runtime cannot create its pods' sandbox within their memory limit \(\d+ attempts\)$/,
    );
    const outcomes = await gradeAll(context);
    expect(findings(outcomes)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error cluster/deploys-ready k8s/deployment\\.yaml:70 Deployment lab85/web did not become Ready \\(0/3 pods Ready after [\\d.]+ s; labgrader stopped waiting: the state is terminal\\): The pods of Deployment lab85/web cannot start: the container runtime cannot create their sandbox within the memory limit \\(limits\\.memory 1Mi of container "web"\\), which is too low: ${SANDBOX_OOM.replace(/[()?.]/g, '\\$&')} \\(\\d+ times\\)\\.$`,
        ),
      ),
    ]);
    expect(credits(outcomes)).toEqual([0, 0, 0, 0, 0, 0]);
  });

  it('a container that crashes on every start: one finding at the container (not also its readiness probe), stopped waiting', async () => {
    const { context, clock } = await run(lab(BROKEN_LABS.crashLoop), {
      ...HEALTHY,
      readyAfterMs: undefined,
      trouble: 'crash',
    });
    expect(clock.t).toBeLessThan(40_000);
    expect(context.deploy.stoppedWaiting?.reason).toMatch(
      /^the state of Deployment lab85\/web is terminal: container "web" exits the same way on every start \(CrashLoopBackOff, Error, exit code 1, \d+ times\)$/,
    );
    const outcomes = await gradeAll(context);
    expect(findings(outcomes)).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:43 Deployment lab85\/web did not become Ready \(0\/3 pods Ready after [\d.]+ s; labgrader stopped waiting: the state is terminal\): container "web" of Deployment lab85\/web keeps crashing \(CrashLoopBackOff, last exit: Error, exit code 1; \d+ restarts?\); its last output: 2026\/11\/21 10:00:06 listening on :8080 2026\/11\/21 10:00:06 listen tcp :8080: bind: address already in use\.$/,
      ),
    ]);
    expect(credits(outcomes)).toEqual([0, 0, 0, 0, 0, 0]);
  });
});

describe('a cause whose check the rubric does not grade is still reported, once, by the stage', () => {
  /** A rubric of drills only: neither cluster/deploys-ready nor cluster/service-availability. */
  const DRILLS_ONLY: [string, Record<string, unknown>][] = [
    ['cluster/pod-kill-recovery', {}],
    ['cluster/rollout-undo', {}],
  ];
  const stageFindings = (prep: { findings?: CheckOutcome['findings'] }) =>
    (prep.findings ?? []).map((f) => `${f.severity} ${f.checkId} ${f.location?.file}:${f.location?.line} ${f.message}`);
  const gradeOnly = async (context: ClusterContext, configured: [string, Record<string, unknown>][]) =>
    Promise.all(
      configured.map(async ([id, options]) => {
        const check = clusterRegistry.get(id)!;
        return check.check(context, check.options.parse(options));
      }),
    );

  it('an image that cannot be pulled, graded by drills only: the deploy finding at image:, with the whole reason, owned by no criterion', async () => {
    const pull = { ...HEALTHY, readyAfterMs: undefined, trouble: 'pull' as const };
    const { context, prep } = await run(lab(BROKEN_LABS.imageCannotBePulled), pull, {}, DRILLS_ONLY);
    expect(context.cause).toMatchObject({ reportedBy: 'cluster/deploys-ready' });
    expect(stageFindings(prep)).toEqual([
      `error cluster/deploys-ready k8s/deployment.yaml:44 Deployment lab85/web did not become Ready (0/3 pods Ready after ${context.deploy.stoppedWaiting!.afterSeconds} s; labgrader stopped waiting: the state is terminal): The image "ghcr.io/labgrader-examples/lab85-web:1.0.0" of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff: ${PULL_CAUSE}).`,
    ]);
    expect(prep.evidence?.find((e) => e.label === 'root-cause')).toMatchObject({
      detail:
        "Deployment lab85/web never became Ready: reported by cluster/deploys-ready, which this rubric does not grade, so the stage reports it (no criterion, no points of its own); the drills' checks give no credit because of it",
      location: expect.objectContaining({ file: 'k8s/deployment.yaml', line: 44 }) as unknown,
    });
    // The drills' checks: no credit, no finding of their own, pointing at that finding.
    const outcomes = await gradeOnly(context, DRILLS_ONLY);
    expect(findings(outcomes)).toEqual([]);
    expect(credits(outcomes)).toEqual([0, 0]);
    expect(outcomes[0]!.summary).toBe(
      'not meaningful, no credit (Deployment lab85/web never became Ready; the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:44)',
    );
  });

  it('the same lab under a rubric that grades cluster/deploys-ready: reported by that check only, never twice', async () => {
    const pull = { ...HEALTHY, readyAfterMs: undefined, trouble: 'pull' as const };
    const { prep } = await run(lab(BROKEN_LABS.imageCannotBePulled), pull);
    expect(prep.findings).toBeUndefined();
    expect(prep.evidence?.some((e) => e.label === 'root-cause')).toBe(false);
  });

  it('a Service that never answers, graded by drills only: the service-availability finding at targetPort', async () => {
    const { context, prep } = await run(
      lab(BROKEN_LABS.targetPortNothing),
      { ...HEALTHY, baselineCode: '000', endpointPort: 8081 },
      {},
      DRILLS_ONLY,
    );
    expect(context.cause).toMatchObject({ reportedBy: 'cluster/service-availability' });
    expect(stageFindings(prep)).toEqual([
      expect.stringMatching(
        /^error cluster\/service-availability k8s\/service\.yaml:15 Service lab85\/web never answered although its pods were Ready \(.*sends its requests to targetPort 8081 of its 3 ready endpoints, where nothing answers/,
      ),
    ]);
  });

  it('a workload that restarts by itself after Ready (found after the drills): reported at livenessProbe, once', async () => {
    const { context, prep } = await run(
      lab(BROKEN_LABS.livenessNotFound),
      { ...HEALTHY, livenessKillEveryMs: 30_000 },
      {},
      DRILLS_ONLY,
    );
    expect(context.cause).toMatchObject({ reportedBy: 'cluster/deploys-ready' });
    expect(stageFindings(prep)).toEqual([
      expect.stringMatching(
        /^error cluster\/deploys-ready k8s\/deployment\.yaml:71 Deployment lab85\/web became Ready but did not stay Ready: The liveness probe of container "web" of Deployment lab85\/web fails/,
      ),
    ]);
  });

  it('the passing example: no cause, nothing reported by the stage', async () => {
    const { prep } = await run(path.join(EXAMPLES, 'lab-85-passing'), HEALTHY, {}, DRILLS_ONLY);
    expect(prep.context.cause).toBeUndefined();
    expect(prep.findings).toBeUndefined();
  });
});

describe('cleanup when Ctrl-C, sent to the whole process group, kills the cleanup commands too', () => {
  it('retries kind delete once, removes the containers it left, and checks again', async () => {
    const clock = new FakeClock();
    const runner = new FakeRunner(clock);
    runner.commandMs = 0;
    scriptKindCluster(runner, clock, HEALTHY);
    const controller = new AbortController();
    runner.on(/delete pod (\S+) --wait=false$/, () => {
      controller.abort(new AbortedError('grading was interrupted (SIGINT)'));
      return undefined;
    });
    // The second Ctrl-C kills `kind delete cluster` (the runner throws), and the container is still there.
    let deletes = 0;
    let removed = false;
    runner.on(/^kind delete cluster/, () => {
      deletes += 1;
      if (deletes === 1) throw new InfrastructureError("'kind' could not be started: Command was killed with SIGINT");
      return { exitCode: 1, stderr: 'ERROR: failed to delete cluster "x": interrupted\n' };
    });
    runner.on(/^docker ps -aq --filter label=io\.x-k8s\.kind\.cluster=/, () => ({ stdout: removed ? '' : 'c0ffee\n' }));
    runner.on(/^docker rm -f -v c0ffee$/, () => {
      removed = true;
      return { stdout: 'c0ffee\n' };
    });
    runner.on(/^docker exec c0ffee sh -c /, { stdout: '' });
    let n = 0;
    const input = stageInput(
      await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
      runner,
      {},
      {
        signal: controller.signal,
        checks: LAB85.map(([id, options]) => ({ id, options })),
      },
    );
    await expect(
      prepareCluster(input, {
        env: ENV,
        clock,
        sleep: clock.sleep,
        randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 37 + 11) % 256),
      }),
    ).rejects.toThrow('grading was interrupted (SIGINT)');
    const cleanup = runner.lines().filter((l) => /^kind delete|^docker (ps -aq|rm|exec c0ffee sh -c find)/.test(l));
    expect(cleanup.map((l) => l.split(' ').slice(0, 3).join(' '))).toEqual([
      // First the node's frozen cgroups are thawed (a frozen pod cannot be killed, nor then the node).
      'docker ps -aq',
      'docker exec c0ffee',
      'kind delete cluster',
      'kind delete cluster',
      'docker ps -aq',
      'docker rm -f',
      'docker ps -aq',
    ]);
    expect(removed).toBe(true);
  });
});

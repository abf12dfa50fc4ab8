/**
 * The checks grade measurements: recovery-time bands, rolling-update safety,
 * Service availability and readiness, with findings placed on the manifest
 * lines to fix. Contexts are built by hand around the passing example's
 * real plan (for real locations); the measurements are the test's inputs.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import type { CheckOutcome } from '@labgrader/core';
import { defaultLintSettings, discoverObjects } from '@labgrader/manifest-lint';
import {
  bandCredit,
  buildPlan,
  clusterRegistry,
  mainService,
  mainWorkload,
  type ClusterContext,
  type DeployPlan,
} from '../src/index.js';
import type { DrillResult } from '../src/drills/common.js';
import { EXAMPLES, repoOf } from './helpers/fake.js';

let plan: DeployPlan;

beforeAll(async () => {
  const { objects } = await discoverObjects({
    repo: await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
    settings: defaultLintSettings(),
  });
  plan = buildPlan(objects, { mapping: { mode: 'kind', job: 'x' }, secrets: { synthesize: true, exclude: [] } });
});

function context(extra: Partial<ClusterContext> = {}): ClusterContext {
  const workload = mainWorkload(plan).workload!;
  return {
    target: 'kind cluster test',
    plan,
    deploy: {
      applied: 8,
      applyFailures: [],
      workloads: [
        { planned: workload, ready: true, readySeconds: 4, desired: 3, readyReplicas: 3, diagnoses: [], events: [] },
      ],
      seconds: 4,
      timeoutSeconds: 180,
    },
    main: { workload, service: mainService(plan, workload).service! },
    baseline: { answered: true, afterSeconds: 0.1, attempts: 1, via: 'curl' },
    drills: {},
    disabled: [],
    unsupported: {},
    ...extra,
  };
}

function drill(scenario: DrillResult['scenario'], fields: Partial<DrillResult> & Record<string, unknown>): DrillResult {
  return { scenario, status: 'completed', timeoutSeconds: 180, commands: [], events: [], narrative: 'n', ...fields };
}

const probe = (ok: number, total: number, longestOutageMs = 0) => ({
  via: 'curl from node',
  ok,
  total,
  ratio: ok / total,
  longestOutageMs,
  ...(ok < total ? { firstFailure: 'curl exit 7 (connection refused)' } : {}),
});

async function grade(id: string, ctx: ClusterContext, options: Record<string, unknown> = {}): Promise<CheckOutcome> {
  const check = clusterRegistry.get(id)!;
  return check.check(ctx, check.options.parse(options));
}

const at = (o: CheckOutcome) => o.findings.map((f) => `${f.severity} ${f.location?.file}:${f.location?.line}`);

describe('recovery-time bands', () => {
  const bands = [
    { maxSeconds: 30, credit: 1 },
    { maxSeconds: 90, credit: 0.5 },
  ];
  it('give the credit of the first band the time falls in, 0 past the last', () => {
    expect(bandCredit(bands, 0.7)).toEqual({ credit: 1, band: bands[0] });
    expect(bandCredit(bands, 30)).toEqual({ credit: 1, band: bands[0] });
    expect(bandCredit(bands, 30.1)).toEqual({ credit: 0.5, band: bands[1] });
    expect(bandCredit(bands, 90.5)).toEqual({ credit: 0 });
  });

  it.each([
    [1.3, { score: 1, passed: 1 }, [], 'recovered in 1.3 s (≤ 30 s band: full credit)'],
    [45, { score: 0.5, passed: 0 }, ['warning k8s/deployment.yaml:78'], 'recovered in 45 s (≤ 90 s band: 50% credit)'],
    [
      120,
      { score: 0, passed: 0 },
      ['error k8s/deployment.yaml:78'],
      'recovered in 120 s (slower than every band (≤ 90 s): no credit)',
    ],
  ])('pod kill recovered in %s s', async (seconds, expected, findings, summary) => {
    const o = await grade(
      'cluster/pod-kill-recovery',
      context({ drills: { 'pod-kill': drill('pod-kill', { recoverySeconds: seconds }) } }),
      { bands },
    );
    expect(o).toMatchObject({ examined: 1, ...expected, summary });
    expect(at(o)).toEqual(findings); // line 69: readinessProbe
  });

  it('no recovery within the drill’s time-out is no credit; a drill this target cannot run is not applicable', async () => {
    let o = await grade(
      'cluster/container-kill-recovery',
      context({ drills: { 'container-kill': drill('container-kill', {}) } }),
    );
    expect(o).toMatchObject({ examined: 1, passed: 0, score: 0, summary: 'did not recover within 180 s' });
    expect(o.findings[0]?.message).toBe(
      'After its main container was killed, Deployment lab85/web did not recover within 180 s.',
    );
    o = await grade(
      'cluster/container-kill-recovery',
      context({
        drills: { 'container-kill': drill('container-kill', { status: 'unsupported', reason: 'no node access' }) },
      }),
    );
    expect(o).toMatchObject({ examined: 0, passed: 0 });
    expect(o.findings.map((f) => f.severity)).toEqual(['info']);
  });

  it('a drill that could not run because the lab never became Ready earns nothing, and says why, without another finding', async () => {
    const neverReady = {
      drillsSkipped: 'Deployment lab85/web never became Ready',
      cause: {
        summary: 'Deployment lab85/web never became Ready',
        reportedBy: 'cluster/deploys-ready',
        location: { file: 'k8s/deployment.yaml', line: 44, column: 18 },
      },
    };
    const o = await grade('cluster/pod-kill-recovery', context(neverReady));
    // One cause, one finding: cluster/deploys-ready reports it at image:; this check gives no credit and says why.
    expect(o).toMatchObject({
      examined: 1,
      score: 0,
      findings: [],
      summary:
        'not meaningful, no credit (Deployment lab85/web never became Ready; the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:44)',
    });
    expect(o.evidence?.find((e) => e.label === 'not-meaningful')?.location).toMatchObject({ line: 44 });
    const undo = await grade('cluster/rollout-undo', context(neverReady));
    expect(undo).toMatchObject({ examined: 2, score: 0, findings: [] });
    // Without a cause the stage names (no workload to drill), the reason is a finding.
    const bare = await grade(
      'cluster/pod-kill-recovery',
      context({ drillsSkipped: 'Deployment lab85/web never became Ready' }),
    );
    expect(bare.findings[0]).toMatchObject({
      message: 'The pod-kill drill could not run: Deployment lab85/web never became Ready.',
      location: { file: 'k8s/deployment.yaml', line: 1 },
    });
    // Turned off in the rubric's settings: not graded, and said so.
    const off = await grade('cluster/pod-kill-recovery', context({ disabled: ['pod-kill'] }));
    expect(off).toMatchObject({ examined: 0 });
    expect(off.findings[0]?.severity).toBe('info');
    // A drill this target cannot run is not applicable, even when the lab never became Ready.
    const na = await grade(
      'cluster/container-kill-recovery',
      context({
        drillsSkipped: 'Deployment lab85/web never became Ready',
        unsupported: { 'container-kill': 'no node access' },
      }),
    );
    expect(na).toMatchObject({ examined: 0 });
    expect(na.findings.map((f) => [f.severity, f.message])).toEqual([
      [
        'info',
        'The container-kill drill cannot run here: no node access; cluster/container-kill-recovery was not graded.',
      ],
    ]);
    // Configured but never run is a labgrader bug, not a student's zero.
    await expect(grade('cluster/pod-kill-recovery', context())).rejects.toThrow(/did not run although/);
  });
});

describe('cluster/rollout-undo', () => {
  it('grades rolling-update safety and the undo, half each', async () => {
    const safe = drill('bad-rollout', { recoverySeconds: 1.1, minReady: 2, desired: 3, badImage: 'bad:0' });
    let o = await grade('cluster/rollout-undo', context({ drills: { 'bad-rollout': safe as never } }));
    expect(o).toMatchObject({ examined: 2, passed: 2, score: 1, findings: [] });

    const unsafe = drill('bad-rollout', { recoverySeconds: 75, minReady: 0, desired: 1, badImage: 'bad:0' });
    o = await grade('cluster/rollout-undo', context({ drills: { 'bad-rollout': unsafe as never } }));
    // Old pods not kept (0) + undo in the ≤ 180 s band (0.5) → 0.25.
    expect(o).toMatchObject({ examined: 2, passed: 0, score: 0.25 });
    expect(o.summary).toBe(
      '0/1 pods stayed Ready during the bad rollout (at least 1 expected); undo recovered in 75 s (≤ 90 s band: 50% credit)',
    );
    // One replica: the fix is `replicas:` (line 9); then the slow undo.
    expect(at(o)).toEqual(['error k8s/deployment.yaml:9', 'warning k8s/deployment.yaml:1']);
  });
});

describe('cluster/service-availability', () => {
  it('grades the baseline and each drill against minSuccessRatio', async () => {
    const ctx = context({
      drills: {
        'pod-kill': drill('pod-kill', { recoverySeconds: 1, probe: probe(20, 20), desired: 3 }) as never,
        'container-kill': drill('container-kill', { recoverySeconds: 2, probe: probe(7, 8, 300) }),
        'bad-rollout': drill('bad-rollout', { recoverySeconds: 1, probe: probe(15, 37, 5500), desired: 3 }) as never,
      },
    });
    let o = await grade('cluster/service-availability', ctx);
    // Default: baseline, pod-kill and bad-rollout (not the container kill).
    expect(o).toMatchObject({ examined: 3, passed: 2 });
    expect(o.findings.map((f) => f.message)).toEqual([
      'During the bad-rollout drill Service lab85/web answered only 15 of 37 requests (40.5%; at least 95% expected); longest outage 5.5 s, first failure: curl exit 7 (connection refused).',
    ]);
    expect(at(o)).toEqual(['error k8s/deployment.yaml:17']); // maxUnavailable: 1
    o = await grade('cluster/service-availability', ctx, { during: ['container-kill'], minSuccessRatio: 0.8 });
    expect(o).toMatchObject({ examined: 2, passed: 2 });
    o = await grade('cluster/service-availability', ctx, { during: [], includeBaseline: true });
    expect(o).toMatchObject({ examined: 1, passed: 1 });
  });

  it('a Service that never answers points at its targetPort; nothing to probe is one finding for every subject', async () => {
    let o = await grade(
      'cluster/service-availability',
      context({
        baseline: { answered: false, afterSeconds: 60, attempts: 60, via: 'curl', lastFailure: 'curl exit 7' },
      }),
      { during: [] },
    );
    expect(o).toMatchObject({ examined: 1, passed: 0 });
    expect(at(o)).toEqual(['error k8s/service.yaml:15']);
    const { baseline: _b, ...noBaseline } = context();
    o = await grade('cluster/service-availability', {
      ...noBaseline,
      drillsSkipped: 'Deployment lab85/web never became Ready',
    });
    expect(o).toMatchObject({
      examined: 3,
      passed: 0,
      summary: 'not probed (Deployment lab85/web never became Ready)',
    });
    expect(o.findings.map((f) => f.message)).toEqual([
      'Whether Service lab85/web answers at all or keeps answering during the pod-kill, bad-rollout drills could not be checked: Deployment lab85/web never became Ready.',
    ]);
  });

  it('one cause, one finding: the Service that never answered is the finding; the drills earn nothing without one', async () => {
    const never = {
      baseline: {
        answered: false,
        afterSeconds: 10.2,
        attempts: 11,
        via: 'curl',
        lastFailure: 'curl exit 7 (connection refused)',
        diagnosis: {
          reason: 'PortNotDeclared',
          message:
            'Service lab85/web sends its requests to targetPort 8081 of its 3 ready endpoints, where nothing answers.',
          location: { file: 'k8s/service.yaml', line: 15, column: 19 },
          terminal: true,
        },
        stoppedWaiting:
          'stopped waiting for the Service after 10.2 s (11 requests): the state is terminal, PortNotDeclared',
      },
      drillsSkipped: 'Service lab85/web never answered',
      cause: {
        summary: 'Service lab85/web never answered',
        reportedBy: 'cluster/service-availability',
        location: { file: 'k8s/service.yaml', line: 15, column: 19 },
      },
    };
    const baseline = await grade('cluster/service-availability', context(never), { during: [] });
    expect(baseline).toMatchObject({ examined: 1, passed: 0 });
    expect(baseline.findings.map((f) => `${f.location?.line} ${f.message}`)).toEqual([
      '15 Service lab85/web never answered although its pods were Ready (11 requests in 10.2 s, then labgrader stopped waiting: the state is terminal): Service lab85/web sends its requests to targetPort 8081 of its 3 ready endpoints, where nothing answers.',
    ]);
    const during = await grade('cluster/service-availability', context(never), { includeBaseline: false });
    expect(during).toMatchObject({ examined: 2, score: 0, findings: [] });
    // Both together: the baseline's finding, and no credit for the drills.
    const both = await grade('cluster/service-availability', context(never));
    expect(both).toMatchObject({ examined: 3, score: 0 });
    expect(both.findings).toHaveLength(1);
    for (const id of ['cluster/pod-kill-recovery', 'cluster/container-kill-recovery']) {
      expect(await grade(id, context(never))).toMatchObject({ examined: 1, score: 0, findings: [] });
    }
  });

  it('pods that restart by themselves: the drills they ran earn nothing, the baseline that answered still counts', async () => {
    const ctx = context({
      drills: { 'pod-kill': drill('pod-kill', { recoverySeconds: 1, probe: probe(20, 20), desired: 3 }) as never },
      cause: {
        summary: 'Deployment lab85/web restarted 3 times by itself after it was Ready (LivenessProbeFailed)',
        reportedBy: 'cluster/deploys-ready',
        location: { file: 'k8s/deployment.yaml', line: 71, column: 11 },
      },
    });
    const o = await grade('cluster/service-availability', ctx, { during: ['pod-kill'] });
    expect(o).toMatchObject({ examined: 2, score: 0.5, findings: [] });
    const podKill = await grade('cluster/pod-kill-recovery', ctx);
    expect(podKill).toMatchObject({ examined: 1, score: 0, findings: [] });
    // What the drill measured is still there, as evidence.
    expect(podKill.evidence?.map((e) => e.label)).toEqual(expect.arrayContaining(['pod-kill', 'not-meaningful']));
  });
});

describe('cluster/deploys-ready', () => {
  it('one subject per workload and per object the API server rejected, findings where to fix', async () => {
    const base = context();
    const workload = base.main.workload!;
    const service = plan.objects.find((o) => o.subject === 'Service lab85/web')!;
    const o = await grade(
      'cluster/deploys-ready',
      context({
        deploy: {
          ...base.deploy,
          applyFailures: [
            { object: service, message: 'Service "web" is invalid: spec.ports[0].port: Invalid value: 0' },
          ],
          workloads: [
            {
              planned: workload,
              ready: false,
              desired: 3,
              readyReplicas: 0,
              diagnoses: [
                {
                  reason: 'ImagePullBackOff',
                  container: 'web',
                  message: 'The image of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff).',
                  location: { file: 'k8s/deployment.yaml', line: 44, column: 18 },
                },
              ],
              events: ['Pod web-1: BackOff Back-off pulling image'],
            },
          ],
        },
      }),
    );
    expect(o).toMatchObject({ examined: 2, passed: 0 });
    expect(o.findings.map((f) => [f.location?.file, f.location?.line, f.message])).toEqual([
      [
        'k8s/service.yaml',
        1,
        'kubectl apply rejected Service lab85/web: Service "web" is invalid: spec.ports[0].port: Invalid value: 0',
      ],
      [
        'k8s/deployment.yaml',
        44,
        'Deployment lab85/web did not become Ready within 180 s (0/3 pods Ready): The image of container "web" of Deployment lab85/web cannot be pulled (ImagePullBackOff).',
      ],
    ]);
    const ready = await grade('cluster/deploys-ready', context());
    expect(ready).toMatchObject({ examined: 1, passed: 1, findings: [] });
    expect(ready.evidence?.[0]?.detail).toBe('Deployment lab85/web: 3/3 Ready 4 s after kubectl apply');
  });
});

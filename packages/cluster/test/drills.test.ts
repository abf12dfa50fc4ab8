/**
 * The drills that watch a failure unfold (secret rotation, readiness gate,
 * node failure, node drain; and the timelines of pod kill and container
 * kill) and their checks, without a cluster: each drill
 * against a small scripted cluster on a fake clock (what it runs, what it
 * concludes, that it always restores what it broke), and each check against
 * hand-built measurements on the real plans of the passing example and the
 * flawed fixtures (credit, summary, and the manifest line each finding
 * points at). The real thing is drills.real.test.ts.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { silentLogger, type CheckOutcome } from '@labgrader/core';
import { defaultLintSettings, discoverObjects } from '@labgrader/manifest-lint';
import { Tool, Transcript } from '../src/commands.js';
import { clusterRegistry, clusterSettingsSchema, resolveClusterConfig, prepareCluster } from '../src/index.js';
import { buildPlan, mainService, mainWorkload, type DeployPlan, type PlannedWorkload } from '../src/plan.js';
import type { ClusterContext } from '../src/context.js';
import type { DrillContext, DrillResult } from '../src/drills/common.js';
import { nodeDrain } from '../src/drills/node-drain/index.js';
import { nodeFailure, nodeFailureUnsupported } from '../src/drills/node-failure/index.js';
import {
  answeringAgainMs,
  busiestNode,
  formatTimeline,
  probeWindow,
  sampleOffsetMs,
  workerNodes,
  type KubeNode,
} from '../src/drills/observe.js';
import { blockScript, readinessGate, unblockScript } from '../src/drills/readiness-gate/index.js';
import { noSecretReason, secretRotation } from '../src/drills/secret-rotation/index.js';
import type { ProbeSample, ServiceProber } from '../src/probe.js';
import { Redactor } from '../src/secrets.js';
import { kindConfigYaml } from '../src/target.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput, type Call } from './helpers/fake.js';
import { scriptKindCluster } from './helpers/scripted-cluster.js';
import { scriptRotationDrills } from './helpers/scripted-drills.js';
import { RECOVERY_SCRIPT, runRecoveryDrills } from './helpers/recovery-drills.js';
import type { PodKillResult } from '../src/drills/pod-kill/index.js';
import type { ContainerKillResult } from '../src/drills/container-kill/index.js';

const FIXTURES = new URL('./fixtures/', import.meta.url).pathname;
const plans: Record<string, DeployPlan> = {};

async function planOf(dir: string): Promise<DeployPlan> {
  const { objects } = await discoverObjects({ repo: await repoOf(dir), settings: defaultLintSettings() });
  return buildPlan(objects, { mapping: { mode: 'kind', job: 'x' }, secrets: { synthesize: true, exclude: [] } });
}

beforeAll(async () => {
  plans.passing = await planOf(path.join(EXAMPLES, 'lab-85-passing'));
  for (const flaw of ['one-replica', 'pdb-blocks-drain', 'no-readiness-probe']) {
    plans[flaw] = await planOf(path.join(FIXTURES, `lab-85-${flaw}`));
  }
});

const workloadOf = (lab = 'passing'): PlannedWorkload => mainWorkload(plans[lab]!).workload!;

// ---------------------------------------------------------------------------------------------
// A scripted cluster for the drills: two workers, the lab's pods on them, a Service prober whose
// answers are a function of the fake time.

interface SimPod {
  name: string;
  node: string;
  ip: string;
  readyAt: number;
  notReadyFrom?: number;
  deletingAt?: number;
  goneAt?: number;
  restarts?: number;
}

const CP = 'lg-x-control-plane';
const W1 = 'lg-x-worker';
const W2 = 'lg-x-worker2';

function simCluster(clock: FakeClock, runner: FakeRunner, pods: SimPod[]) {
  const nodeState: Record<string, { readyUntil?: number; taintedUntil?: number }> = { [CP]: {}, [W1]: {}, [W2]: {} };
  const live = () => pods.filter((p) => p.goneAt === undefined || p.goneAt > clock.t);
  const ready = (p: SimPod) =>
    p.readyAt <= clock.t &&
    (p.notReadyFrom === undefined || p.notReadyFrom > clock.t) &&
    (p.deletingAt === undefined || p.deletingAt > clock.t);
  const podJson = (p: SimPod) => ({
    metadata: {
      name: p.name,
      labels: { 'app.kubernetes.io/name': 'web' },
      ...(p.deletingAt !== undefined && p.deletingAt <= clock.t
        ? { deletionTimestamp: new Date(clock.base + p.deletingAt).toISOString() }
        : {}),
    },
    spec: {
      nodeName: p.node,
      containers: [{ name: 'web', image: 'web:1' }],
      tolerations: [
        { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 },
      ],
    },
    status: {
      phase: 'Running',
      podIP: p.ip,
      conditions: [{ type: 'Ready', status: ready(p) ? 'True' : 'False' }],
      containerStatuses: [{ name: 'web', ready: ready(p), restartCount: p.restarts ?? 0 }],
    },
  });
  const desired = pods.length;
  const json = (value: unknown) => ({ stdout: JSON.stringify(value) });
  const nodeJson = (name: string) => {
    const until = nodeState[name]?.readyUntil;
    const lost = until !== undefined && until <= clock.t;
    // The node controller's taints: while the node is lost, and for a moment after it is back.
    const tainted = lost || (nodeState[name]?.taintedUntil ?? 0) > clock.t;
    return {
      metadata: { name, labels: name === CP ? { 'node-role.kubernetes.io/control-plane': '' } : {} },
      spec:
        name === CP
          ? { taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] }
          : tainted
            ? { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' }] }
            : {},
      status: { conditions: [{ type: 'Ready', status: until !== undefined && until <= clock.t ? 'Unknown' : 'True' }] },
    };
  };
  runner
    .on(/ get nodes -o json$/, () => json({ items: [CP, W1, W2].map(nodeJson) }))
    .on(/ get deployments\.apps\/web -o json$/, () =>
      json({
        kind: 'Deployment',
        metadata: { name: 'web', generation: 1 },
        spec: { replicas: desired },
        status: { observedGeneration: 1, replicas: desired, readyReplicas: live().filter(ready).length },
      }),
    )
    .on(/ get pods -l app\.kubernetes\.io\/name=web -o json$/, () => json({ items: live().map(podJson) }))
    .on(/ get events -o json$/, () => json({ items: [] }))
    .on(/ get endpointslices -o json$/, () =>
      json({
        items: [
          {
            metadata: { name: 'web-abc', labels: { 'kubernetes.io/service-name': 'web' } },
            endpoints: live()
              .filter((p) => p.deletingAt === undefined || p.deletingAt > clock.t)
              .map((p) => ({
                addresses: [p.ip],
                conditions: { ready: ready(p) },
                targetRef: { kind: 'Pod', name: p.name },
              })),
          },
        ],
      }),
    );
  return { pods, live, ready, nodeState };
}

/** A prober whose every request at fake time t is answered when `answers(t)`; samples 250 ms apart, stamped with wall time. */
function simProber(clock: FakeClock, answers: (t: number) => boolean): ServiceProber {
  return {
    via: 'curl from node lg-x-control-plane to 10.96.0.10:80/',
    once: () => Promise.resolve({ atMs: clock.base + clock.t, ok: answers(clock.t), detail: 'HTTP 200' }),
    start: () => {
      const from = clock.t;
      return {
        stop: () => {
          const samples: ProbeSample[] = [];
          for (let t = from; t <= clock.t; t += 250) {
            const ok = answers(t);
            samples.push({ atMs: clock.base + t, ok, detail: ok ? 'HTTP 200' : 'curl exit 7 (connection refused)' });
          }
          return Promise.resolve(samples);
        },
      };
    },
  };
}

function drillContext(clock: FakeClock, runner: FakeRunner, prober: ServiceProber, lab = 'passing'): DrillContext {
  const transcript = new Transcript(clock, 0);
  const signal = new AbortController().signal;
  const tool = (name: string) => new Tool(runner, name, name, [], {}, transcript, silentLogger, signal);
  const docker = tool('docker');
  return {
    config: resolveClusterConfig(clusterSettingsSchema.parse({ target: { type: 'kind', workers: 2 } }), {}),
    nodes: [CP, W1, W2],
    kubectl: tool('kubectl'),
    workload: workloadOf(lab),
    prober,
    nodeAccess: { docker, exec: (n, args) => docker.run(['exec', n, ...args]) },
    clock,
    sleep: clock.sleep,
    transcript,
    redactor: new Redactor(),
    progress: () => {},
  };
}

function setup(pods: SimPod[]) {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 50;
  return { clock, runner, sim: simCluster(clock, runner, pods) };
}

const threePods = (): SimPod[] => [
  { name: 'web-a', node: W1, ip: '10.244.1.2', readyAt: 0 },
  { name: 'web-b', node: W1, ip: '10.244.1.3', readyAt: 0 },
  { name: 'web-c', node: W2, ip: '10.244.2.2', readyAt: 0 },
];

const lines = (runner: FakeRunner) => runner.lines().filter((l) => !/ -o json$/.test(l));

// ---------------------------------------------------------------------------------------------

describe('what the drills share (drills/observe.ts)', () => {
  it('places probe samples on the drill’s timeline whichever clock stamped them, and splits them by phase', () => {
    const start = { wallMs: 1_800_000_000_000, monoMs: 5_000 };
    expect(sampleOffsetMs({ atMs: 1_800_000_001_500, ok: true, detail: '' }, start)).toBe(1_500);
    expect(sampleOffsetMs({ atMs: 6_500, ok: true, detail: '' }, start)).toBe(1_500);
    const record = {
      summary: { via: 'v', total: 6, ok: 3, ratio: 0.5, longestOutageMs: 500 },
      samples: [0, 250, 500, 750, 1000, 1250].map((offsetMs, i) => ({ offsetMs, ok: i >= 3 || i === 0, detail: 'x' })),
    };
    expect(probeWindow(record, 250, 1000)).toMatchObject({ total: 3, ok: 1 });
    expect(probeWindow(record, 750)).toMatchObject({ total: 3, ok: 3, ratio: 1 });
    // Answering again for good: the first answer after the last failure.
    expect(answeringAgainMs(record)).toBe(750);
    expect(answeringAgainMs({ ...record, samples: record.samples.map((s) => ({ ...s, ok: true })) })).toBe(0);
    expect(
      answeringAgainMs({ ...record, samples: [...record.samples, { offsetMs: 1500, ok: false, detail: 'x' }] }),
    ).toBe(undefined);
    expect(
      formatTimeline([
        { atSeconds: 0, event: 'fault' },
        { atSeconds: 19.2, event: 'node lost' },
      ]),
    ).toBe('+0.0 s  fault\n+19.2 s  node lost');
  });

  it('drills only Ready, schedulable workers that labgrader may act on, the busiest first', () => {
    const node = (name: string, extra: Partial<KubeNode> = {}): KubeNode => ({
      metadata: { name },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
      ...extra,
    });
    const nodes = [
      node(CP, { metadata: { name: CP, labels: { 'node-role.kubernetes.io/control-plane': '' } } }),
      node(W1),
      node(W2),
      node('cordoned', { spec: { unschedulable: true } }),
      node('tainted', { spec: { taints: [{ key: 'x', effect: 'NoSchedule' }] } }),
      node('down', { status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }),
    ];
    expect(workerNodes(nodes).map((n) => n.metadata.name)).toEqual([W1, W2]);
    expect(workerNodes(nodes, [W2]).map((n) => n.metadata.name)).toEqual([W2]);
    const pods = threePods().map((p) => ({
      metadata: { name: p.name },
      spec: { nodeName: p.node, containers: [] },
      status: {},
    }));
    expect(busiestNode(pods, [W1, W2])).toBe(W1);
    expect(busiestNode(pods, [W2])).toBe(W2);
    expect(busiestNode([], [W1, W2])).toBeUndefined();
  });

  it('multi-node kind clusters notice a stopped node in 20 s and evict its pods 10 s later; one node keeps Kubernetes’ defaults', () => {
    const config = resolveClusterConfig(clusterSettingsSchema.parse({}), {}).target;
    const one = kindConfigYaml({ ...(config as Parameters<typeof kindConfigYaml>[0]) });
    expect(one).toBe('kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n  - role: control-plane\n');
    const three = kindConfigYaml({ ...(config as Parameters<typeof kindConfigYaml>[0]), workers: 2 });
    expect(three).toContain('        node-monitor-grace-period: "20s"\n');
    expect(three).toContain('        default-unreachable-toleration-seconds: "10"\n');
    expect(three).toContain('    nodeLeaseDurationSeconds: 20\n');
    expect(three.endsWith('nodes:\n  - role: control-plane\n  - role: worker\n  - role: worker\n')).toBe(true);
  });
});

describe('which drills can run where (not applicable, never a zero)', () => {
  const target = (over: Record<string, unknown> = {}) => ({
    workload: workloadOf(),
    nodeAccess: true,
    schedulableNodes: 2,
    ownsNodes: true,
    ...over,
  });
  it('node drills need nodes labgrader owns, two of them, and (to stop one) node access', () => {
    expect(nodeFailureUnsupported(target())).toBeUndefined();
    expect(nodeDrain.unsupported(target())).toBeUndefined();
    expect(nodeFailureUnsupported(target({ ownsNodes: false }))).toBe(
      "this is an existing cluster that labgrader does not own: it never stops someone else's nodes",
    );
    expect(nodeDrain.unsupported(target({ ownsNodes: false, schedulableNodes: 1 }))).toBe(
      "this is an existing cluster that labgrader does not own: it never drains someone else's nodes",
    );
    expect(nodeDrain.unsupported(target({ schedulableNodes: 1 }))).toBe(
      "the cluster has 1 node for the lab's pods, so draining it leaves them nowhere to go (grade it in a kind cluster with target: { type: kind, workers: 2 })",
    );
    expect(nodeFailureUnsupported(target({ nodeAccess: false }))).toBe(
      "this target gives no access to the nodes' containers, so no node can be stopped",
    );
    const sts = { ...workloadOf(), kind: 'StatefulSet' as const, subject: 'StatefulSet lab85/db' };
    expect(nodeFailureUnsupported(target({ workload: sts }))).toMatch(
      /^StatefulSet lab85\/db is a StatefulSet: Kubernetes does not replace/,
    );
    expect(nodeDrain.unsupported(target({ workload: sts }))).toBeUndefined();
    expect(readinessGate.unsupported(target({ nodeAccess: false }))).toMatch(/no access to the nodes/);
  });

  it('a workload that reads no Secret has nothing to rotate', () => {
    expect(secretRotation.unsupported(target())).toBeUndefined();
    const w = workloadOf();
    const bare = { ...w, workload: { ...w.workload, containers: [], initContainers: [], podSpec: {} } };
    expect(noSecretReason(bare)).toBe(
      'Deployment lab85/web reads no Secret (secretKeyRef, envFrom or a secret volume): there is nothing to rotate',
    );
    expect(noSecretReason(w, 'other')).toMatch(/does not read Secret other/);
  });
});

describe('readiness gate (scripted)', () => {
  it('blocks one pod’s address in its node, sees it leave the endpoints, lifts the fault in every outcome', async () => {
    const { clock, runner, sim } = setup(threePods());
    const scripts: string[] = [];
    runner.on(/^docker exec lg-x-worker sh -c /, (c: Call) => {
      const script = c.args[4]!;
      scripts.push(script);
      const victim = sim.pods.find((p) => p.name === 'web-a')!;
      if (script.includes('-I OUTPUT'))
        victim.notReadyFrom = clock.t + 9_000; // periodSeconds 5 × failureThreshold 2
      else victim.notReadyFrom = undefined;
      return { stdout: '' };
    });
    const failing = (t: number) => t >= 50 && t < 9_200 && Math.floor(t / 250) % 3 === 0;
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, (t) => !failing(t)),
    );
    const result = await readinessGate.run(ctx, readinessGate.settings.parse({}));
    expect(scripts).toEqual([blockScript('10.244.1.2'), unblockScript('10.244.1.2')]);
    expect(blockScript('10.244.1.2')).toContain(
      'iptables -w -A LABGRADER-RDY-10-244-1-2 -d 10.244.1.2/32 -p tcp -j REJECT --reject-with tcp-reset',
    );
    expect(result).toMatchObject({
      status: 'completed',
      pod: 'web-a',
      node: W1,
      services: ['web'],
      readinessProbe: 'network',
      desired: 3,
      afterOut: { ratio: 1 },
    });
    expect(result.recoverySeconds).toBeGreaterThanOrEqual(9);
    expect(result.recoverySeconds).toBeLessThan(10.5);
    expect(result.untilOut!.ok).toBeLessThan(result.untilOut!.total);
    expect(result.timeline!.map((e) => e.event)).toEqual([
      expect.stringMatching(/^pod web-a \(10\.244\.1\.2, node lg-x-worker\) stops accepting connections/),
      'pod web-a not Ready: its readiness probe fails',
      'taken out of the endpoints of Service web: traffic goes to the other pods',
      'fault lifted: connections to pod web-a are accepted again',
      'pod web-a Ready again',
    ]);
  });

  it('without a readiness probe the pod is never taken out: graded on the errors clients saw', async () => {
    const { clock, runner } = setup(threePods());
    runner.on(/^docker exec lg-x-worker sh -c /, { stdout: '' });
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, (t) => Math.floor(t / 250) % 3 !== 0),
      'no-readiness-probe',
    );
    const result = await readinessGate.run(ctx, readinessGate.settings.parse({ timeoutSeconds: 20 }));
    expect(result).toMatchObject({ status: 'completed', readinessProbe: 'none' });
    expect(result.recoverySeconds).toBeUndefined();
    expect(result.afterOut).toBeUndefined();
    expect(result.untilOut!.ratio).toBeLessThan(0.7);
    // The fault is lifted even when the drill gives up.
    expect(lines(runner).filter((l) => l.startsWith('docker exec'))).toHaveLength(2);
  });
});

describe('node failure (scripted)', () => {
  function failNode(clock: FakeClock, runner: FakeRunner, sim: ReturnType<typeof simCluster>) {
    const calls: string[] = [];
    runner
      .on(/^docker pause lg-x-worker$/, () => {
        calls.push('pause');
        sim.nodeState[W1] = { readyUntil: clock.t + 19_000 };
        for (const p of sim.pods.filter((x) => x.node === W1)) {
          p.notReadyFrom = clock.t + 19_000;
          p.deletingAt = clock.t + 29_000;
          sim.pods.push({
            name: `${p.name}-new`,
            node: W2,
            ip: `10.244.2.${sim.pods.length + 5}`,
            readyAt: clock.t + 31_000,
          });
        }
        return { stdout: '' };
      })
      .on(/^docker unpause lg-x-worker$/, () => {
        calls.push('unpause');
        // Ready at once, its taints lifted 8 s later (after its old pods are gone).
        sim.nodeState[W1] = { taintedUntil: clock.t + 8_000 };
        for (const p of sim.pods.filter((x) => x.node === W1)) p.goneAt = clock.t + 5_000;
        return { stdout: '' };
      });
    return calls;
  }

  it('stops the busiest worker; the Service answers from the other node once it is declared lost; the pods come back elsewhere', async () => {
    const { clock, runner, sim } = setup(threePods());
    const calls = failNode(clock, runner, sim);
    // Requests to the frozen node's pods (2 of 3) fail until it is declared lost (19 s, + kube-proxy).
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, (t) => t < 50 || t >= 20_000 || Math.floor(t / 250) % 3 === 2),
    );
    const result = await nodeFailure.run(ctx, nodeFailure.settings.parse({}));
    expect(calls).toEqual(['pause', 'unpause']);
    expect(result).toMatchObject({
      status: 'completed',
      node: W1,
      podsOnNode: ['web-a', 'web-b'],
      desired: 3,
      unreachableToleration: 10,
      afterLost: { ratio: 1 },
      spreadAfter: { [W2]: 3 },
    });
    expect(result.notReadySeconds).toBeGreaterThanOrEqual(19);
    expect(result.evictedSeconds).toBeGreaterThanOrEqual(29);
    expect(result.recoverySeconds).toBeGreaterThanOrEqual(31);
    expect(result.recoverySeconds).toBeLessThan(33);
    expect(result.beforeLost!.ok).toBeLessThan(result.beforeLost!.total);
    expect(result.timeline!.map((e) => e.event.split(':')[0])).toEqual(
      expect.arrayContaining([
        'node lg-x-worker declared lost (Ready',
        'its pods marked not Ready',
        'the Service answers again',
        'replacement web-a-new Ready on lg-x-worker2',
        '3/3 pods Ready on the other nodes',
        'docker unpause lg-x-worker',
        'node lg-x-worker Ready and schedulable again, its old pods gone',
      ]),
    );
    // Back means untainted too (the drain that may follow needs the node): not before the taints are lifted.
    const unpaused = result.timeline!.find((e) => e.event === 'docker unpause lg-x-worker')!;
    const back = result.timeline!.find((e) => e.event.startsWith('node lg-x-worker Ready and schedulable again'))!;
    expect(back.atSeconds - unpaused.atSeconds).toBeGreaterThanOrEqual(8);
  });

  it('one replica: nothing answers from the other node until the replacement is Ready', async () => {
    const { clock, runner, sim } = setup([{ name: 'web-a', node: W1, ip: '10.244.1.2', readyAt: 0 }]);
    failNode(clock, runner, sim);
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, (t) => t < 50 || t >= 31_500),
      'one-replica',
    );
    const result = await nodeFailure.run(ctx, nodeFailure.settings.parse({}));
    expect(result).toMatchObject({ status: 'completed', podsOnNode: ['web-a'], desired: 1 });
    expect(result.afterLost!.ratio).toBeLessThan(0.5);
    expect(result.answeringAgainSeconds).toBeGreaterThanOrEqual(31.5);
  });
});

describe('node drain (scripted)', () => {
  function drainable(clock: FakeClock, runner: FakeRunner, sim: ReturnType<typeof simCluster>, blocked: boolean) {
    const allowed = () => (blocked ? 0 : sim.live().filter(sim.ready).length >= 3 ? 1 : 0);
    runner
      .on(/ -n lab85 get poddisruptionbudgets -o json$/, () => ({
        stdout: JSON.stringify({
          items: [
            {
              metadata: { name: 'web' },
              spec: {
                selector: { matchLabels: { 'app.kubernetes.io/name': 'web' } },
                ...(blocked ? { minAvailable: 3 } : { maxUnavailable: 1 }),
              },
              status: {
                disruptionsAllowed: allowed(),
                currentHealthy: sim.live().filter(sim.ready).length,
                desiredHealthy: blocked ? 3 : 2,
              },
            },
          ],
        }),
      }))
      .on(/^kubectl drain lg-x-worker --ignore-daemonsets --delete-emptydir-data --timeout=60s$/, async () => {
        if (blocked) {
          await clock.sleep(60_000);
          return {
            exitCode: 1,
            stdout: 'node/lg-x-worker cordoned\n',
            stderr: `${'error when evicting pods/"web-a" -n "lab85" (will retry after 5s): Cannot evict pod as it would violate the pod\'s disruption budget.\n'.repeat(12)}error: unable to drain node "lg-x-worker" due to error: [error when evicting pods/"web-a" -n "lab85": global timeout reached: 1m0s], continuing command...\n`,
          };
        }
        // One pod at a time: the budget allows one disruption; the second eviction is refused until the first replacement is Ready.
        const evict = (name: string) => {
          const p = sim.pods.find((x) => x.name === name)!;
          p.deletingAt = clock.t;
          p.goneAt = clock.t + 2_000;
          sim.pods.push({
            name: `${name}-new`,
            node: W2,
            ip: `10.244.2.${sim.pods.length + 5}`,
            readyAt: clock.t + 1_500,
          });
        };
        evict('web-a');
        await clock.sleep(5_000);
        evict('web-b');
        await clock.sleep(2_500);
        return {
          stdout:
            'node/lg-x-worker cordoned\nevicting pod lab85/web-a\nevicting pod lab85/web-b\nnode/lg-x-worker drained\n',
          stderr: `error when evicting pods/"web-b" -n "lab85" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.\n`,
        };
      })
      .on(/^kubectl uncordon lg-x-worker$/, { stdout: 'node/lg-x-worker uncordoned\n' });
  }

  it('drains the busiest worker through the budget, one pod at a time, and uncordons it', async () => {
    const { clock, runner, sim } = setup(threePods());
    drainable(clock, runner, sim, false);
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, () => true),
    );
    const result = await nodeDrain.run(ctx, nodeDrain.settings.parse({}));
    expect(lines(runner)).toEqual([
      'kubectl drain lg-x-worker --ignore-daemonsets --delete-emptydir-data --timeout=60s',
      'kubectl uncordon lg-x-worker',
    ]);
    expect(result).toMatchObject({
      status: 'completed',
      node: W1,
      podsOnNode: ['web-a', 'web-b'],
      budgets: [{ name: 'web', maxUnavailable: 1, disruptionsAllowed: 1 }],
      drained: true,
      refusedEvictions: 1,
      leftOnNode: [],
      minReady: 2,
      spreadAfter: { [W2]: 3 },
      probe: { ratio: 1 },
    });
    expect(result.recoverySeconds).toBeGreaterThan(6);
    expect(result.recoverySeconds).toBeLessThan(8);
    expect(result.blockedSeconds).toBeGreaterThan(0);
  });

  it('a budget that allows no disruption blocks the drain until kubectl gives up; the node is uncordoned anyway', async () => {
    const { clock, runner, sim } = setup(threePods());
    drainable(clock, runner, sim, true);
    const ctx = drillContext(
      clock,
      runner,
      simProber(clock, () => true),
      'pdb-blocks-drain',
    );
    const result = await nodeDrain.run(ctx, nodeDrain.settings.parse({}));
    expect(lines(runner)).toContain('kubectl uncordon lg-x-worker');
    expect(result).toMatchObject({
      status: 'completed',
      drained: false,
      refusedEvictions: 12,
      leftOnNode: ['web-a', 'web-b'],
      budgets: [{ name: 'web', minAvailable: 3, disruptionsAllowed: 0 }],
      drainError: expect.stringMatching(
        /^error: unable to drain node "lg-x-worker".*global timeout reached: 1m0s/,
      ) as unknown,
    });
    expect(result.recoverySeconds).toBeUndefined();
    expect(result.blockedSeconds).toBeGreaterThanOrEqual(59);
  });
});

describe('secret rotation (through the stage, scripted)', () => {
  it('rotates the Secret with values it never reports, waits for a roll, then runs kubectl rollout restart', async () => {
    const clock = new FakeClock();
    const runner = new FakeRunner(clock);
    runner.commandMs = 0;
    const probe = Array.from({ length: 40 }, (_, i) => `${1_000_000 + i * 250} 0 200`).join('\n') + '\n';
    const cluster = scriptKindCluster(runner, clock, {
      replicas: 3,
      readyAfterMs: 4_000,
      podKill: { readyAfterMs: 1_800, goneAfterMs: 3_000 },
      containerKill: { readyAfterMs: 2_300 },
      rollout: { minReady: 2, undoReadyAfterMs: 1_200 },
      probeOutputs: [probe],
    });
    const { patches } = scriptRotationDrills(runner, clock, cluster);
    let n = 0;
    const prep = await prepareCluster(
      stageInput(
        await repoOf(path.join(EXAMPLES, 'lab-85-passing')),
        runner,
        {},
        {
          checks: [{ id: 'cluster/secret-rotation', options: {} }],
        },
      ),
      {
        env: { LABGRADER_KIND: 'kind', LABGRADER_KUBECTL: 'kubectl' },
        clock,
        sleep: clock.sleep,
        randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 37 + 11) % 256),
      },
    );
    const result = prep.context.drills['secret-rotation']!;
    expect(Object.keys(prep.context.drills)).toEqual(['secret-rotation']);
    expect(result).toMatchObject({
      status: 'completed',
      secret: 'lab85/web-secrets',
      keys: ['api-token'],
      readAs: ['env'],
      pickedUp: 'rollout-restart',
      desired: 3,
    });
    expect(result.restartedAtSeconds).toBeGreaterThanOrEqual(20);
    expect(result.pickupSeconds).toBeGreaterThan(result.restartedAtSeconds!);
    // The new value went to the cluster on standard input only, with the resourceVersion read, and nowhere else.
    expect(patches).toHaveLength(1);
    const sent = JSON.parse(patches[0]!) as { metadata: { resourceVersion: string }; data: Record<string, string> };
    expect(sent.metadata.resourceVersion).toBe('7');
    const value = Buffer.from(sent.data['api-token']!, 'base64').toString();
    expect(value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    const graded = await clusterRegistry.get('cluster/secret-rotation')!.check(prep.context, {
      minSuccessRatio: 0.95,
      restartCredit: 1,
      outageCredit: 0.5,
    });
    const everything = JSON.stringify({
      drills: prep.context.drills,
      graded,
      evidence: prep.evidence,
      calls: runner.calls.map((c) => c.args),
    });
    expect(everything).not.toContain(value);
    expect(everything).not.toContain(sent.data['api-token']);
    expect(graded).toMatchObject({ examined: 1, passed: 1, score: 1 });
    expect(lines(runner)).toContainEqual(expect.stringMatching(/ -n lab85 rollout restart deployment\/web$/));
  });
});

describe('pod kill and container kill: when the pod went NotReady (through the stage, scripted)', () => {
  it('records the NotReady moment of the deleted pod and of the killed container’s pod, on their timelines and in the evidence', async () => {
    const { context, graded, evidence, runner } = await runRecoveryDrills();
    const podKill = context.drills['pod-kill'] as PodKillResult;
    // The container kill started while the deleted pod was still Terminating (gone 3 s after its delete).
    const deletedAt = runner.calls.find((c) => c.args.includes('delete') && c.args.includes('pod'))!.at;
    const killedAt = runner.calls.find((c) => c.args.includes('SIGKILL'))!.at;
    expect(killedAt - deletedAt).toBeLessThan(3_000);
    // The delete sets the pod's deletionTimestamp at once: the first poll (500 ms) sees it Terminating.
    expect(podKill).toMatchObject({ status: 'completed', recoverySeconds: 2, notReadySeconds: 0.5 });
    expect(podKill.timeline).toEqual([
      { atSeconds: 0, event: 'pod web-abc-a1 deleted (kubectl delete pod --wait=false)' },
      { atSeconds: 0.5, event: 'pod web-abc-a1 NotReady: Terminating, no longer a ready endpoint of the Service' },
      { atSeconds: 0.5, event: 'replacement web-abc-d4 created' },
      { atSeconds: 2, event: 'replacement web-abc-d4 Ready on labgrader-000001-control-plane' },
      { atSeconds: 2, event: '3/3 pods Ready again' },
      // Its graceful shutdown (gone at 3 s) is not waited for: the container kill may start beside it.
      {
        atSeconds: 2,
        event: 'pod web-abc-a1 still Terminating (its graceful shutdown goes on outside the Service; not waited for)',
      },
    ]);
    const containerKill = context.drills['container-kill'] as ContainerKillResult;
    expect(containerKill).toMatchObject({ status: 'completed', recoverySeconds: 2.5, notReadySeconds: 0.5 });
    expect(containerKill.timeline).toEqual([
      {
        atSeconds: 0,
        event:
          'container web of pod web-abc-b2 killed (SIGKILL from the runtime of node labgrader-000001-control-plane)',
      },
      { atSeconds: 0.5, event: "pod web-abc-b2 NotReady (Ready: False): out of the Service's ready endpoints" },
      { atSeconds: 0.5, event: 'container web restarted (restart count 1)' },
      { atSeconds: 2.5, event: 'pod web-abc-b2 Ready again' },
    ]);
    // The checks grade as before, and record each timeline as one evidence line, next to the narrative.
    expect(graded['cluster/pod-kill-recovery']).toMatchObject({ examined: 1, passed: 1, score: 1 });
    expect(graded['cluster/container-kill-recovery']).toMatchObject({ examined: 1, passed: 1, score: 1 });
    const timelines = evidence.filter((e) => e.label === 'timeline');
    expect(timelines.map((e) => [e.checkId, e.detail.split('\n')[1], e.location?.line])).toEqual([
      [
        'cluster/pod-kill-recovery',
        '+0.5 s  pod web-abc-a1 NotReady: Terminating, no longer a ready endpoint of the Service',
        78, // readinessProbe:, where the narrative points
      ],
      [
        'cluster/container-kill-recovery',
        "+0.5 s  pod web-abc-b2 NotReady (Ready: False): out of the Service's ready endpoints",
        78,
      ],
    ]);
    expect(evidence.map((e) => e.label).slice(0, 3)).toEqual(['pod-kill', 'recovery-time', 'timeline']);
  });

  it('a container restarted and Ready again between two polls: no NotReady moment is made up', async () => {
    const { context } = await runRecoveryDrills({ ...RECOVERY_SCRIPT, containerKill: { readyAfterMs: 300 } });
    const containerKill = context.drills['container-kill'] as ContainerKillResult;
    expect(containerKill).toMatchObject({ status: 'completed', recoverySeconds: 0.5 });
    expect(containerKill.notReadySeconds).toBeUndefined();
    expect(containerKill.timeline?.map((e) => e.event)).toEqual([
      expect.stringMatching(/^container web of pod web-abc-b2 killed/) as unknown,
      'container web restarted (restart count 1)',
      'pod web-abc-b2 Ready again',
    ]);
  });

  it('a deleted pod already gone at the first poll: NotReady then, and said so', async () => {
    const { context } = await runRecoveryDrills({
      ...RECOVERY_SCRIPT,
      podKill: { readyAfterMs: 1_800, goneAfterMs: 400 },
    });
    const podKill = context.drills['pod-kill'] as PodKillResult;
    // Gone 400 ms after the delete, before the first poll: NotReady and gone are seen together.
    expect(podKill.notReadySeconds).toBe(0.5);
    expect(podKill.timeline?.slice(1, 2)).toEqual([
      { atSeconds: 0.5, event: 'pod web-abc-a1 NotReady: already gone, no longer an endpoint of the Service' },
    ]);
    expect(podKill.timeline?.map((e) => e.event)).toContain('pod web-abc-a1 gone (terminated)');
  });
});

// ---------------------------------------------------------------------------------------------
// The checks, on measurements given by hand.

function context(lab: string, drills: Record<string, unknown>): ClusterContext {
  const plan = plans[lab]!;
  const workload = workloadOf(lab);
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
    drills: drills as ClusterContext['drills'],
    disabled: [],
    unsupported: {},
  } as ClusterContext;
}

const ran = (scenario: string, fields: Record<string, unknown>): DrillResult =>
  ({
    scenario,
    status: 'completed',
    timeoutSeconds: 180,
    commands: [],
    events: [],
    narrative: 'n',
    timeline: [{ atSeconds: 0, event: 'fault' }],
    ...fields,
  }) as DrillResult;

const probe = (ok: number, total: number) => ({ via: 'curl', ok, total, ratio: ok / total, longestOutageMs: 0 });

async function grade(id: string, ctx: ClusterContext, options: Record<string, unknown> = {}): Promise<CheckOutcome> {
  const check = clusterRegistry.get(id)!;
  return check.check(ctx, check.options.parse(options));
}
const at = (o: CheckOutcome) => o.findings.map((f) => `${f.severity} ${f.location?.file}:${f.location?.line}`);

describe('cluster/node-drain', () => {
  it('a drain through a budget that allows one disruption, with the Service answering: full credit, with the timeline', async () => {
    const drill = ran('node-drain', {
      node: W1,
      desired: 3,
      drained: true,
      drainTimeoutSeconds: 60,
      recoverySeconds: 14.3,
      refusedEvictions: 3,
      blockedSeconds: 3.9,
      budgets: [{ name: 'web', maxUnavailable: 1, disruptionsAllowed: 1 }],
      probe: probe(54, 54),
    });
    const o = await grade('cluster/node-drain', context('passing', { 'node-drain': drill }));
    expect(o).toMatchObject({ examined: 2, passed: 2, score: 1, findings: [] });
    expect(o.summary).toBe(
      'drained, all pods Ready elsewhere in 14.3 s (≤ 60 s band: full credit); 54/54 requests answered',
    );
    expect(o.evidence?.find((e) => e.label === 'timeline')).toMatchObject({
      detail: '+0.0 s  fault',
      location: { file: 'k8s/pdb.yaml', line: 7 },
    });
  });

  it('minAvailable = replicas: the drain is blocked, which costs the drain half, at the budget’s line', async () => {
    const drill = ran('node-drain', {
      node: W1,
      desired: 3,
      drained: false,
      drainTimeoutSeconds: 60,
      drainSeconds: 61.2,
      refusedEvictions: 36,
      blockedSeconds: 60.8,
      leftOnNode: ['web-a', 'web-b', 'web-c'],
      budgets: [{ name: 'web', minAvailable: 3, disruptionsAllowed: 0 }],
      probe: probe(219, 219),
    });
    const o = await grade('cluster/node-drain', context('pdb-blocks-drain', { 'node-drain': drill }));
    expect(o).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(at(o)).toEqual(['error k8s/pdb.yaml:7']);
    expect(o.findings[0]!.message).toBe(
      'kubectl drain of node lg-x-worker did not finish within 60 s: PodDisruptionBudget web (minAvailable: 3, 0 disruptions allowed) refused every eviction of the 3 pods of Deployment lab85/web left on it (36 refusals), so the node can never be emptied for maintenance. Allow one disruption: maxUnavailable: 1, or minAvailable below the 3 replicas.',
    );
  });

  it('one replica: the drain goes through, but the Service stops answering, which costs the other half at replicas:', async () => {
    const drill = ran('node-drain', {
      node: W1,
      desired: 1,
      drained: true,
      recoverySeconds: 1.9,
      budgets: [{ name: 'web', maxUnavailable: 1, disruptionsAllowed: 1 }],
      probe: probe(7, 9),
    });
    const o = await grade('cluster/node-drain', context('one-replica', { 'node-drain': drill }));
    expect(o).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:9']);
    expect(o.findings[0]!.message).toMatch(/runs a single replica, so evicting it leaves nothing to answer/);
  });
});

describe('cluster/node-failure', () => {
  const failed = (fields: Record<string, unknown>) =>
    ran('node-failure', {
      node: W1,
      desired: 3,
      podsOnNode: ['web-a', 'web-b'],
      notReadySeconds: 19.2,
      unreachableToleration: 10,
      ...fields,
    });

  it('served from the other node once the node was declared lost, replaced within a minute: full credit', async () => {
    const o = await grade(
      'cluster/node-failure',
      context('passing', {
        'node-failure': failed({ recoverySeconds: 30.8, afterLost: probe(44, 44), beforeLost: probe(12, 20) }),
      }),
    );
    expect(o).toMatchObject({ examined: 2, passed: 2, score: 1, findings: [] });
    expect(o.evidence?.find((e) => e.label === 'before-node-declared-lost')?.detail).toBe(
      "12/20 requests answered in the 19.2 s before the cluster declared node lg-x-worker lost (not graded: the cluster's node-monitor-grace-period decides it)",
    );
  });

  it('one replica: a node failure is an outage, which costs the serving half at replicas:', async () => {
    const o = await grade(
      'cluster/node-failure',
      context('one-replica', {
        'node-failure': failed({ desired: 1, podsOnNode: ['web-a'], recoverySeconds: 32.9, afterLost: probe(9, 47) }),
      }),
    );
    expect(o).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:9']);
    expect(o.findings[0]!.message).toBe(
      'Once the cluster had declared node lg-x-worker lost, the Service answered only 9 of 47 requests (19.1%; at least 95% expected) until the lost pods were replaced: Deployment lab85/web runs a single replica, and it was on that node.',
    );
  });

  it('every replica on the lost node points at the spread; a toleration that keeps pods on a lost node at the tolerations', async () => {
    let o = await grade(
      'cluster/node-failure',
      context('passing', {
        'node-failure': failed({ podsOnNode: ['a', 'b', 'c'], recoverySeconds: 35, afterLost: probe(2, 40) }),
      }),
    );
    expect(at(o)).toEqual(['error k8s/deployment.yaml:29']); // topologySpreadConstraints
    o = await grade(
      'cluster/node-failure',
      context('passing', { 'node-failure': failed({ unreachableToleration: 'forever', afterLost: probe(40, 40) }) }),
    );
    expect(o).toMatchObject({ examined: 2, passed: 1, score: 0.5 });
    expect(o.findings[0]!.message).toMatch(/tolerate node\.kubernetes\.io\/unreachable forever/);
  });
});

describe('cluster/readiness-gate', () => {
  it('taken out within the band, no errors once out: full credit', async () => {
    const drill = ran('readiness-gate', {
      pod: 'web-a',
      services: ['web'],
      readinessProbe: 'network',
      desired: 3,
      recoverySeconds: 10.6,
      untilOut: probe(35, 46),
      afterOut: probe(30, 30),
    });
    const o = await grade('cluster/readiness-gate', context('passing', { 'readiness-gate': drill }));
    expect(o).toMatchObject({ examined: 2, passed: 2, score: 1, findings: [] });
    expect(o.summary).toBe(
      'taken out after 10.6 s (≤ 15 s band: full credit); 30/30 requests answered once it was out',
    );
  });

  it('no readiness probe: never taken out, errors throughout, no credit, at the container', async () => {
    const drill = ran('readiness-gate', {
      pod: 'web-a',
      services: ['web'],
      readinessProbe: 'none',
      desired: 3,
      timeoutSeconds: 45,
      untilOut: probe(116, 165),
    });
    const o = await grade('cluster/readiness-gate', context('no-readiness-probe', { 'readiness-gate': drill }));
    expect(o).toMatchObject({ examined: 2, passed: 0, score: 0 });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:43', 'error k8s/deployment.yaml:43']); // - name: web
    expect(o.findings[0]!.message).toBe(
      'Pod web-a of Deployment lab85/web stopped accepting connections, but Service web still routed requests to it 45 s later. The container has no readinessProbe, so Kubernetes cannot tell that the pod is not serving.',
    );
  });

  it('a slow probe earns the band’s credit; one replica leaves nothing to answer once it is out', async () => {
    let o = await grade(
      'cluster/readiness-gate',
      context('passing', {
        'readiness-gate': ran('readiness-gate', {
          readinessProbe: 'network',
          desired: 3,
          recoverySeconds: 31,
          afterOut: probe(20, 20),
        }),
      }),
    );
    expect(o).toMatchObject({ score: 0.75 });
    expect(at(o)).toEqual(['warning k8s/deployment.yaml:78']);
    o = await grade(
      'cluster/readiness-gate',
      context('one-replica', {
        'readiness-gate': ran('readiness-gate', {
          readinessProbe: 'network',
          desired: 1,
          recoverySeconds: 8.9,
          afterOut: probe(0, 26),
        }),
      }),
    );
    expect(o).toMatchObject({ score: 0.5 });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:9']);
  });
});

describe('cluster/secret-rotation', () => {
  const rotated = (fields: Record<string, unknown>) =>
    ran('secret-rotation', { secret: 'lab85/web-secrets', secretName: 'web-secrets', desired: 3, ...fields });

  it('picked up after kubectl rollout restart without an outage: full credit by default, restartCredit otherwise', async () => {
    const drill = rotated({
      pickedUp: 'rollout-restart',
      pickupSeconds: 27.2,
      recoverySeconds: 27.2,
      restartedAtSeconds: 21.7,
      probe: probe(90, 90),
    });
    let o = await grade('cluster/secret-rotation', context('passing', { 'secret-rotation': drill }));
    expect(o).toMatchObject({ examined: 1, passed: 1, score: 1, findings: [] });
    expect(o.summary).toBe(
      'picked up after kubectl rollout restart, 27.2 s after the rotation, without an outage (90/90 requests answered)',
    );
    o = await grade('cluster/secret-rotation', context('passing', { 'secret-rotation': drill }), {
      restartCredit: 0.5,
    });
    expect(o).toMatchObject({ score: 0.5 });
    expect(at(o)).toEqual(['warning k8s/deployment.yaml:62']); // secretKeyRef name: web-secrets
  });

  it('an outage while the pods restart caps the credit; not picked up is no credit', async () => {
    let o = await grade(
      'cluster/secret-rotation',
      context('one-replica', {
        'secret-rotation': rotated({
          desired: 1,
          pickedUp: 'rollout-restart',
          pickupSeconds: 28,
          restartedAtSeconds: 20.6,
          probe: probe(74, 81),
        }),
      }),
    );
    expect(o).toMatchObject({ examined: 1, passed: 0, score: 0.5 });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:9']);
    o = await grade(
      'cluster/secret-rotation',
      context('passing', { 'secret-rotation': rotated({ probe: probe(10, 10) }) }),
    );
    expect(o).toMatchObject({ examined: 1, score: 0, summary: 'not picked up within 180 s' });
    expect(at(o)).toEqual(['error k8s/deployment.yaml:62']);
  });
});

describe('the watching drills’ checks when the lab failed on its own (one cause, one finding)', () => {
  it.each([
    ['cluster/node-drain', 'node-drain', 2],
    ['cluster/node-failure', 'node-failure', 2],
    ['cluster/readiness-gate', 'readiness-gate', 2],
    ['cluster/secret-rotation', 'secret-rotation', 1],
  ])(
    '%s: a drill that ran before the pods were seen restarting by themselves earns nothing, without a finding of its own',
    async (id, scenario, subjects) => {
      const ctx = context('passing', { [scenario]: ran(scenario, { probe: probe(40, 40), recoverySeconds: 3 }) });
      ctx.cause = {
        summary: 'Deployment lab85/web restarted 2 times by itself after it was Ready (LivenessProbeFailed)',
        reportedBy: 'cluster/deploys-ready',
        location: { file: 'k8s/deployment.yaml', line: 71, column: 11 },
      };
      const outcome = await grade(id, ctx);
      // (passed counts the subjects without a finding; the score, 0, is what grading takes.)
      expect(outcome).toMatchObject({ examined: subjects, score: 0, findings: [] });
      expect(outcome.summary).toBe(
        'not meaningful, no credit (Deployment lab85/web restarted 2 times by itself after it was Ready (LivenessProbeFailed); the cause is reported once, by cluster/deploys-ready at k8s/deployment.yaml:71)',
      );
      // Its measurements are still shown, at the cause's line.
      expect(outcome.evidence?.map((e) => e.label)).toEqual([
        scenario,
        'recovery-time',
        'timeline',
        'service-probe',
        'not-meaningful',
      ]);
    },
  );
});

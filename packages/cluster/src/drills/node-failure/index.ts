/**
 * Node failure: a worker node stops without warning (`docker pause` of its
 * kind node container: the kubelet, the container runtime and every pod on it
 * freeze; connections to its pods hang), and the workload must be served
 * from the other nodes and replaced there.
 *
 * Kubernetes reacts in two steps, both timed by the cluster, not by the
 * lab: the node controller declares the node lost once its kubelet has not
 * renewed its lease for `node-monitor-grace-period` (the pods on it are then
 * marked not Ready and leave the Service's endpoints), and the pods are
 * evicted once they have tolerated `node.kubernetes.io/unreachable` for their
 * `tolerationSeconds`. Kubernetes' defaults (50 s and 300 s) would make a
 * grading run wait six minutes, so labgrader's multi-node kind clusters are
 * created with a 20 s grace period and a 10 s default toleration (see
 * target.ts); a lab that sets its own toleration keeps it, and is measured
 * with it. Nothing of the lab is changed.
 *
 * What the lab controls, and what is graded: whether other nodes still run
 * Ready replicas once the node is declared lost (replicas, spread over
 * nodes), and how long until the lost pods are replaced elsewhere and the
 * Service answers from them (tolerations, readiness). The requests that fail
 * before the cluster notices (the grace period) are shown, not graded.
 * Then the node is unpaused and watched until it is Ready again.
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, isPodReady, readyPods, type List } from '../../kube.js';
import type { ProbeSummary } from '../../probe.js';
import {
  completedDrill,
  drillEvents,
  getWorkload,
  listPods,
  notRun,
  seconds,
  type DrillContext,
  type DrillResult,
} from '../common.js';
import { defineDrill, drillRunSettings, type DrillTarget } from '../contract.js';
import {
  Timeline,
  answeringAgainMs,
  busiestNode,
  nodeDrillUnsupported,
  drillStart,
  isTerminatingPod,
  nodeReadyStatus,
  probeWindow,
  spreadOf,
  stopProbeSamples,
  workerNodes,
  type KubeNode,
  type PodDetail,
  type ProbeRecord,
} from '../observe.js';

export const nodeFailureSettings = z.strictObject({
  ...drillRunSettings,
  /** The node to stop (a worker); default: the worker running the most Ready pods of the workload. */
  node: z.string().min(1).optional(),
  /** After the node is back, how long to wait for it to be Ready and the lost pods gone (not graded). */
  restoreTimeoutSeconds: z.number().positive().max(600).default(90),
});
export type NodeFailureSettings = z.infer<typeof nodeFailureSettings>;

export interface NodeFailureResult extends DrillResult {
  node?: string;
  /** The workload's pods on the node when it stopped. */
  podsOnNode?: string[];
  desired?: number;
  /** How long those pods tolerate an unreachable node: seconds, `forever` (no tolerationSeconds), or none. */
  unreachableToleration?: number | 'forever' | 'none';
  /** Seconds until the node was declared lost (Ready: Unknown). */
  notReadySeconds?: number;
  /** Seconds until its pods were marked not Ready (out of the Service's endpoints). */
  podsNotReadySeconds?: number;
  /** Seconds until its pods were evicted (deleted by the taint manager). */
  evictedSeconds?: number;
  /** Seconds until `desired` pods were Ready on other nodes. */
  replacedSeconds?: number;
  /** Seconds until the Service answered again for good (0: it never stopped). */
  answeringAgainSeconds?: number;
  /** The Service's answers before the cluster declared the node lost (not graded: the cluster's timing). */
  beforeLost?: ProbeSummary;
  /** Its answers from then on (after kube-proxy's update) until the end: what the lab's replicas and spread decide. */
  afterLost?: ProbeSummary;
  /** Ready pods of the workload per node, once replaced (or at the end). */
  spreadAfter?: Record<string, number>;
  /** Seconds after `docker unpause` until the node was Ready again (not graded). */
  nodeBackSeconds?: number;
}

const ENDPOINT_SETTLE_MS = 2_000;
/**
 * After the replacements are Ready, how long the Service is still probed (to see it answer from them, for good).
 * A loaded grading machine may take seconds to program the new endpoints (kube-proxy) and answer the probes: 3 s
 * was seen to end the drill before a single-replica lab's replacement answered, losing it the "replaced" half.
 */
const ANSWER_AFTER_MS = 8_000;
const UNREACHABLE = 'node.kubernetes.io/unreachable';
/** The taints the node lifecycle controller puts on a node it has lost, and lifts once it is back. */
const NODE_LIFECYCLE_TAINTS = new Set([UNREACHABLE, 'node.kubernetes.io/not-ready']);

export function nodeFailureUnsupported(target: DrillTarget): string | undefined {
  const why = nodeDrillUnsupported(target, 'stop');
  if (why) return why;
  if (!target.nodeAccess) return "this target gives no access to the nodes' containers, so no node can be stopped";
  if (target.workload.kind === 'StatefulSet') {
    return `${target.workload.subject} is a StatefulSet: Kubernetes does not replace its pods on a node that stops answering until the node is known to be gone (at most one pod per identity), so there is no recovery to measure`;
  }
  return undefined;
}

function toleration(pods: readonly PodDetail[]): NodeFailureResult['unreachableToleration'] {
  let result: NodeFailureResult['unreachableToleration'] = 'none';
  for (const pod of pods) {
    for (const t of pod.spec.tolerations ?? []) {
      const matches =
        (t.key === UNREACHABLE || (t.key === undefined && t.operator === 'Exists')) &&
        (t.effect === undefined || t.effect === 'NoExecute');
      if (!matches) continue;
      if (t.tolerationSeconds === undefined) return 'forever';
      result = result === 'none' ? t.tolerationSeconds : Math.max(result as number, t.tolerationSeconds);
    }
  }
  return result;
}

async function runNodeFailure(ctx: DrillContext, settings: NodeFailureSettings): Promise<NodeFailureResult> {
  const { timeoutSeconds } = settings;
  const w = ctx.workload;
  const nodeAccess = ctx.nodeAccess;
  if (!nodeAccess) {
    return notRun('node-failure', 'unsupported', "no access to the nodes' containers", timeoutSeconds);
  }
  const from = ctx.transcript.length;
  const nodes = (await ctx.kubectl.json<List<KubeNode>>(['get', 'nodes'])).items;
  const workers = workerNodes(nodes, ctx.nodes).map((n) => n.metadata.name);
  if (workers.length < 2) {
    return notRun(
      'node-failure',
      'not-run',
      `only ${workers.length} worker node${workers.length === 1 ? ' is' : 's are'} Ready and schedulable (${workers.join(', ') || 'none'}): stopping one would leave the pods nowhere to go`,
      timeoutSeconds,
    );
  }
  const desired = desiredReplicas(await getWorkload(ctx, true));
  const before = (await listPods(ctx, true)) as PodDetail[];
  const ready = readyPods(before) as PodDetail[];
  const node = settings.node ?? busiestNode(ready, workers);
  if (!node || !workers.includes(node)) {
    return notRun(
      'node-failure',
      'not-run',
      node
        ? `node ${node} is not a Ready worker node of this cluster (${workers.join(', ')})`
        : `no Ready pod of ${w.subject} runs on a worker node (${workers.join(', ')})`,
      timeoutSeconds,
    );
  }
  const victims = before.filter((p) => p.spec.nodeName === node && !isTerminatingPod(p));
  const victimNames = new Set(victims.map((p) => p.metadata.name));
  const unreachableToleration = toleration(victims);
  const known = new Set(before.map((p) => p.metadata.name));
  ctx.progress(
    `node failure: stopping node ${node} (${victims.length} pod${victims.length === 1 ? '' : 's'} of ${w.name})`,
  );

  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  const running = ctx.prober?.start((timeoutSeconds + 60) * 1000);
  let record: ProbeRecord;
  let paused = false;
  let notReadyMs: number | undefined;
  let podsNotReadyMs: number | undefined;
  let evictedMs: number | undefined;
  let replacedMs: number | undefined;
  let stoppedMs: number;
  let spreadAfter: Record<string, number> = {};
  try {
    const pause = await nodeAccess.docker.run(['pause', node]);
    if (pause.exitCode !== 0) throw new InfrastructureError(`docker pause ${node} failed: ${firstLine(pause.stderr)}`);
    paused = true;
    timeline.markAt(
      0,
      `node ${node} stops without warning (docker pause: its kubelet, container runtime and ${victims.length} pod${victims.length === 1 ? '' : 's'} of ${w.name} frozen: ${[...victimNames].join(', ') || 'none'})`,
    );
    for (;;) {
      const elapsed = timeline.elapsedMs();
      if (replacedMs !== undefined && elapsed >= replacedMs + ANSWER_AFTER_MS) break;
      if (replacedMs === undefined && elapsed >= timeoutSeconds * 1000) break;
      await ctx.sleep(ctx.config.pollIntervalMs);
      if (notReadyMs === undefined) {
        const now = (await ctx.kubectl.json<List<KubeNode>>(['get', 'nodes'], { unrecorded: true })).items;
        const status = nodeReadyStatus(now.find((n) => n.metadata.name === node));
        if (status !== 'True') {
          notReadyMs = timeline.elapsedMs();
          timeline.mark(`node ${node} declared lost (Ready: ${status}): its kubelet stopped renewing its lease`);
        }
      }
      const pods = (await listPods(ctx)) as PodDetail[];
      const lost = pods.filter((p) => victimNames.has(p.metadata.name));
      if (podsNotReadyMs === undefined && victims.length > 0 && lost.every((p) => !isPodReady(p))) {
        if (notReadyMs === undefined) {
          // Only the node controller marks a frozen node's pods not Ready, once it has declared the node lost: it
          // happened between this poll's two reads. Said in that order, at the time it was seen.
          notReadyMs = timeline.elapsedMs();
          timeline.mark(
            `node ${node} declared lost: its pods are marked not Ready, so the node controller gave up on it`,
          );
        }
        podsNotReadyMs = timeline.elapsedMs();
        timeline.mark(`its pods marked not Ready: out of the Service's endpoints`);
      }
      if (evictedMs === undefined && victims.length > 0 && lost.every(isTerminatingPod)) {
        evictedMs = timeline.elapsedMs();
        timeline.mark(
          `its pods evicted (${UNREACHABLE} tolerated for ${typeof unreachableToleration === 'number' ? `${unreachableToleration} s` : unreachableToleration}): the controller creates replacements`,
        );
      }
      for (const p of pods) {
        const name = p.metadata.name;
        if (!known.has(name)) {
          known.add(name);
          timeline.mark(`replacement ${name} created`);
        }
        if (!victimNames.has(name) && !before.some((b) => b.metadata.name === name)) {
          if (p.spec.nodeName)
            timeline.mark(`replacement ${name} scheduled on ${p.spec.nodeName}`, `scheduled-${name}`);
          if (isPodReady(p)) timeline.mark(`replacement ${name} Ready on ${p.spec.nodeName ?? '?'}`, `ready-${name}`);
        }
      }
      const elsewhere = readyPods(pods).filter((p) => p.spec.nodeName !== node);
      if (replacedMs === undefined && elsewhere.length >= desired) {
        replacedMs = timeline.elapsedMs();
        spreadAfter = spreadOf(elsewhere);
        timeline.mark(`${desired}/${desired} pods Ready on the other nodes`);
      }
      if (replacedMs === undefined) spreadAfter = spreadOf(elsewhere);
    }
  } finally {
    stoppedMs = timeline.elapsedMs();
    try {
      record = await stopProbeSamples(ctx, running, start);
    } finally {
      if (paused) {
        const unpause = await nodeAccess.docker
          .run(['unpause', node], { signal: null, timeoutMs: 60_000 })
          .catch((err: unknown) => ({ exitCode: 1, stderr: String(err) }));
        if (unpause.exitCode !== 0) {
          ctx.progress(`node failure: docker unpause ${node} failed: ${firstLine(unpause.stderr)}`);
        }
      }
    }
  }
  if (notReadyMs === undefined) {
    throw new InfrastructureError(
      `the cluster did not declare the stopped node ${node} lost within ${timeoutSeconds} s: its node-monitor-grace-period is longer than the drill waits`,
    );
  }
  const lostMs = podsNotReadyMs ?? notReadyMs;
  const beforeLost = probeWindow(record, 0, lostMs + ENDPOINT_SETTLE_MS);
  const afterLost = probeWindow(record, lostMs + ENDPOINT_SETTLE_MS, stoppedMs);
  const back = record.summary ? answeringAgainMs(record) : 0;
  if (back !== undefined && back > 0) timeline.markAt(back, `the Service answers again`, 'answering');
  const recoveredMs = replacedMs !== undefined && back !== undefined ? Math.max(replacedMs, back) : undefined;
  timeline.markAt(stoppedMs, `docker unpause ${node}`);

  // Not graded: the node comes back, and the kubelet finds its pods deleted.
  let nodeBackMs: number | undefined;
  while (timeline.elapsedMs() - stoppedMs < settings.restoreTimeoutSeconds * 1000) {
    const now = (await ctx.kubectl.json<List<KubeNode>>(['get', 'nodes'], { unrecorded: true })).items;
    const current = now.find((n) => n.metadata.name === node);
    // Back means schedulable again too: the node controller lifts its unreachable/not-ready taints a few
    // seconds after Ready, and the drills after this one (a drain) need the node to take pods.
    const tainted = (current?.spec?.taints ?? []).some((t) => NODE_LIFECYCLE_TAINTS.has(t.key));
    if (nodeReadyStatus(current) === 'True' && !tainted) {
      const pods = await listPods(ctx);
      if (!pods.some((p) => victimNames.has(p.metadata.name))) {
        nodeBackMs = timeline.elapsedMs() - stoppedMs;
        timeline.mark(`node ${node} Ready and schedulable again, its old pods gone`);
        break;
      }
    }
    await ctx.sleep(ctx.config.pollIntervalMs);
  }

  const events = await drillEvents(ctx, known, start.wallMs);
  const where = Object.entries(spreadAfter)
    .map(([n, c]) => `${n} (${c})`)
    .join(', ');
  return {
    ...completedDrill({
      scenario: 'node-failure',
      recoveredMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: record.summary,
      narrate: (recovery) =>
        [
          `stopped node ${node} (docker pause) with ${victims.length} of ${desired} pods on it`,
          `declared lost after ${seconds(notReadyMs!)} s`,
          evictedMs !== undefined ? `its pods evicted after ${seconds(evictedMs)} s` : 'its pods were not evicted',
          replacedMs !== undefined
            ? `${desired}/${desired} Ready on other nodes after ${seconds(replacedMs)} s (${where})`
            : `not ${desired} Ready pods on other nodes within ${timeoutSeconds} s`,
          recovery !== undefined && back !== undefined && back > 0
            ? `the Service answered again after ${seconds(back)} s`
            : '',
          afterLost ? `${afterLost.ok}/${afterLost.total} requests answered once the node was declared lost` : '',
        ]
          .filter(Boolean)
          .join('; '),
    }),
    node,
    podsOnNode: [...victimNames].sort(),
    desired,
    unreachableToleration,
    notReadySeconds: seconds(notReadyMs),
    ...(podsNotReadyMs !== undefined ? { podsNotReadySeconds: seconds(podsNotReadyMs) } : {}),
    ...(evictedMs !== undefined ? { evictedSeconds: seconds(evictedMs) } : {}),
    ...(replacedMs !== undefined ? { replacedSeconds: seconds(replacedMs) } : {}),
    ...(back !== undefined ? { answeringAgainSeconds: seconds(back) } : {}),
    ...(beforeLost ? { beforeLost } : {}),
    ...(afterLost ? { afterLost } : {}),
    spreadAfter,
    ...(nodeBackMs !== undefined ? { nodeBackSeconds: seconds(nodeBackMs) } : {}),
    timeline: timeline.entries,
  };
}

export const nodeFailure = defineDrill({
  id: 'node-failure',
  settingsKey: 'nodeFailure',
  description:
    'Stops the worker node running the most pods of the main workload without warning (docker pause of its kind node container) and measures whether the Service keeps answering from other nodes once the node is declared lost, and the time until its pods are replaced elsewhere and the Service answers from them.',
  settings: nodeFailureSettings,
  gradedBy: ['cluster/node-failure'],
  changesClusterState: 'a node drill stopped a node',
  unsupported: nodeFailureUnsupported,
  run: runNodeFailure,
});

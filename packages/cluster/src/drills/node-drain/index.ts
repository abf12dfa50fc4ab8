/**
 * Node drain: `kubectl drain` of the worker node running the most pods of
 * the workload, as an operator does before maintenance or an upgrade. The
 * drain evicts the pods through the Eviction API, which respects
 * PodDisruptionBudgets: an eviction the budget refuses is retried every 5 s,
 * until `drainTimeoutSeconds`. Measured: whether the drain finished (a budget
 * that never allows a disruption, such as minAvailable equal to the
 * replicas, blocks it for good), how long the budget held evictions back,
 * what the Service answered meanwhile, and where the pods went. The node is
 * uncordoned afterwards, in every outcome.
 */
import { InfrastructureError } from '@labgrader/core';
import { selectorMatches, toLabelSelector } from '@labgrader/manifest-lint';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, isPodReady, readyPods, type List } from '../../kube.js';
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
import { defineDrill, drillRunSettings } from '../contract.js';
import {
  CONTROL_PLANE_LABEL,
  Timeline,
  busiestNode,
  drillStart,
  nodeDrillUnsupported,
  isTerminatingPod,
  spreadOf,
  stopProbeSamples,
  workerNodes,
  type KubeNode,
  type ProbeRecord,
} from '../observe.js';

export const nodeDrainSettings = z.strictObject({
  ...drillRunSettings,
  /** `kubectl drain --timeout`: a drain still blocked after this long was blocked (no credit for it). */
  drainTimeoutSeconds: z.number().positive().max(900).default(60),
  /** The node to drain (a worker); default: the worker running the most Ready pods of the workload. */
  node: z.string().min(1).optional(),
});
export type NodeDrainSettings = z.infer<typeof nodeDrainSettings>;

export interface BudgetSeen {
  name: string;
  minAvailable?: number | string;
  maxUnavailable?: number | string;
  /** status.disruptionsAllowed when the drain started. */
  disruptionsAllowed?: number;
}

export interface NodeDrainResult extends DrillResult {
  node?: string;
  desired?: number;
  /** The workload's pods on the node when the drain started. */
  podsOnNode?: string[];
  /** The PodDisruptionBudgets that select the workload's pods. */
  budgets?: BudgetSeen[];
  /** `kubectl drain --timeout`. */
  drainTimeoutSeconds?: number;
  /** Whether `kubectl drain` finished (exit 0). */
  drained?: boolean;
  /** Seconds `kubectl drain` ran. */
  drainSeconds?: number;
  /** Its last error line, when it failed. */
  drainError?: string;
  /** Evictions refused because of a disruption budget (kubectl retries each after 5 s). */
  refusedEvictions?: number;
  /** Seconds during which the budget allowed no disruption while pods of the workload waited on the node. */
  blockedSeconds?: number;
  /** Pods of the workload still on the node (not evicted) when the drill ended. */
  leftOnNode?: string[];
  /** Fewest Ready pods of the workload during the drain. */
  minReady?: number;
  /** Ready pods of the workload per node, at the end. */
  spreadAfter?: Record<string, number>;
}

interface Budget {
  metadata: { name: string };
  spec?: { selector?: unknown; minAvailable?: number | string; maxUnavailable?: number | string };
  status?: { disruptionsAllowed?: number; currentHealthy?: number; desiredHealthy?: number };
}

/** How long the drill waits for a second schedulable worker that exists but is not back yet. */
const SCHEDULABLE_WAIT_MS = 60_000;

const REFUSED = /Cannot evict pod as it would violate the pod's disruption budget/g;

async function budgetsOf(ctx: DrillContext, record = false): Promise<Budget[]> {
  const w = ctx.workload;
  const list = await ctx.kubectl.json<List<Budget>>(['-n', w.namespace, 'get', 'poddisruptionbudgets'], {
    unrecorded: !record,
  });
  return list.items.filter((b) => {
    const selector = toLabelSelector(b.spec?.selector);
    return selector !== undefined && selectorMatches(selector, w.workload.labels);
  });
}

async function runNodeDrain(ctx: DrillContext, settings: NodeDrainSettings): Promise<NodeDrainResult> {
  const { timeoutSeconds, drainTimeoutSeconds } = settings;
  const w = ctx.workload;
  const from = ctx.transcript.length;
  const among = ctx.nodes.length ? ctx.nodes : undefined;
  let nodes = (await ctx.kubectl.json<List<KubeNode>>(['get', 'nodes'])).items;
  let workers = workerNodes(nodes, among).map((n) => n.metadata.name);
  // A node a drill before this one stopped may still be on its way back (Ready, then its taints lifted):
  // when the cluster has the workers, wait for them a while rather than say there are too few.
  const present = nodes.filter((n) => !(CONTROL_PLANE_LABEL in (n.metadata.labels ?? {}))).length;
  const waitUntil = ctx.clock.monotonicMs() + SCHEDULABLE_WAIT_MS;
  while (workers.length < 2 && present >= 2 && ctx.clock.monotonicMs() < waitUntil) {
    await ctx.sleep(ctx.config.pollIntervalMs);
    nodes = (await ctx.kubectl.json<List<KubeNode>>(['get', 'nodes'], { unrecorded: true })).items;
    workers = workerNodes(nodes, among).map((n) => n.metadata.name);
  }
  if (workers.length < 2) {
    return notRun(
      'node-drain',
      'not-run',
      `only ${workers.length} worker node${workers.length === 1 ? ' is' : 's are'} Ready and schedulable (${workers.join(', ') || 'none'}): draining one would leave the pods nowhere to go`,
      timeoutSeconds,
    );
  }
  const desired = desiredReplicas(await getWorkload(ctx, true));
  const before = await listPods(ctx, true);
  const node = settings.node ?? busiestNode(readyPods(before), workers);
  if (!node || !workers.includes(node)) {
    return notRun(
      'node-drain',
      'not-run',
      node
        ? `node ${node} is not a Ready worker node of this cluster (${workers.join(', ')})`
        : `no Ready pod of ${w.subject} runs on a worker node (${workers.join(', ')})`,
      timeoutSeconds,
    );
  }
  const onNode = before.filter((p) => p.spec.nodeName === node && !isTerminatingPod(p)).map((p) => p.metadata.name);
  const budgets = await budgetsOf(ctx, true);
  const seen: BudgetSeen[] = budgets.map((b) => ({
    name: b.metadata.name,
    ...(b.spec?.minAvailable !== undefined ? { minAvailable: b.spec.minAvailable } : {}),
    ...(b.spec?.maxUnavailable !== undefined ? { maxUnavailable: b.spec.maxUnavailable } : {}),
    ...(b.status?.disruptionsAllowed !== undefined ? { disruptionsAllowed: b.status.disruptionsAllowed } : {}),
  }));
  const known = new Set(before.map((p) => p.metadata.name));
  ctx.progress(
    `node drain: kubectl drain ${node} (${onNode.length} pod${onNode.length === 1 ? '' : 's'} of ${w.name})`,
  );

  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  const running = ctx.prober?.start((drainTimeoutSeconds + timeoutSeconds + 60) * 1000);
  let record: ProbeRecord;
  let drainDone: { ok: boolean; atMs: number; output: string } | undefined;
  let drainPromise: Promise<unknown> | undefined;
  let recoveredMs: number | undefined;
  let blockedMs = 0;
  let blockedSince: number | undefined;
  let minReady = readyPods(before).length;
  let spreadAfter: Record<string, number> = {};
  let left: string[] = onNode;
  let cordoned = false;
  let uncordonFailed: string | undefined;
  try {
    timeline.markAt(
      0,
      `kubectl drain ${node}: cordon, then evict its pods (${onNode.length} of ${w.name}: ${onNode.join(', ') || 'none'}) through the Eviction API, which respects PodDisruptionBudgets`,
    );
    cordoned = true;
    drainPromise = ctx.kubectl
      .run(['drain', node, '--ignore-daemonsets', '--delete-emptydir-data', `--timeout=${drainTimeoutSeconds}s`], {
        timeoutMs: (drainTimeoutSeconds + 60) * 1000,
      })
      .then((r) => {
        drainDone = { ok: r.exitCode === 0, atMs: timeline.elapsedMs(), output: `${r.stdout}\n${r.stderr}` };
        timeline.mark(
          r.exitCode === 0
            ? `kubectl drain finished: node ${node} is empty`
            : `kubectl drain gave up (exit ${r.exitCode}): ${firstLine(r.stderr.split('\n').reverse().join('\n'))}`,
        );
      });
    drainPromise.catch(() => {});
    for (;;) {
      const elapsed = timeline.elapsedMs();
      if (elapsed >= (drainTimeoutSeconds + timeoutSeconds) * 1000) break;
      await ctx.sleep(ctx.config.pollIntervalMs);
      const pods = await listPods(ctx);
      const tick = timeline.elapsedMs();
      const waiting = pods.filter((p) => onNode.includes(p.metadata.name) && !isTerminatingPod(p));
      left = waiting.map((p) => p.metadata.name);
      for (const name of onNode) {
        const p = pods.find((x) => x.metadata.name === name);
        if (!p || isTerminatingPod(p)) timeline.mark(`pod ${name} evicted`, `evicted-${name}`);
      }
      for (const p of pods) {
        const name = p.metadata.name;
        if (!known.has(name)) {
          known.add(name);
          timeline.mark(`replacement ${name} created`);
        }
        if (!before.some((b) => b.metadata.name === name)) {
          if (p.spec.nodeName)
            timeline.mark(`replacement ${name} scheduled on ${p.spec.nodeName}`, `scheduled-${name}`);
          if (isPodReady(p)) timeline.mark(`replacement ${name} Ready on ${p.spec.nodeName ?? '?'}`, `ready-${name}`);
        }
      }
      const ready = readyPods(pods);
      minReady = Math.min(minReady, ready.length);
      if (budgets.length > 0 && waiting.length > 0 && !drainDone) {
        const now = await budgetsOf(ctx);
        const zero = now.find((b) => (b.status?.disruptionsAllowed ?? 0) <= 0);
        if (zero) {
          if (blockedSince === undefined) {
            blockedSince = tick;
            timeline.mark(
              `PodDisruptionBudget ${zero.metadata.name} allows no disruption (${zero.status?.currentHealthy ?? '?'} healthy, ${zero.status?.desiredHealthy ?? '?'} required): ${waiting.length} pod${waiting.length === 1 ? ' waits' : 's wait'} on the node`,
              `blocked-${tick}`,
            );
          }
        } else if (blockedSince !== undefined) {
          blockedMs += tick - blockedSince;
          blockedSince = undefined;
          timeline.mark('the budget allows a disruption again', `unblocked-${tick}`);
        }
      }
      const elsewhere = ready.filter((p) => p.spec.nodeName !== node);
      if (recoveredMs === undefined && waiting.length === 0 && elsewhere.length >= desired) {
        recoveredMs = tick;
        spreadAfter = spreadOf(elsewhere);
        timeline.markAt(tick, `${desired}/${desired} pods Ready on the other nodes`);
      }
      if (recoveredMs === undefined) spreadAfter = spreadOf(elsewhere);
      if (drainDone && (recoveredMs !== undefined || !drainDone.ok)) break;
    }
    if (blockedSince !== undefined) blockedMs += timeline.elapsedMs() - blockedSince;
    await drainPromise;
  } finally {
    record = await stopProbeSamples(ctx, running, start).catch((): ProbeRecord => ({ samples: [] }));
    if (cordoned) {
      await drainPromise?.catch(() => {});
      const uncordon = await ctx.kubectl
        .run(['uncordon', node], { signal: null, timeoutMs: 60_000 })
        .catch((err: unknown) => ({ exitCode: 1, stderr: String(err) }));
      if (uncordon.exitCode !== 0) uncordonFailed = firstLine(uncordon.stderr) || `exit ${uncordon.exitCode}`;
    }
  }
  if (uncordonFailed !== undefined) {
    throw new InfrastructureError(`kubectl uncordon ${node} failed: ${uncordonFailed}`);
  }
  const done = drainDone as { ok: boolean; atMs: number; output: string } | undefined;
  timeline.mark(`kubectl uncordon ${node}`);
  const refusedEvictions = (done?.output.match(REFUSED) ?? []).length;
  const drainError = done && !done.ok ? lastErrorLine(done.output) : undefined;
  const events = await drillEvents(ctx, known, start.wallMs);
  const budgetText = budgets.map((b) => b.metadata.name).join(', ');
  return {
    ...completedDrill({
      scenario: 'node-drain',
      recoveredMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: record.summary,
      narrate: (recovery) =>
        [
          `kubectl drain ${node} with ${onNode.length} of ${desired} pods on it`,
          done?.ok
            ? `drained in ${seconds(done.atMs)} s`
            : `the drain did not finish within ${drainTimeoutSeconds} s${drainError ? ` (${drainError})` : ''}`,
          budgets.length === 0
            ? 'no PodDisruptionBudget selects the pods'
            : refusedEvictions > 0
              ? `PodDisruptionBudget ${budgetText} refused ${refusedEvictions} eviction${refusedEvictions === 1 ? '' : 's'} and allowed no disruption for ${seconds(blockedMs)} s`
              : `PodDisruptionBudget ${budgetText} refused no eviction`,
          recovery !== undefined
            ? `${desired}/${desired} Ready on other nodes after ${recovery} s (${Object.entries(spreadAfter)
                .map(([n, c]) => `${n} (${c})`)
                .join(', ')})`
            : `${left.length} pod${left.length === 1 ? '' : 's'} still on the node`,
          `at least ${minReady} pods stayed Ready`,
        ].join('; '),
    }),
    node,
    desired,
    podsOnNode: onNode,
    budgets: seen,
    drainTimeoutSeconds,
    drained: done?.ok ?? false,
    ...(done ? { drainSeconds: seconds(done.atMs) } : {}),
    ...(drainError ? { drainError: ctx.redactor.redact(drainError) } : {}),
    refusedEvictions,
    blockedSeconds: seconds(blockedMs),
    leftOnNode: left,
    minReady,
    spreadAfter,
    timeline: timeline.entries,
  };
}

function lastErrorLine(output: string): string | undefined {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^error/i.test(l));
  return lines.length ? lines[lines.length - 1]!.slice(0, 300) : undefined;
}

export const nodeDrain = defineDrill({
  id: 'node-drain',
  settingsKey: 'nodeDrain',
  description:
    'Runs kubectl drain on the worker node running the most pods of the main workload (evictions that respect PodDisruptionBudgets) and measures whether the drain finishes, how long a budget held it back, what the Service answered meanwhile and where the pods went; the node is uncordoned afterwards.',
  settings: nodeDrainSettings,
  gradedBy: ['cluster/node-drain'],
  changesClusterState: 'a node drill cordoned and drained a node',
  unsupported: (target) => nodeDrillUnsupported(target, 'drain'),
  run: runNodeDrain,
});

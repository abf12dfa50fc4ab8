/**
 * Container kill: kill the main container's process with SIGKILL (as an
 * out-of-memory kill or a crash would), from the node's container runtime
 * (`ctr -n k8s.io tasks kill`; crictl is not needed), and measure the time
 * until the kubelet has restarted it and the pod is Ready again. On its
 * timeline: the kill, when the pod's Ready condition was seen False (the
 * kubelet noticed the dead container; the pod leaves the Service's ready
 * endpoints), the container restarted, and the pod Ready again.
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { isPodReady, readyPods, type Pod } from '../../kube.js';
import {
  byName,
  completedDrill,
  drillEvents,
  listPods,
  notRun,
  seconds,
  stopProbe,
  type DrillContext,
  type DrillResult,
} from '../common.js';
import { defineDrill, drillRunSettings } from '../contract.js';
import { Timeline, drillStart } from '../observe.js';

export const containerKillSettings = z.strictObject({
  ...drillRunSettings,
  /** Container to kill; default: the workload's first container. */
  container: z.string().min(1).optional(),
});
export type ContainerKillSettings = z.infer<typeof containerKillSettings>;

export interface ContainerKillResult extends DrillResult {
  pod?: string;
  container?: string;
  restartsBefore?: number;
  /**
   * Seconds after the kill until the pod was seen NotReady (its Ready
   * condition False, or the pod replaced); undefined when no poll saw it
   * NotReady (restarted and Ready again between two polls).
   */
  notReadySeconds?: number;
}

function readyCondition(pod: Pod): string {
  const ready = (pod.status.conditions ?? []).find((c) => c.type === 'Ready');
  return `Ready: ${ready?.status ?? 'unknown'}${ready?.reason ? `, ${ready.reason}` : ''}`;
}

async function runContainerKill(ctx: DrillContext, settings: ContainerKillSettings): Promise<ContainerKillResult> {
  const timeoutSeconds = settings.timeoutSeconds;
  const w = ctx.workload;
  if (!ctx.nodeAccess) {
    return notRun(
      'container-kill',
      'unsupported',
      'this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed',
      timeoutSeconds,
    );
  }
  const from = ctx.transcript.length;
  const containerName = settings.container ?? w.workload.containers[0]?.name;
  const pods = readyPods(await listPods(ctx, true)).sort(byName);
  const pod = pods[0];
  if (!pod) return notRun('container-kill', 'not-run', `${w.subject} has no Ready pod`, timeoutSeconds);
  const status = (pod.status.containerStatuses ?? []).find((s) => s.name === containerName);
  if (!containerName || !status) {
    return notRun(
      'container-kill',
      'not-run',
      `pod ${pod.metadata.name} has no container named "${containerName ?? '?'}"`,
      timeoutSeconds,
    );
  }
  const id = status.containerID ?? '';
  if (!id.startsWith('containerd://')) {
    return notRun(
      'container-kill',
      'unsupported',
      `container runtime of ${id.split('://')[0] || 'unknown type'}: only containerd is supported`,
      timeoutSeconds,
    );
  }
  const node = pod.spec.nodeName;
  if (!node) return notRun('container-kill', 'not-run', `pod ${pod.metadata.name} is not on a node`, timeoutSeconds);
  const restartsBefore = status.restartCount;
  ctx.progress(`container kill: killing container ${containerName} of pod ${pod.metadata.name}`);

  const probe = ctx.prober?.start((timeoutSeconds + 60) * 1000);
  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  let recoveredMs: number | undefined;
  let notReadyMs: number | undefined;
  let probeSummary;
  let replacedBy: string | undefined;
  const name = pod.metadata.name;
  try {
    const killed = await ctx.nodeAccess.exec(node, [
      'ctr',
      '-n',
      'k8s.io',
      'tasks',
      'kill',
      '--signal',
      'SIGKILL',
      id.slice('containerd://'.length),
    ]);
    if (killed.exitCode !== 0) {
      throw new InfrastructureError(`ctr tasks kill in node ${node} failed: ${firstLine(killed.stderr)}`);
    }
    timeline.markAt(0, `container ${containerName} of pod ${name} killed (SIGKILL from the runtime of node ${node})`);
    while (timeline.elapsedMs() < timeoutSeconds * 1000) {
      await ctx.sleep(ctx.config.pollIntervalMs);
      const current = await listPods(ctx);
      const same = current.find((p) => p.metadata.name === name);
      if (!same) {
        // The pod itself was replaced (e.g. restartPolicy Never): recovered when the workload is whole again.
        if (notReadyMs === undefined) {
          notReadyMs = timeline.elapsedMs();
          timeline.mark(`pod ${name} NotReady: gone, replaced by a new pod`);
        }
        replacedBy ??= 'a new pod';
        if (readyPods(current).length >= pods.length) {
          recoveredMs = timeline.elapsedMs();
          timeline.mark(`${pods.length}/${pods.length} pods Ready again`);
          break;
        }
        continue;
      }
      if (notReadyMs === undefined && !isPodReady(same)) {
        notReadyMs = timeline.elapsedMs();
        timeline.mark(`pod ${name} NotReady (${readyCondition(same)}): out of the Service's ready endpoints`);
      }
      const cs = (same.status.containerStatuses ?? []).find((s) => s.name === containerName);
      if (cs && cs.restartCount > restartsBefore) {
        timeline.mark(`container ${containerName} restarted (restart count ${cs.restartCount})`, 'restarted');
      }
      if (cs && cs.restartCount > restartsBefore && cs.ready && isPodReady(same)) {
        recoveredMs = timeline.elapsedMs();
        timeline.mark(`pod ${name} Ready again`);
        break;
      }
    }
  } finally {
    probeSummary = await stopProbe(ctx, probe);
  }
  const events = await drillEvents(ctx, new Set([name]), start.wallMs);
  return {
    ...completedDrill({
      scenario: 'container-kill',
      recoveredMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: probeSummary,
      narrate: (recoverySeconds) =>
        recoverySeconds === undefined
          ? `killed container ${containerName} of pod ${pod.metadata.name} (SIGKILL); it was not restarted and Ready within ${timeoutSeconds} s`
          : `killed container ${containerName} of pod ${pod.metadata.name} (SIGKILL); ${replacedBy ? 'the pod was replaced and' : 'restarted and'} Ready again after ${recoverySeconds} s`,
    }),
    pod: pod.metadata.name,
    container: containerName,
    restartsBefore,
    restartedContainers: [{ pod: name, container: containerName }],
    ...(notReadyMs !== undefined ? { notReadySeconds: seconds(notReadyMs) } : {}),
    timeline: timeline.entries,
  };
}

export const NO_NODE_ACCESS =
  'this target gives no access to the nodes (existing cluster with nodeAccess: none), so no container can be killed';

export const containerKill = defineDrill({
  id: 'container-kill',
  settingsKey: 'containerKill',
  description:
    "Kills the main container's process with SIGKILL from the node's container runtime (as an out-of-memory kill or a crash would) and measures the time until the kubelet has restarted it and the pod is Ready again.",
  settings: containerKillSettings,
  gradedBy: ['cluster/container-kill-recovery'],
  // A pod an earlier drill deleted, still shutting down outside the Service, changes nothing it measures.
  startsBesideTerminatingPods: true,
  unsupported: (target) => (target.nodeAccess ? undefined : NO_NODE_ACCESS),
  run: runContainerKill,
});

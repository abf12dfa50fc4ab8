/**
 * Bad rollout + undo: set an image that cannot be pulled (a release with a
 * typo in its tag), watch whether the rolling update keeps old pods Ready
 * and the Service answering (rolling-update safety: maxUnavailable, replicas),
 * then `kubectl rollout undo` and measure the time until the Deployment is
 * fully rolled back and Ready.
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { readyCount, workloadReady, type ClusterWorkload, type Pod } from '../../kube.js';
import {
  completedDrill,
  drillEvents,
  getWorkload,
  listPods,
  notRun,
  seconds,
  stopProbe,
  type DrillContext,
  type DrillResult,
} from '../common.js';
import { defineDrill, drillRunSettings } from '../contract.js';

export const badRolloutSettings = z.strictObject({
  ...drillRunSettings,
  /**
   * An image that cannot be pulled. The default names a registry on the
   * node's own loopback port 9, which refuses at once: no DNS, no network,
   * no time-out.
   */
  image: z.string().min(1).default('127.0.0.1:9/labgrader/bad-rollout:does-not-exist'),
  /**
   * How long the bad rollout is watched, at most, before `kubectl rollout
   * undo`. It stops earlier once the new pods' pull failed and the rollout is
   * stuck where it will stay: the Deployment controller has seen the new
   * template (observedGeneration) and the Ready count held for a poll; from
   * then on nothing changes until the undo.
   */
  observeSeconds: z.number().positive().max(600).default(30),
  /** And at least this long, so that the Service is probed through what the rollout did. */
  minObserveSeconds: z.number().min(0).max(600).default(2),
});
export type BadRolloutSettings = z.infer<typeof badRolloutSettings>;

export interface BadRolloutResult extends DrillResult {
  container?: string;
  goodImage?: string;
  /** The image the drill set (absent when it did not run). */
  badImage?: string;
  desired?: number;
  /** Fewest Ready pods seen while the bad rollout was in progress. */
  minReady?: number;
  /** How long the bad rollout was watched before the undo. */
  observedSeconds?: number;
  /** The pull error the new pods reported, if seen. */
  pullError?: string;
}

const PULL_FAILURES = new Set(['ErrImagePull', 'ImagePullBackOff', 'InvalidImageName', 'ErrImageNeverPull']);

/**
 * Whether a stuck rollout has done all it will do: the controller acted on
 * the new template and the Ready count is what it was at the previous poll.
 * The old pods it scaled down may still be Terminating: they left the
 * Service's endpoints when their deletion began, which is what the drill
 * measures (how long they take to exit is the pod kill's timeline).
 */
function rolloutSettled(workload: ClusterWorkload, previousReady: number | undefined): boolean {
  const acted = (workload.status?.observedGeneration ?? 0) >= (workload.metadata.generation ?? 0);
  return acted && previousReady === readyCount(workload);
}

function pullFailure(pods: readonly Pod[], image: string): string | undefined {
  for (const pod of pods) {
    const spec = pod.spec.containers ?? [];
    if (!spec.some((c) => c.image === image)) continue;
    for (const s of pod.status.containerStatuses ?? []) {
      const waiting = s.state?.waiting;
      if (waiting?.reason && PULL_FAILURES.has(waiting.reason)) {
        return `${waiting.reason}${waiting.message ? `: ${waiting.message.replace(/\s+/g, ' ').slice(0, 200)}` : ''}`;
      }
    }
  }
  return undefined;
}

async function runBadRollout(ctx: DrillContext, settings: BadRolloutSettings): Promise<BadRolloutResult> {
  const timeoutSeconds = settings.timeoutSeconds;
  const w = ctx.workload;
  const badImage = settings.image;
  if (w.kind !== 'Deployment') {
    return {
      ...notRun(
        'bad-rollout',
        'unsupported',
        `${w.subject} is a ${w.kind}: the drill uses kubectl rollout undo, which only Deployments support here`,
        timeoutSeconds,
      ),
      badImage,
    };
  }
  const from = ctx.transcript.length;
  const before = await getWorkload(ctx, true);
  const desired = before.spec.replicas ?? 1;
  const containers = before.spec.template?.spec?.containers ?? [];
  const container = containers.find((c) => c.name === w.workload.containers[0]?.name) ?? containers[0];
  if (!container)
    return { ...notRun('bad-rollout', 'not-run', `${w.subject} has no container`, timeoutSeconds), badImage };
  const goodImage = container.image;
  ctx.progress(`bad rollout: setting the image of ${w.name}/${container.name} to ${badImage}`);

  const wallStart = ctx.clock.now().getTime();
  const probe = ctx.prober?.start((settings.observeSeconds + timeoutSeconds + 60) * 1000);
  let minReady = readyCount(before);
  let pullError: string | undefined;
  let observedMs: number | undefined;
  let recoveredMs: number | undefined;
  let probeSummary;
  const podNames = new Set<string>();
  try {
    const set = await ctx.kubectl.run([
      '-n',
      w.namespace,
      'set',
      'image',
      `deployment/${w.name}`,
      `${container.name}=${badImage}`,
    ]);
    if (set.exitCode !== 0) throw new InfrastructureError(`kubectl set image failed: ${firstLine(set.stderr)}`);
    const t0 = ctx.clock.monotonicMs();
    let previousReady: number | undefined;
    for (;;) {
      await ctx.sleep(ctx.config.pollIntervalMs);
      const [current, pods] = await Promise.all([getWorkload(ctx), listPods(ctx)]);
      minReady = Math.min(minReady, readyCount(current));
      for (const p of pods) podNames.add(p.metadata.name);
      pullError ??= pullFailure(pods, badImage);
      observedMs = ctx.clock.monotonicMs() - t0;
      const settled = rolloutSettled(current, previousReady);
      previousReady = readyCount(current);
      if (observedMs >= settings.observeSeconds * 1000) break;
      if (pullError !== undefined && settled && observedMs >= settings.minObserveSeconds * 1000) break;
    }
    ctx.progress(`bad rollout: kubectl rollout undo deployment/${w.name}`);
    const undo = await ctx.kubectl.run(['-n', w.namespace, 'rollout', 'undo', `deployment/${w.name}`]);
    if (undo.exitCode !== 0) throw new InfrastructureError(`kubectl rollout undo failed: ${firstLine(undo.stderr)}`);
    const t1 = ctx.clock.monotonicMs();
    while (ctx.clock.monotonicMs() - t1 < timeoutSeconds * 1000) {
      await ctx.sleep(ctx.config.pollIntervalMs);
      const current = await getWorkload(ctx);
      const image = (current.spec.template?.spec?.containers ?? []).find((c) => c.name === container.name)?.image;
      if (image === goodImage && workloadReady(current)) {
        recoveredMs = ctx.clock.monotonicMs() - t1;
        break;
      }
    }
  } finally {
    probeSummary = await stopProbe(ctx, probe);
  }
  const events = await drillEvents(ctx, podNames, wallStart);
  return {
    ...completedDrill({
      scenario: 'bad-rollout',
      recoveredMs,
      timeoutSeconds,
      commands: ctx.transcript.since(from),
      events,
      probe: probeSummary,
      narrate: (recoverySeconds) =>
        [
          `set image ${container.name}=${badImage} on deployment/${w.name}`,
          `watched ${seconds(observedMs ?? 0)} s: at least ${minReady}/${desired} pods stayed Ready${pullError ? `, the new pods failed with ${pullError.split(':')[0]}` : ''}`,
          recoverySeconds === undefined
            ? `after kubectl rollout undo the Deployment was not rolled back and Ready within ${timeoutSeconds} s`
            : `kubectl rollout undo: rolled back and ${desired}/${desired} Ready after ${recoverySeconds} s`,
        ].join('; '),
    }),
    container: container.name,
    ...(goodImage ? { goodImage } : {}),
    badImage,
    desired,
    minReady,
    observedSeconds: seconds(observedMs ?? 0),
    ...(pullError ? { pullError: ctx.redactor.redact(pullError) } : {}),
  };
}

export const badRollout = defineDrill({
  id: 'bad-rollout',
  settingsKey: 'badRollout',
  description:
    'Rolls out an image that cannot be pulled (a release with a typo in its tag), watches whether old pods stay Ready and the Service answering, then runs kubectl rollout undo and measures the time until the previous version is back and Ready.',
  settings: badRolloutSettings,
  gradedBy: ['cluster/rollout-undo'],
  // A pod an earlier drill deleted, still shutting down outside the Service, changes nothing it measures.
  startsBesideTerminatingPods: true,
  unsupported: (target) =>
    target.workload.kind === 'Deployment'
      ? undefined
      : `${target.workload.subject} is a ${target.workload.kind}: the drill uses kubectl rollout undo, which only Deployments support here`,
  run: runBadRollout,
});

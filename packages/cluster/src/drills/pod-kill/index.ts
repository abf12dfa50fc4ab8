/**
 * Pod kill: delete one Ready pod of the workload (as a node failure or an
 * eviction would) and measure the time until the desired number of Ready
 * pods is back, probing the Service all along. On its timeline: the delete,
 * when the deleted pod was seen NotReady (Terminating: the EndpointSlice
 * controller no longer lists a terminating pod as a ready endpoint, so the
 * Service stops sending it new connections), its replacement created and
 * Ready, the desired pods Ready again, and the deleted pod gone if it was by
 * then. Its graceful shutdown is not waited for (up to its
 * terminationGracePeriodSeconds): it left the Service when its deletion
 * began, and the drills that follow do not need it gone.
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, isPodReady, isTerminating, readyPods, type Pod } from '../../kube.js';
import {
  byName,
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
import { Timeline, drillStart } from '../observe.js';

export const podKillSettings = z.strictObject({ ...drillRunSettings });
export type PodKillSettings = z.infer<typeof podKillSettings>;

export interface PodKillResult extends DrillResult {
  victim?: string;
  replacements?: string[];
  desired?: number;
  /**
   * Seconds after the delete until the deleted pod was seen NotReady (its
   * first poll showing it Terminating, Ready: False or gone): from then on
   * the Service no longer routes to it.
   */
  notReadySeconds?: number;
}

/** How the deleted pod was seen not serving, for its timeline. */
function notReadyEvent(name: string, pod: Pod | undefined): string {
  if (!pod) return `pod ${name} NotReady: already gone, no longer an endpoint of the Service`;
  if (isTerminating(pod)) return `pod ${name} NotReady: Terminating, no longer a ready endpoint of the Service`;
  const ready = (pod.status.conditions ?? []).find((c) => c.type === 'Ready');
  return `pod ${name} NotReady (Ready: ${ready?.status ?? 'unknown'}${ready?.reason ? `, ${ready.reason}` : ''})`;
}

async function runPodKill(ctx: DrillContext, settings: PodKillSettings): Promise<PodKillResult> {
  const timeoutSeconds = settings.timeoutSeconds;
  const w = ctx.workload;
  const from = ctx.transcript.length;
  const [workload, before] = await Promise.all([getWorkload(ctx, true), listPods(ctx, true)]);
  const desired = desiredReplicas(workload);
  const ready = readyPods(before).sort(byName);
  if (ready.length === 0)
    return notRun('pod-kill', 'not-run', `${w.subject} has no Ready pod to delete`, timeoutSeconds);
  const victim = ready[0]!.metadata.name;
  const known = new Set(before.map((p) => p.metadata.name));
  ctx.progress(`pod kill: deleting pod ${victim}, waiting for ${desired} Ready`);

  const probe = ctx.prober?.start((timeoutSeconds + 60) * 1000);
  const start = drillStart(ctx.clock);
  const timeline = new Timeline(ctx.clock, start);
  let recoveredMs: number | undefined;
  let goneMs: number | undefined;
  let notReadyMs: number | undefined;
  let replacements: string[] = [];
  let probeSummary;
  try {
    const deleted = await ctx.kubectl.run(['-n', w.namespace, 'delete', 'pod', victim, '--wait=false']);
    if (deleted.exitCode !== 0) {
      throw new InfrastructureError(`kubectl delete pod ${victim} failed: ${firstLine(deleted.stderr)}`);
    }
    timeline.markAt(0, `pod ${victim} deleted (kubectl delete pod --wait=false)`);
    for (;;) {
      const elapsed = timeline.elapsedMs();
      if (recoveredMs === undefined && elapsed >= timeoutSeconds * 1000) break;
      await ctx.sleep(ctx.config.pollIntervalMs);
      const pods = await listPods(ctx);
      const old = pods.find((p) => p.metadata.name === victim);
      if (notReadyMs === undefined && (!old || !isPodReady(old))) {
        notReadyMs = timeline.elapsedMs();
        timeline.mark(notReadyEvent(victim, old));
      }
      for (const p of pods) {
        const name = p.metadata.name;
        if (!known.has(name)) {
          known.add(name);
          timeline.mark(`replacement ${name} created`);
        }
        if (name !== victim && isPodReady(p) && !before.some((b) => b.metadata.name === name)) {
          timeline.mark(`replacement ${name} Ready${p.spec.nodeName ? ` on ${p.spec.nodeName}` : ''}`, `ready-${name}`);
        }
      }
      const others = readyPods(pods).filter((p) => p.metadata.name !== victim);
      if (recoveredMs === undefined && others.length >= desired) {
        recoveredMs = timeline.elapsedMs();
        replacements = others.map((p) => p.metadata.name).filter((n) => !before.some((b) => b.metadata.name === n));
        timeline.mark(`${desired}/${desired} pods Ready again`);
      }
      if (goneMs === undefined && !old) {
        goneMs = timeline.elapsedMs();
        timeline.mark(`pod ${victim} gone (terminated)`);
      }
      if (recoveredMs !== undefined) {
        if (goneMs === undefined && notReadyMs !== undefined)
          timeline.mark(
            `pod ${victim} still Terminating (its graceful shutdown goes on outside the Service; not waited for)`,
          );
        break;
      }
    }
  } finally {
    probeSummary = await stopProbe(ctx, probe);
  }
  const polled = ctx.transcript.since(from);
  const events = await drillEvents(ctx, known, start.wallMs);
  return {
    ...completedDrill({
      scenario: 'pod-kill',
      recoveredMs,
      timeoutSeconds,
      commands: polled,
      events,
      probe: probeSummary,
      narrate: (recoverySeconds) =>
        recoverySeconds === undefined
          ? `deleted pod ${victim}; ${desired} Ready pods were not back within ${timeoutSeconds} s`
          : `deleted pod ${victim}; ${desired}/${desired} pods Ready again after ${recoverySeconds} s${replacements.length ? ` (replacement ${replacements.join(', ')})` : ''}${goneMs !== undefined ? `; the deleted pod was gone after ${seconds(goneMs)} s` : ''}`,
    }),
    victim,
    replacements,
    desired,
    ...(notReadyMs !== undefined ? { notReadySeconds: seconds(notReadyMs) } : {}),
    timeline: timeline.entries,
  };
}

export const podKill = defineDrill({
  id: 'pod-kill',
  settingsKey: 'podKill',
  description:
    'Deletes one Ready pod of the main workload (as an eviction or a lost node would) and measures the time until the desired number of Ready pods is back.',
  settings: podKillSettings,
  gradedBy: ['cluster/pod-kill-recovery'],
  unsupported: () => undefined,
  run: runPodKill,
});

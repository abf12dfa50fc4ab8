/**
 * Pod kill: delete one Ready pod of the workload (as a node failure or an
 * eviction would) and measure the time until the desired number of Ready
 * pods is back, probing the Service all along.
 */
import { InfrastructureError } from '@labgrader/core';
import { z } from 'zod';
import { firstLine } from '../../commands.js';
import { desiredReplicas, readyPods } from '../../kube.js';
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

export const podKillSettings = z.strictObject({ ...drillRunSettings });
export type PodKillSettings = z.infer<typeof podKillSettings>;

export interface PodKillResult extends DrillResult {
  victim?: string;
  replacements?: string[];
  desired?: number;
}

/** After the replacements are Ready, how long to wait for the deleted pod to finish terminating. */
const TERMINATION_GRACE_MS = 30_000;

async function runPodKill(ctx: DrillContext, settings: PodKillSettings): Promise<PodKillResult> {
  const timeoutSeconds = settings.timeoutSeconds;
  const w = ctx.workload;
  const from = ctx.transcript.length;
  const desired = desiredReplicas(await getWorkload(ctx, true));
  const before = await listPods(ctx, true);
  const ready = readyPods(before).sort(byName);
  if (ready.length === 0)
    return notRun('pod-kill', 'not-run', `${w.subject} has no Ready pod to delete`, timeoutSeconds);
  const victim = ready[0]!.metadata.name;
  const known = new Set(before.map((p) => p.metadata.name));
  ctx.progress(`pod kill: deleting pod ${victim}, waiting for ${desired} Ready`);

  const wallStart = ctx.clock.now().getTime();
  const probe = ctx.prober?.start((timeoutSeconds + 60) * 1000);
  let recoveredMs: number | undefined;
  let goneMs: number | undefined;
  let replacements: string[] = [];
  let probeSummary;
  const t0 = ctx.clock.monotonicMs();
  try {
    const deleted = await ctx.kubectl.run(['-n', w.namespace, 'delete', 'pod', victim, '--wait=false']);
    if (deleted.exitCode !== 0) {
      throw new InfrastructureError(`kubectl delete pod ${victim} failed: ${firstLine(deleted.stderr)}`);
    }
    for (;;) {
      const elapsed = ctx.clock.monotonicMs() - t0;
      if (recoveredMs === undefined && elapsed >= timeoutSeconds * 1000) break;
      if (recoveredMs !== undefined && ctx.clock.monotonicMs() - (t0 + recoveredMs) >= TERMINATION_GRACE_MS) break;
      await ctx.sleep(ctx.config.pollIntervalMs);
      const pods = await listPods(ctx);
      const others = readyPods(pods).filter((p) => p.metadata.name !== victim);
      for (const p of pods) known.add(p.metadata.name);
      if (recoveredMs === undefined && others.length >= desired) {
        recoveredMs = ctx.clock.monotonicMs() - t0;
        replacements = others.map((p) => p.metadata.name).filter((n) => !before.some((b) => b.metadata.name === n));
      }
      if (goneMs === undefined && !pods.some((p) => p.metadata.name === victim)) goneMs = ctx.clock.monotonicMs() - t0;
      if (recoveredMs !== undefined && goneMs !== undefined) break;
    }
  } finally {
    probeSummary = await stopProbe(ctx, probe);
  }
  const polled = ctx.transcript.since(from);
  const events = await drillEvents(ctx, known, wallStart);
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

/**
 * Whether this worker runs the cluster stage, per job, like the CLI's
 * `--cluster auto|kind|none`:
 *  - none: skip it (its criteria are left out of the total, and the report says so);
 *  - kind: always on an ephemeral kind cluster (one that cannot start makes the
 *    report not-gradable, with the reason);
 *  - auto: on the rubric's target when it is available on this machine (kind +
 *    Docker, or the existing cluster answers), else skipped with the reason.
 * A deployment that grades the live part of Lab 85 runs its workers with kind
 * and Docker available and CLUSTER_STAGE=kind, so no submission is graded
 * without it by accident.
 */
import type { CheckStage, CommandRunner } from '@labgrader/core';
import { clusterAvailability, withTarget, type ClusterSettings, type Env } from '@labgrader/cluster';
import type { Rubric } from '@labgrader/rubric';

export type ClusterMode = 'auto' | 'kind' | 'none';

export interface StagePlan {
  rubric: Rubric;
  skip: Partial<Record<CheckStage, string>>;
}

/** Adjusts a rubric's stages for this worker before grading. */
export type StagePlanner = (rubric: Rubric) => Promise<StagePlan>;

export function clusterPlanner(mode: ClusterMode, deps: { runner: CommandRunner; env: Env }): StagePlanner {
  return async (rubric) => {
    const stage = rubric.stages.cluster;
    if (!stage.enabled) return { rubric, skip: {} };
    if (mode === 'none') return { rubric, skip: { cluster: 'disabled on this worker (CLUSTER_STAGE=none)' } };
    let settings = stage.settings as ClusterSettings;
    if (mode === 'kind') settings = withTarget(settings, { type: 'kind' });
    const planned: Rubric = { ...rubric, stages: { ...rubric.stages, cluster: { ...stage, settings } } };
    if (mode === 'auto') {
      const availability = await clusterAvailability(settings, deps.env, deps.runner);
      if (!availability.available) {
        return {
          rubric: planned,
          skip: { cluster: `CLUSTER_STAGE=auto: ${availability.reason}; ${availability.hint}` },
        };
      }
    }
    return { rubric: planned, skip: {} };
  };
}

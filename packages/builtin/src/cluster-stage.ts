import type { GradingStage, StageInput, StagePreparation } from '@labgrader/core';
import type { ClusterPool, ClusterSlots, Env } from '@labgrader/cluster';
import {
  CLUSTER_ABORT_GRACE_MS,
  clusterRegistry,
  clusterSettingsSchema,
  type ClusterContext,
  type ClusterSettings,
} from '@labgrader/cluster/registry';

/**
 * The cluster stage, loaded on its first run: deploying, the drills and the
 * isolation policies are a large part of the code, and most commands
 * (`lint`, `docs`, `grade --cluster none`, `checks`) never run them. Its
 * checks and settings schema are here from the start for rubrics and reports.
 */
export function lazyClusterStage(
  env: Env | undefined,
  clusterSlots?: ClusterSlots,
  clusterPool?: ClusterPool,
): GradingStage<ClusterSettings, ClusterContext> {
  let stage: Promise<GradingStage<ClusterSettings, ClusterContext>> | undefined;
  return {
    name: 'cluster',
    settingsSchema: clusterSettingsSchema,
    registry: clusterRegistry,
    abortGraceMs: CLUSTER_ABORT_GRACE_MS,
    async prepare(input: StageInput<ClusterSettings>): Promise<StagePreparation<ClusterContext>> {
      stage ??= import('@labgrader/cluster').then((m) =>
        m.createClusterStage({
          ...(env ? { env } : {}),
          ...(clusterSlots ? { clusterSlots } : {}),
          ...(clusterPool ? { clusterPool } : {}),
        }),
      );
      return (await stage).prepare(input);
    },
  };
}

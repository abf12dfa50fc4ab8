/**
 * Whether this worker runs the cluster stage, per job, like the CLI's
 * `--cluster auto|kind|none` (the decision is @labgrader/builtin's
 * planClusterStage). A deployment that grades the live part of Lab 85 runs its
 * workers with kind and Docker available and CLUSTER_STAGE=kind, so no
 * submission is graded without it by accident. CLUSTER_STAGE=existing grades
 * in namespaces of a cluster many workers share (KUBECONFIG and
 * CLUSTER_KUBE_CONTEXT; docs/shared-cluster.md).
 */
import type { CommandRunner } from '@labgrader/core';
import type { Env, KindConfig } from '@labgrader/cluster';
import { planClusterStage, type ClusterPlan, type WorkerClusterMode } from '@labgrader/builtin/cluster-plan';
import type { Rubric } from '@labgrader/rubric';

export type ClusterMode = WorkerClusterMode;
export type StagePlan = ClusterPlan;

/** Adjusts a rubric's stages for this worker before grading. */
export type StagePlanner = (rubric: Rubric) => Promise<StagePlan>;

export function clusterPlanner(
  mode: ClusterMode,
  deps: { runner: CommandRunner; env: Env; kubeContext?: string | undefined },
): StagePlanner {
  const { kubeContext } = deps;
  return (rubric) =>
    planClusterStage({
      mode,
      ...(mode === 'existing' && kubeContext !== undefined ? { kubeContext } : {}),
      rubric,
      runner: deps.runner,
      env: deps.env,
      caller: 'worker',
    });
}

/**
 * The kind clusters the warm pool should have ready at start-up: those of the
 * rubrics this worker grades (the course's labs, or LABGRADER_RUBRIC), as this
 * worker would run them. Rubrics that grade nothing in kind are left out.
 */
export async function warmClusterShapes(
  rubricIds: readonly string[],
  deps: { rubrics: { load(id: string): Promise<Rubric> }; planStages: StagePlanner; env: Env },
): Promise<KindConfig[]> {
  const { clusterSettingsSchema, resolveClusterConfig } = await import('@labgrader/cluster');
  const shapes: KindConfig[] = [];
  for (const id of new Set(rubricIds)) {
    const planned = await deps.planStages(await deps.rubrics.load(id));
    const stage = planned.rubric.stages.cluster;
    if (!stage.enabled || planned.skip.cluster) continue;
    const config = resolveClusterConfig(clusterSettingsSchema.parse(stage.settings ?? {}), deps.env);
    if (config.target.type === 'kind') shapes.push(config as KindConfig);
  }
  return shapes;
}

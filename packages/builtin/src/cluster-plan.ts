/**
 * Where the cluster stage of a grading runs, or why it does not: one decision
 * for the CLI (`--cluster auto|kind|none`, `--kube-context`) and the worker
 * (`CLUSTER_STAGE=auto|kind|none|existing`).
 *  - none: skip it (its criteria are left out of the total, and the report says so);
 *  - kind: always on an ephemeral kind cluster (one that cannot start makes the
 *    report not-gradable, with the reason);
 *  - auto: on the rubric's target when it is available on this machine (kind +
 *    Docker, or the existing cluster answers), else skipped with the reason;
 *  - an existing cluster's context: there, in namespaces of the job's own
 *    (`--kube-context`: when it answers, else skipped like auto; a worker's
 *    `CLUSTER_STAGE=existing`: always, and one that cannot be reached makes
 *    the report not-gradable, like kind).
 * `@labgrader/cluster` is imported only when the stage may run, so that
 * `grade --cluster none` and rubrics without a cluster stage never load it.
 */
import type { CheckStage, CommandRunner } from '@labgrader/core';
import type { ClusterSettings, Env } from '@labgrader/cluster';
import type { Rubric } from '@labgrader/rubric';

export const CLUSTER_MODES = ['auto', 'kind', 'none'] as const;
export type ClusterMode = (typeof CLUSTER_MODES)[number];
/**
 * A worker's modes: the CLI's, and `existing`, which grades every cluster
 * criterion in the existing cluster of KUBECONFIG (and `kubeContext`, else its
 * current context), in namespaces of each job's own: many workers on several
 * machines sharing one cluster (docs/shared-cluster.md).
 */
export type WorkerClusterMode = ClusterMode | 'existing';

export interface ClusterPlan {
  rubric: Rubric;
  /** Stages not to run, each with the reason the report gives. */
  skip: Partial<Record<CheckStage, string>>;
}

export interface ClusterPlanRequest {
  mode: WorkerClusterMode;
  /** Grade in this existing cluster's context (only with mode auto, or existing). */
  kubeContext?: string;
  rubric: Rubric;
  runner: CommandRunner;
  env: Env;
  /**
   * How the caller names its settings in the reasons it reports (`--cluster`
   * for the CLI, `CLUSTER_STAGE` for a worker), and whether asking for a
   * cluster with a rubric that grades nothing in one is a mistake (the CLI's
   * user asked for it) or just nothing to do (a worker serves every rubric).
   */
  caller: 'cli' | 'worker';
}

/** A request that cannot be planned as asked (the CLI reports it as a usage error). */
export class ClusterPlanError extends Error {
  override readonly name = 'ClusterPlanError';
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
  }
}

export async function planClusterStage(request: ClusterPlanRequest): Promise<ClusterPlan> {
  const { mode, kubeContext, rubric, runner, env, caller } = request;
  const setting = (value: string) => (caller === 'cli' ? `--cluster ${value}` : `CLUSTER_STAGE=${value}`);
  if (kubeContext !== undefined && mode !== 'auto' && mode !== 'existing') {
    throw new ClusterPlanError(
      `--kube-context cannot be combined with ${setting(mode)}`,
      '--kube-context <ctx> grades in that existing cluster; --cluster kind creates a kind cluster; --cluster none skips the stage.',
    );
  }
  const stage = rubric.stages.cluster;
  if (mode === 'none') {
    if (caller === 'cli') return { rubric, skip: { cluster: '--cluster none' } };
    return stage.enabled
      ? { rubric, skip: { cluster: 'disabled on this worker (CLUSTER_STAGE=none)' } }
      : { rubric, skip: {} };
  }
  if (!stage.enabled) {
    if (caller === 'cli' && (mode === 'kind' || kubeContext !== undefined)) {
      throw new ClusterPlanError(
        `${kubeContext !== undefined ? '--kube-context' : setting('kind')}: the rubric '${rubric.id}' grades nothing in a cluster`,
        'Use a rubric with cluster criteria (e.g. lab-85), or drop the option.',
      );
    }
    return { rubric, skip: {} };
  }
  const { clusterAvailability, withTarget } = await import('@labgrader/cluster');
  let settings = stage.settings as ClusterSettings;
  if (mode === 'existing' || kubeContext !== undefined) {
    settings = withTarget(settings, {
      type: 'existing',
      ...(kubeContext !== undefined ? { context: kubeContext } : {}),
    });
  } else if (mode === 'kind') settings = withTarget(settings, { type: 'kind' });
  const planned: Rubric = { ...rubric, stages: { ...rubric.stages, cluster: { ...stage, settings } } };
  if (mode === 'auto') {
    const availability = await clusterAvailability(settings, env, runner);
    if (!availability.available) {
      return { rubric: planned, skip: { cluster: `${setting('auto')}: ${availability.reason}; ${availability.hint}` } };
    }
  }
  return { rubric: planned, skip: {} };
}

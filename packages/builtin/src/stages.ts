/**
 * The stages this build ships, and the catalog of their checks. This is the
 * composition root shared by every command (and the worker).
 */
import { catalogOf, type AnyGradingStage, type CheckCatalog, type CheckStage } from '@labgrader/core';
import type { ClusterPool, ClusterSlots, Env } from '@labgrader/cluster';
import { clusterRegistry } from '@labgrader/cluster/registry';
import { docsStage } from '@labgrader/docs-checks';
import { lintStage } from '@labgrader/manifest-lint';
import type { RubricEnvironment } from '@labgrader/rubric';
import { lazyClusterStage } from './cluster-stage.js';

export interface BuiltinStageOptions {
  /**
   * The grading machine's environment, read by the cluster stage for
   * LABGRADER_KIND, LABGRADER_KUBECTL, LABGRADER_DOCKER,
   * LABGRADER_KIND_NODE_IMAGE, LABGRADER_KIND_DISABLE_DEFAULT_CNI,
   * LABGRADER_KEEP_CLUSTER and KUBECONFIG. Default: process.env.
   */
  env?: Env;
  /** The per-host cap on kind clusters shared by the workers of one Docker engine (none: no cap). */
  clusterSlots?: ClusterSlots;
  /** Warm kind clusters kept by a worker (none: every job creates its own). */
  clusterPool?: ClusterPool;
}

export function createBuiltinStages(options: BuiltinStageOptions = {}): Partial<Record<CheckStage, AnyGradingStage>> {
  return {
    docs: docsStage,
    lint: lintStage,
    cluster: lazyClusterStage(options.env, options.clusterSlots, options.clusterPool),
  };
}

export const builtinStages: Partial<Record<CheckStage, AnyGradingStage>> = createBuiltinStages();

export const builtinCatalog: CheckCatalog = catalogOf(docsStage.registry, lintStage.registry, clusterRegistry);

export const rubricEnvironment: RubricEnvironment = {
  catalog: builtinCatalog,
  stageSettings: {
    docs: docsStage.settingsSchema,
    lint: lintStage.settingsSchema,
    cluster: builtinStages.cluster!.settingsSchema,
  },
};

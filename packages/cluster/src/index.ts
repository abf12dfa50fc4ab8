export { clusterAvailability, withTarget, type ClusterAvailability } from './availability.js';
export { CLUSTER_CHECKS } from './checks/index.js';
export { bandCredit, DEFAULT_BANDS } from './checks/shared.js';
export { resolveClusterConfig, type ClusterConfig, type Env } from './config.js';
export type { BaselineResult, ClusterContext } from './context.js';
export { buildPlan, jobNamespace, mainService, mainWorkload, type DeployPlan } from './plan.js';
export { parseNodeProbeOutput, summarizeProbe, type ProbeSample, type ProbeSummary } from './probe.js';
export { Redactor, secretManifests } from './secrets.js';
export {
  SCENARIOS,
  clusterSettingsSchema,
  defaultClusterSettings,
  type Band,
  type ClusterSettings,
  type ScenarioName,
} from './settings.js';
export {
  CLUSTER_ABORT_GRACE_MS,
  clusterRegistry,
  clusterStage,
  createClusterStage,
  drillsToRun,
  prepareCluster,
  type ClusterStageDeps,
} from './stage.js';
export {
  APPLIER_USER,
  GRADER_USER,
  gradingClusterBundle,
  gradingClusterFiles,
  renderGradingClusterFiles,
} from './isolation/cluster-policy.js';
export { isolationSettingsSchema, type IsolationSettings } from './settings.js';
export type { ClusterSlot, ClusterSlotRequest, ClusterSlots } from './slots.js';
export {
  createKindClusterPool,
  poolShape,
  type ClusterPool,
  type KindClusterPoolOptions,
  type KindConfig,
  type PoolEvent,
  type PoolStats,
} from './pool.js';

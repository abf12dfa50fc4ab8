export { BUNDLED_RUBRICS_DIR, DEFAULT_RUBRIC, listBundled, loadRubric, resolveRubricPath } from './rubrics.js';
export {
  builtinCatalog,
  builtinStages,
  createBuiltinStages,
  rubricEnvironment,
  type BuiltinStageOptions,
} from './stages.js';
export { limitYoungGeneration } from './runtime.js';
export {
  CLUSTER_MODES,
  ClusterPlanError,
  planClusterStage,
  type ClusterMode,
  type ClusterPlan,
  type ClusterPlanRequest,
} from './cluster-plan.js';

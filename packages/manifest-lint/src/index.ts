export type { DiscoveryProblem, LintContext } from './context.js';
export { discoverObjects, type Discovery, type DiscoverOptions } from './discover.js';
export {
  configureChecks,
  lintRepository,
  lintRuleMetadata,
  type LintRepositoryOptions,
  type LintResult,
  type LintRuleMetadata,
} from './lint.js';
export { ObjectIndex } from './model/index.js';
export { KubeObject, valueAt } from './model/object.js';
export { parseQuantity } from './model/quantity.js';
export {
  isEmptySelector,
  mapSelector,
  selectorMatches,
  toLabelSelector,
  type LabelSelector,
} from './model/selectors.js';
export {
  allContainers,
  toWorkload,
  SERVING_KINDS,
  type Container,
  type Workload,
  type WorkloadKind,
} from './model/workloads.js';
export { LINT_RULES } from './rules/index.js';
export { loadKubeSchema, SUPPORTED_KUBERNETES_VERSIONS, DEFAULT_KUBERNETES_VERSION } from './schema/kubernetes.js';
export { defaultLintSettings, lintSettingsSchema, type LintSettings } from './settings.js';
export { createLintStage, inventoryOf, lintRegistry, lintStage, prepareLint, type LintStageOptions } from './stage.js';
export { dataStoreOfImage, imageName, DATA_STORES, type DataStore, type StatefulFacts } from './model/stateful.js';
export { HELM_VERSION, KUBECTL_VERSION, installHint, toolCandidates } from './render/tools.js';

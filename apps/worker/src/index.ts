export { clusterPlanner, type ClusterMode, type StagePlan, type StagePlanner } from './cluster.js';
export { loadWorkerConfig, type WorkerConfig } from './config.js';
export {
  JobCancelledError,
  PermanentJobError,
  RetryableJobError,
  createGradeHandler,
  infrastructureFailure,
  type GradeDeps,
  type JobContext,
  type LabCatalog,
} from './grade.js';
export {
  noCredentials,
  storePublisher,
  type CredentialsProvider,
  type PublishContext,
  type PublishedGrade,
  type ReportPublisher,
} from './ports.js';
export { createRubricProvider, type RubricProvider } from './rubrics.js';
export { startGradeWorker, type GradeWorkerRuntimeOptions, type RunningGradeWorker } from './worker.js';
export { startHealthServer, type HealthServer } from './health.js';
export { createJanitor, processStartTime, type Janitor, type SweepResult } from './janitor.js';
export {
  checkRunPublisher,
  pullRequestCommentPublisher,
  reportTarget,
  withoutClusterDetails,
  type ClusterDetailsPolicy,
} from './publishers.js';
export {
  startRedeliverySweep,
  sweepFailedDeliveries,
  type RedeliveryOptions,
  type RunningRedelivery,
  type SweepOutcome,
} from './redelivery.js';

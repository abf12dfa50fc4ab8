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

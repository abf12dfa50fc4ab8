export {
  CLONE_URL_PROTOCOLS,
  checkCloneUrl,
  cloneUrlProblem,
  describeCloneUrl,
  parseCloneUrlRoot,
  repositoryCloneUrlProblem,
  type CloneUrlDecision,
  type CloneUrlRoot,
} from './clone-url.js';
export {
  closeRedis,
  createRedisConnection,
  describeRedisUrl,
  redisReachable,
  type RedisConnectionOptions,
  type RedisRole,
} from './connection.js';
export { describeIssues } from './issues.js';
export { parseServiceEnv, queueServiceEnv, runService, urlPassword } from './service.js';
export {
  GRADE_JOB_SCHEMA_VERSION,
  InvalidGradeJobError,
  LAB_ID_PATTERN,
  RUBRIC_ID_PATTERN,
  gradeEventSchema,
  gradeJobId,
  gradeJobLabSchema,
  gradeJobStream,
  labKey,
  gradeJobSchema,
  parseGradeJob,
  type GradeEvent,
  type GradeJob,
  type GradeJobLab,
  type GradeJobRequest,
  type GradeJobResult,
} from './job.js';
export {
  LOG_LEVELS,
  createRedactor,
  createServiceLogger,
  redactValue,
  type LogLevel,
  type Redactor,
  type ServiceLoggerOptions,
} from './logging.js';
export {
  DEFAULT_JOB_OPTIONS,
  DEFAULT_QUEUE_NAME,
  DEFAULT_QUEUE_PREFIX,
  GRADE_JOB_NAME,
  QueueUnavailableError,
  createGradeProducer,
  createGradeQueue,
  enqueueGrade,
  pullRequestsKey,
  queueKeys,
  waitForRedis,
  type EnqueueOptions,
  type EnqueueResult,
  type GradeProducer,
  type GradeQueue,
  type GradeQueueOptions,
} from './queue.js';
export {
  DelayedError,
  UnrecoverableError,
  WaitingError,
  createGradeWorker,
  type GradeProcessor,
  type GradeQueueJob,
  type GradeWorker,
  type GradeWorkerOptions,
} from './worker.js';
export {
  SupersededError,
  claimStream,
  parseSupersedeMessage,
  startSupersedeWatcher,
  streamHead,
  streamKey,
  supersedeChannel,
  type ClaimOutcome,
  type QueueKeys,
  type StreamHead,
  type SupersedeMessage,
  type SupersedeWatcher,
} from './supersede.js';
export {
  createServiceMetrics,
  observeGithubRequests,
  type GithubRequestObservation,
  type ServiceMetrics,
} from './metrics.js';
export {
  PROGRESS_STATES,
  parseProgressMessage,
  progressChannel,
  progressMessageSchema,
  publishProgress,
  type ProgressMessage,
  type ProgressState,
} from './progress.js';

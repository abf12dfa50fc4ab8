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
  RUBRIC_ID_PATTERN,
  gradeEventSchema,
  gradeJobId,
  gradeJobSchema,
  parseGradeJob,
  type GradeEvent,
  type GradeJob,
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
  waitForRedis,
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

/**
 * The consumer side: a BullMQ worker on the grading queue. The processor
 * gets BullMQ's cancellation signal (aborted by `worker.cancelJob()` /
 * `cancelAllJobs()`), which the grading worker hands to the pipeline.
 */
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { GradeJob, GradeJobResult } from './job.js';
import { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX, type GRADE_JOB_NAME } from './queue.js';

export { DelayedError, UnrecoverableError, WaitingError } from 'bullmq';

export type GradeQueueJob = Job<GradeJob, GradeJobResult, typeof GRADE_JOB_NAME>;
export type GradeWorker = Worker<GradeJob, GradeJobResult, typeof GRADE_JOB_NAME>;

/** `data` is unvalidated until the processor parses it with `parseGradeJob`. */
export type GradeProcessor = (
  job: GradeQueueJob,
  token: string | undefined,
  signal: AbortSignal | undefined,
) => Promise<GradeJobResult>;

export interface GradeWorkerOptions {
  /** A `worker` role connection (`maxRetriesPerRequest: null`). */
  connection: Redis;
  name?: string;
  prefix?: string;
  /** Jobs graded at once by this process (default 1: grading is CPU- and, with the cluster stage, memory-heavy). */
  concurrency?: number;
  /** How long a job's lock lives without renewal; BullMQ renews it every half period while the job runs. */
  lockDurationMs?: number;
  /** Start fetching jobs at once (default true). */
  autorun?: boolean;
}

export function createGradeWorker(processor: GradeProcessor, options: GradeWorkerOptions): GradeWorker {
  return new Worker<GradeJob, GradeJobResult, typeof GRADE_JOB_NAME>(
    options.name ?? DEFAULT_QUEUE_NAME,
    // Three declared parameters: BullMQ passes a cancellation signal only to processors that take one.
    (job, token, signal) => processor(job, token, signal),
    {
      connection: options.connection,
      prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockDurationMs ?? 60_000,
      // A dead worker's job is found by the stalled check, two checks after its lock expired at most (the first
      // marks active jobs, the next moves those still without a lock; BullMQ throttles the check queue-wide to
      // one per interval). BullMQ's 30 s interval is kept for the default lock; a shorter lock (JOB_LOCK_SECONDS)
      // brings the job back sooner, as its operator asked, instead of after 60–90 s whatever the lock.
      stalledInterval: Math.min(30_000, options.lockDurationMs ?? 60_000),
      // A job whose worker died is picked up again once; a second stall fails it.
      maxStalledCount: 1,
      autorun: options.autorun ?? true,
    },
  );
}

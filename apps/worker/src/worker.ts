/**
 * The grading worker on BullMQ: takes jobs off the queue, runs the grade
 * handler, and maps its outcomes onto BullMQ's (retry with backoff, fail
 * without retry, back to the queue on shutdown).
 *
 * Shutdown (`close`): stop taking jobs at once; let jobs in flight finish
 * during the grace period; then abort them through the pipeline's
 * AbortSignal. An aborted job goes back to the waiting list without using up
 * an attempt, and the next worker grades it from scratch. Then the
 * connections are closed.
 */
import type { Redis } from 'ioredis';
import { isLabgraderError, type Logger } from '@labgrader/core';
import {
  UnrecoverableError,
  WaitingError,
  createGradeWorker,
  type GradeJobResult,
  type GradeWorker,
} from '@labgrader/queue';
import { JobCancelledError, PermanentJobError, createGradeHandler, type GradeDeps } from './grade.js';

export interface GradeWorkerRuntimeOptions {
  /** A `worker` role connection (`maxRetriesPerRequest: null`). */
  connection: Redis;
  queueName?: string;
  prefix?: string;
  concurrency?: number;
  lockDurationMs?: number;
  /** How long in-flight jobs may run on after shutdown starts (default 30 s). */
  shutdownGraceMs?: number;
  logger: Logger;
  deps: GradeDeps;
}

export interface RunningGradeWorker {
  readonly worker: GradeWorker;
  /** Graceful shutdown; resolves when no job is running any more. Idempotent. */
  close(): Promise<void>;
}

export function startGradeWorker(options: GradeWorkerRuntimeOptions): RunningGradeWorker {
  const { logger } = options;
  const handle = createGradeHandler(options.deps);
  let shuttingDown = false;

  const worker = createGradeWorker(
    async (job, token, signal): Promise<GradeJobResult> => {
      const attempt = job.attemptsMade + 1;
      const maxAttempts = job.opts.attempts ?? 1;
      const data = job.data as Partial<typeof job.data> | undefined;
      const log = logger.child({
        jobId: job.id,
        attempt,
        repository: data?.repository?.fullName,
        commit: data?.commit,
        rubric: data?.rubricId,
        event: data?.event,
      });
      const jobSignal = signal ?? new AbortController().signal;
      log.info('grading', { maxAttempts, requestId: data?.requestId });
      try {
        const result = await handle(job.data, { jobId: job.id!, attempt, maxAttempts, signal: jobSignal, logger: log });
        log.info('graded', { ...result });
        return result;
      } catch (err) {
        if (err instanceof JobCancelledError || jobSignal.aborted) {
          if (shuttingDown) {
            // Not the job's fault: back to the queue, attempt not counted.
            await job.moveToWait(token);
            log.warn('grading interrupted by shutdown; job returned to the queue');
            throw new WaitingError();
          }
          log.warn('grading cancelled', { reason: String(jobSignal.reason) });
          throw new UnrecoverableError(`cancelled: ${String(jobSignal.reason)}`);
        }
        if (err instanceof PermanentJobError) {
          log.error('job cannot succeed; not retrying', { error: err.message });
          throw new UnrecoverableError(err.message);
        }
        const retrying = attempt < maxAttempts;
        const fields = { error: err, retrying, ...(retrying ? { nextAttempt: attempt + 1 } : {}) };
        if (isLabgraderError(err) && err.retryable && retrying) log.warn('infrastructure failure; will retry', fields);
        else log.error('grading failed', fields);
        throw err;
      }
    },
    {
      connection: options.connection,
      ...(options.queueName ? { name: options.queueName } : {}),
      ...(options.prefix ? { prefix: options.prefix } : {}),
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.lockDurationMs ? { lockDurationMs: options.lockDurationMs } : {}),
    },
  );
  // Connection trouble is reported here (and retried by ioredis); without a listener it would crash the process.
  worker.on('error', (err) => logger.warn('queue connection error', { error: err.message }));

  let closing: Promise<void> | undefined;
  return {
    worker,
    close() {
      closing ??= (async () => {
        shuttingDown = true;
        const graceMs = options.shutdownGraceMs ?? 30_000;
        logger.info('stopping: no new jobs; waiting for jobs in flight', { graceMs });
        const timer = setTimeout(() => {
          logger.warn('grace period over; aborting jobs in flight');
          worker.cancelAllJobs('the worker is shutting down');
        }, graceMs);
        try {
          await worker.close();
        } finally {
          clearTimeout(timer);
        }
        logger.info('worker stopped');
      })();
      return closing;
    },
  };
}

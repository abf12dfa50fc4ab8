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
 *
 * Superseding: each running job is tracked by the supersede watcher (Redis
 * pub/sub plus polling, see @labgrader/queue supersede.ts); its signal is
 * BullMQ's (shutdown) combined with the watcher's (a newer push), and a job
 * picked up after it was superseded is skipped before any work.
 */
import type { Redis } from 'ioredis';
import { isLabgraderError, type Logger } from '@labgrader/core';
import {
  UnrecoverableError,
  WaitingError,
  createGradeWorker,
  gradeJobStream,
  parseGradeJob,
  type GradeJobResult,
  type GradeWorker,
  type ServiceMetrics,
  type SupersedeWatcher,
} from '@labgrader/queue';
import { JobCancelledError, PermanentJobError, createGradeHandler, type GradeDeps } from './grade.js';
import type { Janitor } from './janitor.js';

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
  /** Aborts jobs a newer push superseded; without it, jobs run to the end. */
  supersede?: SupersedeWatcher;
  metrics?: ServiceMetrics;
  /** Gives each job a directory of its own, removed afterwards (and by the janitor if this process dies). */
  janitor?: Pick<Janitor, 'claim'>;
}

function streamOf(data: unknown): string | undefined {
  try {
    return gradeJobStream(parseGradeJob(data));
  } catch {
    return undefined; // invalid data: the handler fails the job
  }
}

export interface RunningGradeWorker {
  readonly worker: GradeWorker;
  /** Jobs running now. */
  readonly active: number;
  /** Graceful shutdown; resolves when no job is running any more. Idempotent. */
  close(): Promise<void>;
}

export function startGradeWorker(options: GradeWorkerRuntimeOptions): RunningGradeWorker {
  const { logger } = options;
  const handle = createGradeHandler({ ...options.deps, ...(options.metrics ? { metrics: options.metrics } : {}) });
  const { metrics, supersede } = options;
  let shuttingDown = false;
  let active = 0;

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
      const stream = streamOf(job.data);
      const tracked = supersede?.track(job.id!, stream);
      const signals = [signal, tracked?.signal].filter((s): s is AbortSignal => s !== undefined);
      const jobSignal = signals.length > 0 ? AbortSignal.any(signals) : new AbortController().signal;
      const started = performance.now();
      const observe = (outcome: string) => {
        metrics?.gradings.inc({ outcome });
        metrics?.gradingDuration.observe({ outcome }, (performance.now() - started) / 1000);
      };
      active += 1;
      log.info('grading', { maxAttempts, requestId: data?.requestId });
      const workspace = await options.janitor?.claim();
      try {
        const result = await handle(job.data, {
          jobId: job.id!,
          attempt,
          maxAttempts,
          signal: jobSignal,
          logger: log,
          ...(supersede && stream ? { supersededNow: () => supersede.supersededNow(job.id!, stream) } : {}),
          ...(workspace ? { tempRoot: workspace.dir } : {}),
        });
        log.info(result.outcome === 'superseded' ? 'superseded' : 'graded', { ...result });
        observe(result.outcome);
        return result;
      } catch (err) {
        observe(
          jobSignal.aborted && shuttingDown
            ? 'requeued'
            : err instanceof PermanentJobError || attempt >= maxAttempts
              ? 'failed'
              : 'retry',
        );
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
      } finally {
        active -= 1;
        tracked?.untrack();
        await workspace?.release().catch((err: unknown) => log.warn('workspace not removed', { error: err }));
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
    get active() {
      return active;
    },
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

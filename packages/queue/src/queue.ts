/**
 * The producer side: create the grading queue and enqueue jobs with a
 * deterministic id (see `gradeJobId`).
 */
import { randomUUID } from 'node:crypto';
import { Job, Queue, type JobsOptions } from 'bullmq';
import type { ChainableCommander, Redis } from 'ioredis';
import { InfrastructureError } from '@labgrader/core';
import { redisReachable } from './connection.js';
import {
  afterAddArgs,
  defineAfterAdd,
  parseAfterAdd,
  type AfterAdd,
  type AfterAddArgs,
  type AfterAddCommander,
  type QueueKeys,
  type StreamHead,
} from './supersede.js';
import {
  GRADE_JOB_SCHEMA_VERSION,
  gradeJobId,
  gradeJobStream,
  parseGradeJob,
  type GradeJob,
  type GradeJobRequest,
  type GradeJobResult,
} from './job.js';

export const GRADE_JOB_NAME = 'grade';
export const DEFAULT_QUEUE_NAME = 'labgrader-grade';
export const DEFAULT_QUEUE_PREFIX = 'labgrader';

/**
 * Retries are for infrastructure failures (git host unreachable, docker down,
 * store unavailable): 4 attempts, 30 s → 60 s → 120 s apart. Problems with the
 * submission never reach this: they end as a `not-gradable` report.
 *
 * Completed jobs are kept 14 days: while a job is kept, an add with the same
 * id is ignored, which is what deduplicates redelivered webhooks. (The worker
 * also skips a commit the store already graded with the same rubric, so
 * dedupe holds past that window.) Failed jobs are kept 60 days for operators,
 * but do not block a new request for the same commit: `enqueueGrade` retries
 * a failed (or superseded) job in place.
 */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 4,
  backoff: { type: 'exponential', delay: 30_000 },
  removeOnComplete: { age: 14 * 24 * 3600, count: 100_000 },
  removeOnFail: { age: 60 * 24 * 3600 },
} as const satisfies JobsOptions;

export type GradeQueue = Queue<GradeJob, GradeJobResult, typeof GRADE_JOB_NAME>;

export interface GradeQueueOptions {
  connection: Redis;
  name?: string;
  prefix?: string;
  /** Override attempts, backoff, retention (tests use millisecond backoffs). */
  jobOptions?: JobsOptions;
}

/** The queues made by createGradeQueue: enqueueGrade's scripts need their key layout and options. */
const gradeQueues = new WeakSet<GradeQueue>();

export function createGradeQueue(options: GradeQueueOptions): GradeQueue {
  const queue = new Queue<GradeJob, GradeJobResult, typeof GRADE_JOB_NAME>(options.name ?? DEFAULT_QUEUE_NAME, {
    connection: options.connection,
    prefix: options.prefix ?? DEFAULT_QUEUE_PREFIX,
    defaultJobOptions: { ...DEFAULT_JOB_OPTIONS, ...options.jobOptions },
  });
  gradeQueues.add(queue);
  return queue;
}

/** One enqueue waiting for its batch: the job, and what `afterAdd` needs to run right behind its add. */
type PendingAdd = {
  job: GradeJob;
  jobId: string;
  after: AfterAddArgs;
  resolve: (after: AfterAdd) => void;
  reject: (err: unknown) => void;
};

/** Per queue: the adds waiting to go, and whether a batch is on its way to Redis. */
interface AddBatcher {
  pending: PendingAdd[];
  scheduled: boolean;
  inFlight: boolean;
}
const batchers = new WeakMap<GradeQueue, AddBatcher>();

/**
 * BullMQ's add and our `afterAdd` script, for every enqueue of a batch, in one pipeline: one write,
 * one Redis read, so an enqueue costs one round trip. Each `afterAdd` runs right behind its add on
 * the same connection, so Redis runs it after the add, and it claims the branch only if the job is
 * there (see supersede.ts), so a failed add claims nothing. Batches form by group commit: while one
 * is on its way to Redis, the enqueues requested meanwhile wait and go together as the next; a lone
 * one goes at the end of its event-loop turn, so a quiet service adds no latency, and under a burst
 * the batches grow by themselves. Every command has its own reply: one job's error fails that job
 * only.
 *
 * Only BullMQ's public API: `Job.addJob(client)` accepts a pipeline (it queues the add script on it
 * synchronously, as BullMQ's own `addBulk` relies on), with the queue's default job options merged
 * as `Queue.add` merges them.
 */
function addBatched(queue: GradeQueue, job: GradeJob, jobId: string, after: AfterAddArgs): Promise<AfterAdd> {
  let batcher = batchers.get(queue);
  if (!batcher) {
    batcher = { pending: [], scheduled: false, inFlight: false };
    batchers.set(queue, batcher);
  }
  const b = batcher;
  return new Promise<AfterAdd>((resolve, reject) => {
    b.pending.push({ job, jobId, after, resolve, reject });
    if (!b.scheduled && !b.inFlight) {
      b.scheduled = true;
      setImmediate(() => {
        b.scheduled = false;
        void sendBatches(queue, b);
      });
    }
  });
}

async function sendBatches(queue: GradeQueue, b: AddBatcher): Promise<void> {
  if (b.inFlight) return;
  b.inFlight = true;
  try {
    while (b.pending.length > 0) {
      const batch = b.pending;
      b.pending = [];
      await addAll(queue, batch);
    }
  } finally {
    b.inFlight = false;
  }
}

async function addAll(queue: GradeQueue, batch: PendingAdd[]): Promise<void> {
  let pipeline: ChainableCommander;
  const sent: PendingAdd[] = [];
  try {
    // BullMQ's own client (the connection createGradeQueue was given): its adds and ours share one pipeline.
    const client = (await queue.getBackend().client) as unknown as Redis;
    pipeline = defineAfterAdd(client).pipeline();
    for (const p of batch) {
      const job = new Job(queue, GRADE_JOB_NAME, p.job, { ...queue.defaultJobOptions, jobId: p.jobId }, p.jobId);
      try {
        // Queues the add on the pipeline now; its promise settles with the pipeline, its reply comes from exec().
        job.addJob(pipeline as unknown as Parameters<Job['addJob']>[0]).catch(() => {});
      } catch (err) {
        p.reject(err); // options BullMQ refuses, before anything is sent
        continue;
      }
      (pipeline as unknown as AfterAddCommander).labgraderAfterAdd(...p.after);
      sent.push(p);
    }
  } catch (err) {
    for (const p of batch) p.reject(err);
    return;
  }
  if (sent.length === 0) return;
  let replies: [Error | null, unknown][] | null;
  try {
    replies = await pipeline.exec();
  } catch (err) {
    for (const p of sent) p.reject(err);
    return;
  }
  sent.forEach((p, i) => {
    const [addError, added] = replies?.[2 * i] ?? [new Error('Redis sent no reply for the add'), undefined];
    const [afterError, after] = replies?.[2 * i + 1] ?? [new Error('Redis sent no reply for afterAdd'), undefined];
    if (addError) p.reject(addError);
    else if (typeof added === 'number' && added < 0) p.reject(new Error(`BullMQ refused the add (code ${added})`));
    else if (afterError) p.reject(afterError);
    else {
      try {
        p.resolve(parseAfterAdd(after, p.after));
      } catch (err) {
        p.reject(err);
      }
    }
  });
}

/** The queue's keys (prefix and name), for the side keys kept beside BullMQ's. */
export function queueKeys(queue: GradeQueue): QueueKeys {
  return { prefix: queue.opts.prefix ?? DEFAULT_QUEUE_PREFIX, queueName: queue.name };
}

export interface EnqueueResult {
  jobId: string;
  /**
   * `queued`: a new job. `duplicate`: a job with this id was already waiting,
   * running or kept after it was graded. `requeued`: a job with this id had
   * failed or been superseded; it was put back in the queue (a redelivery
   * after the cause was fixed, or a push of that commit again), with this
   * request's data.
   */
  status: 'queued' | 'duplicate' | 'requeued';
  job: GradeJob;
  /** This job replaced an older one on its branch or pull request, which was told to stop. */
  superseded?: StreamHead;
  /** A newer push already holds this branch or pull request: the worker will skip this job as superseded. */
  staleBehind?: StreamHead;
}

/** The Redis set of pull requests whose head is a job's commit (pushes and PR events share one job). */
export function pullRequestsKey(keys: QueueKeys, jobId: string): string {
  return `${keys.prefix}:${keys.queueName}:lg-prs:${jobId}`;
}

const PR_SET_TTL_SECONDS = 30 * 24 * 3600;

export interface EnqueueOptions {
  force?: boolean;
}

/**
 * Validates and enqueues a grading job. `force` grades again even if this
 * commit was graded with this rubric (a re-run request); it requires a
 * distinct `deliveryId` per request.
 *
 * One round trip: BullMQ's add and, right behind it in the same pipeline, one script of ours
 * reading back whether this request created the job, claiming the job's branch or pull request
 * (see supersede.ts) and recording its pull request; batched with the other enqueues of this
 * event-loop turn (see addBatched). A failed or superseded job with the same id is retried in
 * place (rare path, a few more).
 */
export async function enqueueGrade(
  queue: GradeQueue,
  request: GradeJobRequest,
  options: EnqueueOptions = {},
): Promise<EnqueueResult> {
  const force = options.force ?? request.force ?? false;
  const job = parseGradeJob({
    ...request,
    schemaVersion: GRADE_JOB_SCHEMA_VERSION,
    requestId: request.requestId ?? randomUUID(),
    ...(force ? { force: true } : {}),
  });
  const jobId = gradeJobId(job, { force });
  const keys = queueKeys(queue);
  if (!gradeQueues.has(queue)) throw new Error('enqueueGrade needs a queue made by createGradeQueue');
  // BullMQ answers an add with an existing id exactly like a new add; the stored data tells us whose
  // request created the job (afterAdd, in the same round trip: see addBatched and supersede.ts).
  const stream = gradeJobStream(job);
  const after = await addBatched(
    queue,
    job,
    jobId,
    afterAddArgs(keys, {
      jobKey: `${keys.prefix}:${keys.queueName}:${jobId}`,
      prsKey: pullRequestsKey(keys, jobId),
      requestId: job.requestId,
      jobId,
      commit: job.commit,
      pushedAt: job.pushedAt,
      ...(stream ? { stream } : {}),
      ...(job.pullRequest ? { pullRequest: job.pullRequest } : {}),
      prTtlSeconds: PR_SET_TTL_SECONDS,
    }),
  );
  const claim = after.claim;

  let status: EnqueueResult['status'] = after.mine ? 'queued' : 'duplicate';
  // A finished job that did not grade (failed for good, or superseded by a newer push) must not make
  // this request a no-op: a redelivery after fixing the cause, or the same commit pushed again, grades.
  if (after.finished) {
    const stored = await queue.getJob(jobId);
    if (stored) {
      try {
        await stored.updateData(job);
        await stored.retry(after.finished === 'failed' ? 'failed' : 'completed', {
          resetAttemptsMade: true,
          resetAttemptsStarted: true,
        });
        status = 'requeued';
      } catch {
        // Another request retried it first (it is no longer finished): that one grades it.
      }
    }
  }
  return {
    jobId,
    status,
    job,
    ...(claim?.outcome === 'superseded' ? { superseded: claim.previous } : {}),
    ...(claim?.outcome === 'stale' ? { staleBehind: claim.latest } : {}),
  };
}

/** Redis is down or reconnecting: the job was not enqueued. Retryable. */
export class QueueUnavailableError extends InfrastructureError {}

/**
 * What the API holds: the queue plus its fail-fast connection. While Redis is
 * not connected, `enqueue` rejects at once with QueueUnavailableError instead
 * of waiting for a reconnect.
 */
export interface GradeProducer {
  readonly queue: GradeQueue;
  enqueue(request: GradeJobRequest, options?: EnqueueOptions): Promise<EnqueueResult>;
  /** Redis answers PING within the timeout. */
  reachable(timeoutMs?: number): Promise<boolean>;
  /** Closes the queue (the connection belongs to the caller). */
  close(): Promise<void>;
}

/** Resolves once the connection is ready (ioredis keeps reconnecting meanwhile); rejects if it ends or `signal` fires. */
export function waitForRedis(connection: Redis, signal?: AbortSignal): Promise<void> {
  if (connection.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      connection.off('ready', onReady);
      connection.off('end', onEnd);
      signal?.removeEventListener('abort', onAbort);
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onEnd = () => {
      cleanup();
      reject(new QueueUnavailableError('the Redis connection was closed before it became ready'));
    };
    const onAbort = () => {
      cleanup();
      reject(new QueueUnavailableError('gave up waiting for Redis', { cause: signal?.reason }));
    };
    connection.on('ready', onReady);
    connection.on('end', onEnd);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates the producer once Redis is ready (BullMQ checks the server version
 * when the queue is created, which a fail-fast connection cannot do offline).
 */
export async function createGradeProducer(
  options: GradeQueueOptions & { signal?: AbortSignal },
): Promise<GradeProducer> {
  await waitForRedis(options.connection, options.signal);
  const queue = createGradeQueue(options);
  await queue.waitUntilReady();
  // Errors surface through the commands that hit them; an unhandled 'error' event would crash the process.
  queue.on('error', () => {});
  return {
    queue,
    async enqueue(request, opts) {
      if (options.connection.status !== 'ready') {
        throw new QueueUnavailableError(
          `Redis is not connected (${options.connection.status}); the job was not enqueued`,
          {
            hint: 'GitHub can redeliver the webhook once Redis is back.',
          },
        );
      }
      try {
        return await enqueueGrade(queue, request, opts);
      } catch (err) {
        if (
          options.connection.status !== 'ready' ||
          /Stream isn't writeable|Connection is closed|ECONNREFUSED/i.test(String(err))
        ) {
          throw new QueueUnavailableError(
            `Redis became unavailable while enqueueing: ${err instanceof Error ? err.message : String(err)}`,
            { cause: err },
          );
        }
        throw err;
      }
    },
    reachable: (timeoutMs) => redisReachable(options.connection, timeoutMs),
    close: () => queue.close(),
  };
}

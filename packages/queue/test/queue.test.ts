import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import {
  DEFAULT_JOB_OPTIONS,
  QueueUnavailableError,
  closeRedis,
  createGradeProducer,
  createGradeQueue,
  createRedisConnection,
  enqueueGrade,
  type GradeJobRequest,
  type GradeQueue,
} from '@labgrader/queue';
import { Redis } from 'ioredis';
import { privateRedis } from './support/redis-server.js';
import { TEST_REDIS_URL, countKeys, deleteKeys, uniqueName } from './support/services.js';

const prefix = uniqueName('queue');
let connection: Redis;
let queue: GradeQueue;

const request: GradeJobRequest = {
  repository: { fullName: 'course-org/lab85-alice', cloneUrl: 'https://github.com/course-org/lab85-alice.git' },
  commit: 'a'.repeat(40),
  ref: 'refs/heads/main',
  event: 'push',
  deliveryId: 'delivery-1',
  author: 'alice',
  pushedAt: '2026-03-01T10:00:00.000Z',
  rubricId: 'lab-85',
};

beforeAll(async () => {
  connection = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
  queue = createGradeQueue({ connection, name: 'grade', prefix });
  await queue.waitUntilReady();
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await deleteKeys(connection, prefix);
  expect(await countKeys(connection, prefix)).toBe(0);
  await closeRedis(connection);
});

describe('grading queue', () => {
  it('enqueues once per commit and rubric: a redelivery or second push is a duplicate', async () => {
    const first = await enqueueGrade(queue, request);
    expect(first).toMatchObject({ status: 'queued', jobId: 'course-org/lab85-alice@' + 'a'.repeat(40) + '#lab-85' });
    const redelivered = await enqueueGrade(queue, request);
    const otherBranch = await enqueueGrade(queue, { ...request, ref: 'refs/heads/feature', deliveryId: 'delivery-2' });
    expect(redelivered).toMatchObject({ status: 'duplicate', jobId: first.jobId });
    expect(otherBranch).toMatchObject({ status: 'duplicate', jobId: first.jobId });
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 });
    const stored = await queue.getJob(first.jobId);
    expect(stored?.data).toEqual(first.job);
    expect(stored?.data.schemaVersion).toBe(1);
  });

  it('retries with exponential backoff and keeps finished jobs for dedupe', async () => {
    const job = await queue.getJob('course-org/lab85-alice@' + 'a'.repeat(40) + '#lab-85');
    expect(job?.opts).toMatchObject({
      attempts: DEFAULT_JOB_OPTIONS.attempts,
      backoff: DEFAULT_JOB_OPTIONS.backoff,
      removeOnComplete: DEFAULT_JOB_OPTIONS.removeOnComplete,
      removeOnFail: DEFAULT_JOB_OPTIONS.removeOnFail,
    });
  });

  it('a forced regrade gets its own job, deduplicated per request', async () => {
    const rerun = { ...request, event: 'rerun' as const, deliveryId: 'rerun-delivery-1' };
    const forced = await enqueueGrade(queue, rerun, { force: true });
    expect(forced.status).toBe('queued');
    expect(forced.jobId).toBe(`course-org/lab85-alice@${'a'.repeat(40)}#lab-85!rerun-rerun-delivery-1`);
    expect(forced.job.force).toBe(true);
    expect((await enqueueGrade(queue, rerun, { force: true })).status).toBe('duplicate');
    expect((await enqueueGrade(queue, { ...rerun, deliveryId: 'rerun-delivery-2' }, { force: true })).status).toBe(
      'queued',
    );
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 3 });
  });

  it('refuses an invalid job before it reaches Redis', async () => {
    await expect(enqueueGrade(queue, { ...request, commit: 'HEAD' })).rejects.toThrow(
      /commit: must be a full lowercase hex commit SHA/,
    );
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 3 });
  });

  /** Counts the writes to the Redis socket of `queue`'s connection while `during` runs: one write is one round trip. */
  async function socketWrites<T>(during: () => Promise<T>): Promise<{ writes: number; result: T }> {
    const write = jest.spyOn(connection.stream, 'write');
    try {
      const result = await during();
      return { writes: write.mock.calls.length, result };
    } finally {
      write.mockRestore();
    }
  }

  it('an enqueue is one round trip: the add and our afterAdd script go in one write', async () => {
    const sha = (i: number) => i.toString(16).padStart(40, 'f');
    await enqueueGrade(queue, { ...request, commit: sha(100), deliveryId: 'warm-up' }); // scripts loaded
    const pipeline = jest.spyOn(connection, 'pipeline');
    const { writes, result } = await socketWrites(() =>
      enqueueGrade(queue, { ...request, commit: sha(1), ref: 'refs/heads/one-trip', deliveryId: 'one-trip' }),
    );
    expect(pipeline).toHaveBeenCalledTimes(1);
    pipeline.mockRestore();
    expect(writes).toBe(1);
    // And it did all an enqueue does: queued, claimed its branch.
    expect(result).toMatchObject({ status: 'queued' });
    const [stream] = await connection.keys(`${prefix}:grade:lg-stream:*one-trip*`);
    expect(await connection.hget(stream!, 'jobId')).toBe(result.jobId);
  });

  it('a burst of enqueues in one event-loop turn goes as one batch: each is one job, duplicates within it too', async () => {
    const sha = (i: number) => i.toString(16).padStart(40, 'c');
    const before = (await queue.getJobCounts('waiting')).waiting ?? 0;
    const { writes, result: results } = await socketWrites(() => {
      const burst = Array.from({ length: 25 }, (_, i) =>
        enqueueGrade(queue, { ...request, commit: sha(i), deliveryId: `burst-${i}`, requestId: `burst-${i}` }),
      );
      // The same commit twice in the same turn: one job, the other request a duplicate.
      burst.push(
        enqueueGrade(queue, { ...request, commit: sha(3), deliveryId: 'burst-again', requestId: 'burst-again' }),
      );
      return Promise.all(burst);
    });
    expect(writes).toBe(1);
    expect(results.filter((r) => r.status === 'queued')).toHaveLength(25);
    expect(results.at(-1)).toMatchObject({ status: 'duplicate', jobId: results[3]!.jobId });
    expect(new Set(results.map((r) => r.jobId)).size).toBe(25);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: before + 25 });
    for (const i of [0, 3, 24]) expect((await queue.getJob(results[i]!.jobId))?.data.commit).toBe(sha(i));
  });

  it('enqueues requested while a batch is on its way to Redis go together as the next batch (group commit)', async () => {
    const sha = (i: number) => i.toString(16).padStart(40, 'e');
    const { writes, result: results } = await socketWrites(async () => {
      const first = enqueueGrade(queue, { ...request, commit: sha(0), deliveryId: 'group-0' });
      await new Promise((resolve) => setImmediate(resolve)); // the lone enqueue has left, alone
      const rest = Array.from({ length: 10 }, (_, i) =>
        enqueueGrade(queue, { ...request, commit: sha(i + 1), deliveryId: `group-${i + 1}` }),
      );
      await new Promise((resolve) => setImmediate(resolve));
      return Promise.all([first, ...rest]);
    });
    expect(results.map((r) => r.status)).toEqual(Array(11).fill('queued'));
    expect(writes).toBe(2);
  });

  it("one job's Redis error in a batch fails that job only: the others are added", async () => {
    const sha = (i: number) => i.toString(16).padStart(40, 'd');
    const before = (await queue.getJobCounts('waiting')).waiting ?? 0;
    // A key of the wrong type where BullMQ keeps the job's hash: its script fails for that job only.
    const broken = `course-org/lab85-alice@${sha(2)}#lab-85`;
    await connection.set(`${prefix}:grade:${broken}`, 'not a hash');
    const settled = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) =>
        enqueueGrade(queue, { ...request, commit: sha(i), deliveryId: `mixed-${i}` }),
      ),
    );
    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(String((settled[2] as PromiseRejectedResult).reason)).toMatch(/WRONGTYPE/);
    expect(await queue.getJobCounts('waiting')).toEqual({ waiting: before + 4 });
    await connection.del(`${prefix}:grade:${broken}`);
  });

  it('a failed add claims nothing: the older job on the branch is not told to stop, its pull request not recorded', async () => {
    const q = createGradeQueue({ connection, name: 'claims', prefix });
    await q.waitUntilReady();
    const subscriber = new Redis(TEST_REDIS_URL); // offline queue on: commands wait for the connection
    const messages: string[] = [];
    try {
      await subscriber.subscribe(`${prefix}:claims:lg-superseded`);
      subscriber.on('message', (_channel, message) => messages.push(message));
      const older = await enqueueGrade(q, { ...request, commit: '1'.repeat(40), ref: 'refs/heads/claims' });
      // BullMQ's add script fails before it stores the job (INCR of its id counter), on the same connection.
      await connection.set(`${prefix}:claims:id`, 'not a number');
      await expect(
        enqueueGrade(q, {
          ...request,
          commit: '2'.repeat(40),
          ref: 'refs/heads/claims',
          deliveryId: 'newer',
          pushedAt: '2026-03-01T11:00:00.000Z',
          event: 'pull_request',
          pullRequest: 7,
        }),
      ).rejects.toThrow(/not an integer/);
      const [stream] = await connection.keys(`${prefix}:claims:lg-stream:*`);
      expect(await connection.hmget(stream!, 'jobId', 'commit')).toEqual([older.jobId, '1'.repeat(40)]);
      expect(await connection.keys(`${prefix}:claims:lg-prs:*`)).toEqual([]);
      await connection.ping(); // a message published meanwhile would have reached the subscriber by now
      await subscriber.ping();
      expect(messages).toEqual([]);
    } finally {
      await connection.del(`${prefix}:claims:id`);
      await subscriber.quit();
      await q.obliterate({ force: true });
      await q.close();
    }
  });

  it('a producer fails fast, not hangs, while Redis is down, and works again once it is back', async () => {
    const redis = await privateRedis();
    await redis.start();
    const connection = createRedisConnection(redis.url, { role: 'producer', overrides: { disconnectTimeout: 100 } });
    connection.on('error', () => {});
    const producer = await createGradeProducer({ connection, name: 'grade', prefix });
    try {
      expect((await producer.enqueue(request)).status).toBe('queued');
      const closed = new Promise((resolve) => connection.once('close', resolve));
      await redis.kill();
      await closed;
      await expect(producer.enqueue({ ...request, commit: 'b'.repeat(40) })).rejects.toThrow(QueueUnavailableError);
      expect(await producer.reachable()).toBe(false);
      const reconnected = new Promise((resolve) => connection.once('ready', resolve));
      await redis.start();
      await reconnected;
      expect(await producer.reachable()).toBe(true);
      // The append-only file kept the first job; the second is accepted now.
      expect((await producer.enqueue(request)).status).toBe('duplicate');
      expect((await producer.enqueue({ ...request, commit: 'b'.repeat(40) })).status).toBe('queued');
    } finally {
      await producer.close();
      await closeRedis(connection);
      await redis.destroy();
    }
  });
});

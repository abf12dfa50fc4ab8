import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  SupersededError,
  UnrecoverableError,
  claimStream,
  closeRedis,
  createGradeQueue,
  createGradeWorker,
  createRedisConnection,
  enqueueGrade,
  gradeJobStream,
  pullRequestsKey,
  queueKeys,
  startSupersedeWatcher,
  streamHead,
  streamKey,
  supersedeChannel,
  type GradeJobRequest,
  type GradeQueue,
} from '@labgrader/queue';
import { TEST_REDIS_URL, countKeys, deleteKeys, uniqueName } from './support/services.js';

const prefix = uniqueName('supersede');
let connection: Redis;
let workerConnection: Redis;
let queue: GradeQueue;

const sha = (c: string) => c.repeat(40);
const request = (commit: string, overrides: Partial<GradeJobRequest> = {}): GradeJobRequest => ({
  repository: { fullName: 'course-org/lab85-bob', cloneUrl: 'https://github.com/course-org/lab85-bob.git' },
  commit: sha(commit),
  ref: 'refs/heads/main',
  event: 'push',
  deliveryId: uniqueName('delivery'),
  author: 'bob',
  pushedAt: '2026-03-01T10:00:00.000Z',
  rubricId: 'lab-85',
  ...overrides,
});

beforeAll(async () => {
  connection = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
  workerConnection = createRedisConnection(TEST_REDIS_URL, { role: 'worker' });
  queue = createGradeQueue({ connection, name: 'grade', prefix, jobOptions: { attempts: 1 } });
  await queue.waitUntilReady();
});

afterAll(async () => {
  await queue.obliterate({ force: true });
  await queue.close();
  await deleteKeys(connection, prefix);
  expect(await countKeys(connection, prefix)).toBe(0);
  await closeRedis(connection);
  await closeRedis(workerConnection);
});

async function waitForState(q: GradeQueue, jobId: string, state: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if ((await (await q.getJob(jobId))?.getState()) === state) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${jobId} never reached ${state}`);
}

describe('superseding', () => {
  it('a stream is claimed by the newest push; an older delivery arriving late does not take it back', async () => {
    const keys = { prefix, queueName: 'claims' };
    const listener = workerConnection.duplicate();
    const messages: string[] = [];
    await listener.subscribe(supersedeChannel(keys));
    listener.on('message', (_channel: string, text: string) => messages.push(text));
    const claim = (jobId: string, commit: string, pushedAt: string) =>
      claimStream(connection, keys, { stream: 'repo:refs/heads/main#lab-85', jobId, commit, pushedAt });

    expect(await claim('job-a', sha('a'), '2026-03-01T10:00:00Z')).toEqual({ outcome: 'first' });
    expect(await claim('job-a', sha('a'), '2026-03-01T10:00:00Z')).toEqual({ outcome: 'same' });
    expect(await claim('job-b', sha('b'), '2026-03-01T10:05:00Z')).toEqual({
      outcome: 'superseded',
      previous: { jobId: 'job-a', commit: sha('a') },
    });
    expect(await claim('job-old', sha('c'), '2026-03-01T09:00:00Z')).toEqual({
      outcome: 'stale',
      latest: { jobId: 'job-b', commit: sha('b') },
    });
    expect(await streamHead(connection, keys, 'repo:refs/heads/main#lab-85')).toEqual({
      jobId: 'job-b',
      commit: sha('b'),
    });
    for (let i = 0; i < 50 && messages.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(messages.map((m) => JSON.parse(m))).toEqual([
      { jobId: 'job-a', commit: sha('a'), supersededBy: { jobId: 'job-b', commit: sha('b') } },
    ]);
    const ttl = await connection.ttl(streamKey(keys, 'repo:refs/heads/main#lab-85'));
    expect(ttl).toBeGreaterThan(29 * 24 * 3600);
    await listener.quit();
  });

  it('enqueueing a newer push to the branch supersedes the older job; forced jobs belong to no branch', async () => {
    const a = await enqueueGrade(queue, request('a'));
    const b = await enqueueGrade(queue, request('b', { pushedAt: '2026-03-01T10:01:00.000Z' }));
    expect(a.superseded).toBeUndefined();
    expect(b).toMatchObject({ status: 'queued', superseded: { jobId: a.jobId, commit: sha('a') } });
    const regrade = await enqueueGrade(queue, request('a', { event: 'regrade', reason: 'Regrade requested by ta' }), {
      force: true,
    });
    expect(regrade.superseded).toBeUndefined();
    expect(gradeJobStream(regrade.job)).toBeUndefined();
    expect(await streamHead(connection, queueKeys(queue), gradeJobStream(b.job)!)).toEqual({
      jobId: b.jobId,
      commit: sha('b'),
    });
    // The pull request event for the pushed commit is the same job; its PR is recorded beside it.
    const pr = await enqueueGrade(
      queue,
      request('b', { ref: 'refs/pull/7/head', event: 'pull_request', pullRequest: 7 }),
    );
    expect(pr).toMatchObject({ status: 'duplicate', jobId: b.jobId });
    expect(await connection.smembers(pullRequestsKey(queueKeys(queue), b.jobId))).toEqual(['7']);
  });

  it('a failed job does not swallow the next request for its commit: it is requeued with fresh attempts', async () => {
    const failing = createGradeWorker(
      async () => {
        throw new UnrecoverableError('clone failed: host unreachable');
      },
      { connection: workerConnection, name: 'grade-fail', prefix },
    );
    const failQueue = createGradeQueue({ connection, name: 'grade-fail', prefix, jobOptions: { attempts: 1 } });
    try {
      const first = await enqueueGrade(failQueue, request('d'));
      await waitForState(failQueue, first.jobId, 'failed');
      await failing.close();

      const redelivered = await enqueueGrade(failQueue, { ...request('d'), deliveryId: first.job.deliveryId });
      expect(redelivered).toMatchObject({ status: 'requeued', jobId: first.jobId });
      const job = await failQueue.getJob(first.jobId);
      expect(await job?.getState()).toBe('waiting');
      expect(job?.attemptsMade).toBe(0);
      expect(job?.data.requestId).toBe(redelivered.job.requestId);
      // Requeued once: the next identical request is a plain duplicate.
      expect((await enqueueGrade(failQueue, request('d'))).status).toBe('duplicate');
    } finally {
      await failing.close();
      await failQueue.obliterate({ force: true });
      await failQueue.close();
    }
  });

  it('a superseded job is requeued when its commit is pushed again (a revert by force-push)', async () => {
    const q = createGradeQueue({ connection, name: 'grade-revert', prefix, jobOptions: { attempts: 1 } });
    const w = createGradeWorker(async () => ({ outcome: 'superseded' as const }), {
      connection: workerConnection,
      name: 'grade-revert',
      prefix,
    });
    try {
      const first = await enqueueGrade(q, request('e'));
      await waitForState(q, first.jobId, 'completed');
      await w.close();
      const again = await enqueueGrade(q, request('e', { pushedAt: '2026-03-02T10:00:00.000Z' }));
      expect(again.status).toBe('requeued');
      expect(await (await q.getJob(first.jobId))?.getState()).toBe('waiting');
    } finally {
      await w.close();
      await q.obliterate({ force: true });
      await q.close();
    }
  });

  it('a worker-side watcher aborts a running job when a newer push claims its stream (pub/sub, and polling as backstop)', async () => {
    const keys = { prefix, queueName: 'watch' };
    const watcher = startSupersedeWatcher({ connection: workerConnection, keys, pollIntervalMs: 100 });
    try {
      await claimStream(connection, keys, {
        stream: 's1',
        jobId: 'old',
        commit: sha('1'),
        pushedAt: '2026-03-01T10:00:00Z',
      });
      const tracked = watcher.track('old', 's1');
      expect(await watcher.supersededNow('old', 's1')).toBeUndefined();
      // Give the subscriber its subscription before publishing.
      await new Promise((r) => setTimeout(r, 100));
      await claimStream(connection, keys, {
        stream: 's1',
        jobId: 'new',
        commit: sha('2'),
        pushedAt: '2026-03-01T10:01:00Z',
      });
      const reason = await new Promise<unknown>((resolve) =>
        tracked.signal.addEventListener('abort', () => resolve(tracked.signal.reason), { once: true }),
      );
      expect(reason).toBeInstanceOf(SupersededError);
      expect((reason as SupersededError).supersededBy).toEqual({ jobId: 'new', commit: sha('2') });
      tracked.untrack();

      // A change of the stream that no message announced is found by polling.
      await claimStream(connection, keys, {
        stream: 's2',
        jobId: 'p1',
        commit: sha('3'),
        pushedAt: '2026-03-01T10:00:00Z',
      });
      const polled = watcher.track('p1', 's2');
      await connection.hset(streamKey(keys, 's2'), 'jobId', 'p2', 'commit', sha('4'));
      await new Promise<void>((resolve) => polled.signal.addEventListener('abort', () => resolve(), { once: true }));
      expect((polled.signal.reason as SupersededError).supersededBy.jobId).toBe('p2');
      expect(await watcher.supersededNow('p1', 's2')).toEqual({ jobId: 'p2', commit: sha('4') });
      expect(await watcher.supersededNow('forced', undefined)).toBeUndefined();
    } finally {
      await watcher.close();
    }
  });
});

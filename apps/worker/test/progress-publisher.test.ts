/**
 * The dashboard's live progress on real Redis: the worker's progress
 * publisher sends start, throttled stages and the end on the queue's
 * progress channel, which @labgrader/queue parses back.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { silentLogger, type Report } from '@labgrader/core';
import { parseGradeJob, parseProgressMessage, progressChannel, type ProgressMessage } from '@labgrader/queue';
import { progressPublisher } from '../src/progress-publisher.js';
import { TEST_REDIS_URL, uniqueName } from '../../../packages/queue/test/support/services.js';

const connections: Redis[] = [];
afterAll(() => {
  for (const c of connections) c.disconnect();
});

describe('progressPublisher', () => {
  it('publishes grading → stages (at most one a second) → graded on the queue’s channel', async () => {
    const publisher = new Redis(TEST_REDIS_URL);
    const subscriber = new Redis(TEST_REDIS_URL);
    connections.push(publisher, subscriber);
    const keys = { prefix: uniqueName('progress'), queueName: 'grade' };
    const received: ProgressMessage[] = [];
    subscriber.on('message', (_channel: string, text: string) => {
      const m = parseProgressMessage(text);
      if (m) received.push(m);
    });
    await subscriber.subscribe(progressChannel(keys));

    let now = 1_000_000;
    const progress = progressPublisher(publisher, keys, { now: () => now });
    const job = parseGradeJob({
      schemaVersion: 1,
      repository: { fullName: 'course-org/lab-85-Alice', cloneUrl: 'https://github.com/course-org/lab-85-Alice.git' },
      commit: 'a'.repeat(40),
      ref: 'refs/heads/main',
      event: 'push',
      deliveryId: 'd-1',
      requestId: 'r-1',
      pushedAt: '2026-03-01T10:00:00Z',
      rubricId: 'lab-85',
      lab: { id: 'lab-85', title: 'Lab 85' },
      student: 'Alice',
    });
    const ctx = { job, jobId: 'job-1', attempt: 1, logger: silentLogger };
    await progress.started!(ctx);
    progress.progress!(ctx, 'lint'); // within a second of the start: dropped
    now += 1500;
    progress.progress!(ctx, 'docs');
    now += 100;
    progress.progress!(ctx, 'cluster'); // dropped
    await progress.publish({ status: 'graded' } as Report, { ...ctx, meta: {} as never, retriesExhausted: false });
    await progress.cancelled!({ ...ctx, jobId: 'job-2' }, { commit: 'b'.repeat(40), jobId: 'job-3' });

    const deadline = Date.now() + 5000;
    while (received.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(received.map((m) => [m.jobId, m.state, m.stage ?? null])).toEqual([
      ['job-1', 'grading', null],
      ['job-1', 'grading', 'docs'],
      ['job-1', 'graded', null],
      ['job-2', 'superseded', null],
    ]);
    expect(received[0]).toMatchObject({ lab: 'lab-85', student: 'alice', repository: 'course-org/lab-85-Alice' });
    expect(parseProgressMessage('{"v":2}')).toBeUndefined();
    expect(parseProgressMessage('not json')).toBeUndefined();
  });
});

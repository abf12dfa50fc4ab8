import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { privateRedis, type PrivateRedis } from '../../../packages/queue/test/support/redis-server.js';
import { createWorld, gatedRunner, lab85FullMarks, type World } from './support/world.js';

let redis: PrivateRedis;
let world: World;

beforeAll(async () => {
  redis = await privateRedis(); // append-only file, fsync on every write
  await redis.start();
  world = await createWorld('restart', { redisUrl: redis.url });
});

afterAll(async () => {
  await world?.cleanup();
  await redis.destroy();
});

describe('Redis restart', () => {
  it('a crash and restart of Redis mid-job loses no job and the worker carries on', async () => {
    const gated = gatedRunner();
    world.startWorker({ runner: gated });
    const a = world.repo('lab-85-passing');
    const b = world.repo('lab-85-passing');
    const jobA = world.pushJob(a.repo, a.sha);
    const jobB = world.pushJob(b.repo, b.sha);
    const queuedA = await world.producer.enqueue(jobA);
    const queuedB = await world.producer.enqueue(jobB);
    await gated.started; // A is being graded, B is waiting in Redis

    const lost = new Promise((resolve) => world.producerConnection.once('close', resolve));
    await redis.kill(); // kill -9: no shutdown save
    await lost;
    const back = new Promise((resolve) => world.producerConnection.once('ready', resolve));
    await redis.start(); // same port, same data directory
    await back;
    gated.release();

    const { points } = await lab85FullMarks();
    expect(await world.finished(queuedA.jobId)).toMatchObject({ outcome: 'graded', points });
    expect(await world.finished(queuedB.jobId)).toMatchObject({ outcome: 'graded', points });
    for (const job of [jobA, jobB]) {
      const stored = await world.store.get({
        repository: job.repository.fullName,
        commit: job.commit,
        rubricId: 'lab-85',
      });
      expect(stored?.points).toBe(points);
    }
  });
});

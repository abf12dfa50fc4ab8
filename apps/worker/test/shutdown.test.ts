import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createWorld, gatedRunner, lab85FullMarks, type World } from './support/world.js';

let world: World;

beforeAll(async () => {
  world = await createWorld('shutdown');
});

afterAll(async () => {
  await world.cleanup();
});

function keyOf(request: ReturnType<World['pushJob']>) {
  return { repository: request.repository.fullName, commit: request.commit, rubricId: request.rubricId };
}

describe('graceful shutdown', () => {
  it('stops taking jobs at once and lets the job in flight finish within the grace period', async () => {
    const gated = gatedRunner();
    const running = world.startWorker({ runner: gated, shutdownGraceMs: 120_000 });
    const a = world.repo('lab-85-passing');
    const b = world.repo('lab-85-passing');
    const jobA = world.pushJob(a.repo, a.sha);
    const jobB = world.pushJob(b.repo, b.sha);
    const queuedA = await world.producer.enqueue(jobA);
    const queuedB = await world.producer.enqueue(jobB);
    await gated.started; // A is being cloned; B waits (concurrency 1)

    const closing = running.close();
    gated.release();
    await closing;

    const queue = world.producer.queue;
    expect(await (await queue.getJob(queuedA.jobId))?.getState()).toBe('completed');
    expect(await (await queue.getJob(queuedB.jobId))?.getState()).toBe('waiting');
    expect((await world.store.get(keyOf(jobA)))?.points).toBe((await lab85FullMarks()).points);
    expect(await world.store.get(keyOf(jobB))).toBeUndefined();
    expect(world.logs.find('grace period over; aborting jobs in flight')).toHaveLength(0);
  });

  it('after the grace period, aborts a hanging job through the pipeline signal and puts it back in the queue', async () => {
    const hanging = gatedRunner(); // never released: `git fetch` hangs until aborted
    const running = world.startWorker({ runner: hanging, shutdownGraceMs: 50 });
    const c = world.repo('lab-85-passing');
    const jobC = world.pushJob(c.repo, c.sha);
    const queuedC = await world.producer.enqueue(jobC);
    // This worker first takes the job left waiting by the previous test; hang on whichever it takes.
    await hanging.started;
    await running.close();

    expect(hanging.waiting).toBe(0); // the fetch was aborted, not left running
    const counts = await world.producer.queue.getJobCounts('waiting', 'active', 'failed');
    expect(counts).toEqual({ waiting: 2, active: 0, failed: 0 });
    const jobs = await world.producer.queue.getWaiting();
    for (const job of jobs) {
      expect(job.attemptsMade).toBe(0); // a shutdown does not use up an attempt
    }
    expect(await world.store.get(keyOf(jobC))).toBeUndefined(); // a cut-short report is never published
    expect(world.logs.find('grace period over; aborting jobs in flight')).toHaveLength(1);
    expect(world.logs.find('grading interrupted by shutdown; job returned to the queue')).toHaveLength(1);

    // The next worker grades both from scratch.
    world.startWorker();
    expect(await world.finished(queuedC.jobId)).toMatchObject({ outcome: 'graded', percent: 100 });
    expect((await world.store.get(keyOf(jobC)))?.meta.attempt).toBe(1);
  });
});

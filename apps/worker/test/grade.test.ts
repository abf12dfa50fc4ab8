import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { tempDir } from '../../../test/support/git-fixtures.js';
import { InfrastructureError } from '@labgrader/core';
import { storePublisher, type ReportPublisher } from '../src/index.js';
import {
  createWorld,
  flakyRunner,
  lab85FullMarks,
  recordingRunner,
  tokenCredentials,
  type World,
} from './support/world.js';

let world: World;
let full: number;
let rubricMax: number;

beforeAll(async () => {
  world = await createWorld('grade');
  ({ points: full, rubricMaxPoints: rubricMax } = await lab85FullMarks());
});

afterAll(async () => {
  await world.cleanup();
});

describe('grading worker', () => {
  it('keeps the source lines around each finding beside the report, redacted', async () => {
    world.startWorker();
    const { repo, sha } = world.repo('lab-85-flawed-probes');
    const { jobId } = await world.producer.enqueue(world.pushJob(repo, sha));
    await world.finished(jobId);
    const job = world.pushJob(repo, sha);
    const key = { repository: job.repository.fullName, commit: sha, rubricId: 'lab-85' };
    const stored = await world.store.getById((await world.store.get(key))!.id);
    const located = stored!.report.findings.filter((f) => f.location);
    expect(located.length).toBeGreaterThan(0);
    expect(stored?.excerpts?.omitted).toBe(0);
    for (const f of located) {
      const excerpt = stored!.excerpts!.excerpts.find(
        (e) =>
          e.file === f.location!.file &&
          f.location!.line >= e.startLine &&
          f.location!.line < e.startLine + e.lines.length,
      );
      expect(excerpt).toBeDefined();
    }
  });

  it('grades a pushed commit from a git repository and stores the report', async () => {
    world.startWorker();
    const { repo, sha } = world.repo('lab-85-passing');
    const { jobId } = await world.producer.enqueue(world.pushJob(repo, sha, { installationId: 42 }));
    const result = await world.finished(jobId);
    expect(result).toEqual({ outcome: 'graded', status: 'graded', points: full, maxPoints: full, percent: 100 });

    const job = world.pushJob(repo, sha);
    const stored = await world.store.get({ repository: job.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored).toMatchObject({
      status: 'graded',
      points: full,
      percent: 100,
      rubricMaxPoints: rubricMax,
      author: 'student-a',
      pushedAt: '2026-03-01T10:00:00.000Z',
      gradeCount: 1,
    });
    expect(stored?.meta).toMatchObject({
      jobId,
      event: 'push',
      ref: 'refs/heads/main',
      installationId: 42,
      attempt: 1,
    });
    expect(stored?.report.submission).toEqual({
      source: 'github',
      repository: job.repository.fullName,
      commit: sha,
      ref: 'refs/heads/main',
      author: 'student-a',
      submittedAt: '2026-03-01T10:00:00.000Z',
    });
    expect(stored?.report.stages.map((s) => [s.name, s.status])).toEqual([
      ['fetch', 'ok'],
      ['lint', 'ok'],
      ['docs', 'ok'],
      ['cluster', 'skipped'],
      ['score', 'ok'],
    ]);
  });

  it('does not grade a commit twice: past the queue retention, the store still knows it', async () => {
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha);
    const first = await world.producer.enqueue(request);
    await world.finished(first.jobId);
    // The queue forgot the job (as after its retention window); a late redelivery comes in.
    await (await world.producer.queue.getJob(first.jobId))!.remove();
    const late = await world.producer.enqueue({ ...request, deliveryId: 'late-redelivery' });
    expect(late).toMatchObject({ status: 'queued', jobId: first.jobId });
    expect(await world.finished(late.jobId)).toMatchObject({ outcome: 'already-graded', points: full });
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored?.gradeCount).toBe(1);
    expect(world.logs.find('already graded; skipping')).toHaveLength(1);
  });

  it('a re-run grades again, keeping the student and the first push time', async () => {
    const { repo, sha } = world.repo('lab-85-passing');
    const push = world.pushJob(repo, sha, { pushedAt: '2026-03-02T08:00:00.000Z', author: 'bob' });
    await world.finished((await world.producer.enqueue(push)).jobId);
    const rerun = await world.producer.enqueue(
      {
        ...push,
        event: 'rerun',
        deliveryId: 'rerun-1',
        author: undefined,
        requestedBy: 'instructor',
        pushedAt: '2026-03-09T12:00:00.000Z',
      },
      { force: true },
    );
    expect(rerun.jobId).toContain('!rerun-rerun-1');
    expect(await world.finished(rerun.jobId)).toMatchObject({ outcome: 'graded', points: full });
    const stored = await world.store.get({ repository: push.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored).toMatchObject({ gradeCount: 2, author: 'bob', pushedAt: '2026-03-02T08:00:00.000Z' });
    expect(stored?.meta).toMatchObject({ event: 'rerun', requestedBy: 'instructor', author: 'bob' });
    expect(stored?.report.submission).toMatchObject({ author: 'bob', submittedAt: '2026-03-02T08:00:00.000Z' });
  });

  it('publishes a submission that cannot be graded as such, without retrying', async () => {
    const { repo, sha } = world.repo('lab-85-no-manifests');
    const request = world.pushJob(repo, sha);
    const { jobId } = await world.producer.enqueue(request);
    expect(await world.finished(jobId)).toMatchObject({ outcome: 'not-gradable', notGradableReason: 'no-manifests' });
    const job = await world.producer.queue.getJob(jobId);
    expect(job?.attemptsStarted).toBe(1);
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored).toMatchObject({ status: 'not-gradable', notGradableReason: 'no-manifests' });
  });
});

describe('retries and failures', () => {
  it('retries an infrastructure failure with backoff, then grades', async () => {
    await world.stopWorkers();
    const flaky = flakyRunner(1);
    world.startWorker({ runner: flaky });
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha);
    const { jobId } = await world.producer.enqueue(request);
    expect(await world.finished(jobId)).toMatchObject({ outcome: 'graded', points: full });
    expect(flaky.failed).toBe(1);
    const job = await world.producer.queue.getJob(jobId);
    expect(job?.attemptsStarted).toBe(2);
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored?.meta.attempt).toBe(2);
    const warned = world.logs.find('infrastructure failure; will retry').filter((e) => e.jobId === jobId);
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ attempt: 1, nextAttempt: 2, retrying: true });
    expect(JSON.stringify(warned[0])).toContain('simulated infrastructure failure #1');
  });

  it('after the last attempt, publishes "not gradable: infrastructure" and fails the job for operators', async () => {
    await world.stopWorkers();
    world.startWorker({ runner: flakyRunner(1_000) });
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha);
    const { jobId } = await world.producer.enqueue(request);
    await expect(world.finished(jobId)).rejects.toThrow(
      /gave up after 3 attempts: the fetch stage failed: simulated infrastructure failure/,
    );
    const job = await world.producer.queue.getJob(jobId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsMade).toBe(3);
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored).toMatchObject({ status: 'not-gradable', notGradableReason: 'fetch-failed', meta: { attempt: 3 } });
  });

  it('a publisher that fails (the store unreachable) retries the job; publishing again is harmless', async () => {
    await world.stopWorkers();
    let calls = 0;
    const store = storePublisher(world.store);
    const flakyStore: ReportPublisher = {
      name: 'store-behind-a-flaky-network',
      async publish(report, grade) {
        calls += 1;
        if (calls === 1) throw new InfrastructureError('report store unavailable (save): connection terminated');
        await store.publish(report, grade);
      },
    };
    world.startWorker({ publishers: [flakyStore] });
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha);
    const { jobId } = await world.producer.enqueue(request);
    expect(await world.finished(jobId)).toMatchObject({ outcome: 'graded', points: full });
    expect(calls).toBe(2);
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(stored).toMatchObject({ gradeCount: 1, meta: { attempt: 2 } });
    expect(world.logs.find('infrastructure failure; will retry').some((e) => e.jobId === jobId)).toBe(true);
  });

  it('an unknown rubric fails at once, without retrying or cloning', async () => {
    await world.stopWorkers();
    const runner = recordingRunner();
    world.startWorker({ runner });
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha, { rubricId: 'no-such-rubric' });
    const { jobId } = await world.producer.enqueue(request);
    await expect(world.finished(jobId)).rejects.toThrow(/rubric 'no-such-rubric' not found/);
    const job = await world.producer.queue.getJob(jobId);
    expect(await job?.getState()).toBe('failed');
    expect(job?.attemptsStarted).toBe(1);
    expect(job?.attemptsMade).toBe(1);
    expect(runner.calls).toEqual([]);
    expect(
      await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'no-such-rubric' }),
    ).toBeUndefined();
    expect(world.logs.find('job cannot succeed; not retrying').some((e) => e.jobId === jobId)).toBe(true);
  });

  it('job data of an unknown version, or a clone URL this worker does not allow, fail without retry', async () => {
    const { repo, sha } = world.repo('lab-85-passing');
    const future = await world.producer.queue.add('grade', { ...world.pushJob(repo, sha), schemaVersion: 2 } as never, {
      jobId: 'from-the-future',
    });
    await expect(world.finished(future.id!)).rejects.toThrow(/schemaVersion: this build understands version 1, got 2/);
    const elsewhere = await world.producer.enqueue(
      world.pushJob(repo, sha, {
        repository: { fullName: 'course-org/elsewhere', cloneUrl: 'https://evil.example.com/course-org/elsewhere.git' },
      }),
    );
    await expect(world.finished(elsewhere.jobId)).rejects.toThrow(
      /clone URL "https:\/\/evil\.example\.com\/course-org\/elsewhere\.git" is not allowed on this worker: course-org\/elsewhere must be at <root>course-org\/elsewhere\(\.git\) for a root in CLONE_URL_ALLOW \(file:\/\/\/.*\/\)/,
    );
    for (const id of [future.id!, elsewhere.jobId]) {
      expect((await world.producer.queue.getJob(id))?.attemptsStarted).toBe(1);
    }
  });

  it('hands a clone token to git through its environment, never argv or logs', async () => {
    await world.stopWorkers();
    const token = 'ghs_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';
    const runner = recordingRunner();
    world.startWorker({ runner, credentials: tokenCredentials(token) });
    const { repo, sha } = world.repo('lab-85-passing');
    const request = world.pushJob(repo, sha);
    const { jobId } = await world.producer.enqueue(request);
    expect(await world.finished(jobId)).toMatchObject({ outcome: 'graded' });
    const fetch = runner.calls.find((c) => c.command === 'git' && c.args.includes('fetch'));
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    expect(fetch?.env).toMatchObject({
      GIT_CONFIG_KEY_0: 'http.extraHeader',
      GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
    });
    for (const call of runner.calls) expect(call.args.join(' ')).not.toContain(token);
    expect(world.logs.text).not.toContain(token);
    expect(world.logs.text).not.toContain(basic);
    const stored = await world.store.get({ repository: request.repository.fullName, commit: sha, rubricId: 'lab-85' });
    expect(JSON.stringify(stored)).not.toContain(token);
  });
});

describe('clone URLs: the worker checks again whatever the queue holds', () => {
  // Jobs are put on the queue raw (queue.add), as a compromised or buggy producer would: the
  // producer's own validation is not what stops them. Every target below is a real repository
  // that git would happily clone.
  it('a job for one repository whose URL is another, real repository fails permanently and clones nothing', async () => {
    await world.stopWorkers();
    const runner = recordingRunner();
    world.startWorker({ runner });
    const alice = world.repo('lab-85-passing', { fullName: 'course-org/alice' });
    const bob = world.repo('lab-85-passing', { fullName: 'course-org/bob' });
    const outsideRoot = tempDir('labgrader-outside-'); // a sibling of the allowed root, in the same temp dir
    const outside = world.repo('lab-85-passing', { fullName: 'course-org/alice', under: outsideRoot });
    const outsideName = path.basename(outsideRoot);

    const hostile: Array<[label: string, cloneUrl: string, why: RegExp]> = [
      ["another student's repository", bob.repo.url, /is not the repository's own: for course-org\/alice/],
      // A string-prefix allow-list let this one through: it starts with file://<reposRoot>/.
      [
        'a path that climbs out of the allowed root',
        `file://${world.reposRoot}/../${outsideName}/course-org/alice.git`,
        /must not contain '\.' or '\.\.' segments/,
      ],
      ['the right name outside the allowed root', outside.repo.url, /is not allowed on this worker/],
      ['an encoded climb', `file://${world.reposRoot}/%2e%2e/${outsideName}/course-org/alice.git`, /percent-encode/],
    ];
    for (const [label, cloneUrl, why] of hostile) {
      const data = {
        ...world.pushJob(alice.repo, alice.sha),
        repository: { fullName: 'course-org/alice', cloneUrl },
        schemaVersion: 1,
        requestId: `hostile-${label}`,
      };
      const jobId = `hostile-${label.replace(/[^a-z]+/g, '-')}`;
      await world.producer.queue.add('grade', data as never, { jobId });
      await expect(world.finished(jobId)).rejects.toThrow(why);
      const job = await world.producer.queue.getJob(jobId);
      expect(await job?.getState()).toBe('failed');
      expect(job?.attemptsMade).toBe(1);
      expect(world.logs.find('job cannot succeed; not retrying').some((e) => e.jobId === jobId)).toBe(true);
    }
    expect(runner.calls).toEqual([]); // git never ran: nothing was cloned
    expect(await world.store.get({ repository: 'course-org/alice', commit: alice.sha, rubricId: 'lab-85' })).toBe(
      undefined,
    );
    // The producer refuses the mismatching job up front.
    await expect(
      world.producer.enqueue({
        ...world.pushJob(alice.repo, alice.sha),
        repository: { fullName: 'course-org/alice', cloneUrl: bob.repo.url },
      }),
    ).rejects.toThrow(/repository\.cloneUrl: is not the repository's own/);

    // And the repository's own URL, under the root, is graded.
    const { jobId } = await world.producer.enqueue(world.pushJob(alice.repo, alice.sha));
    expect(await world.finished(jobId)).toMatchObject({ outcome: 'graded' });
    expect(runner.calls.some((c) => c.args.includes('fetch') && c.args.includes(alice.sha))).toBe(true);
  });
});

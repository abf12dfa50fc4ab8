/**
 * The course configuration in the worker (cluster budget counted from the
 * store, deadline judged on GitHub's push time) and the redelivery sweep
 * against the GitHub double, with real Redis and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseCourseConfig, type Lab } from '@labgrader/course';
import { createGithubApp, loadGithubAppConfig, type GithubApp } from '@labgrader/github';
import type { Report } from '@labgrader/core';
import { closeRedis, createRedisConnection } from '@labgrader/queue';
import { startGithubDouble, type GithubDouble } from '../../../test/support/github-double.js';
import { startRedeliverySweep, sweepFailedDeliveries } from '../src/index.js';
import { createWorld, type World } from './support/world.js';

let world: World;
let double: GithubDouble;
let github: GithubApp;

const course = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: course-org
timeZone: UTC
instructors: [prof-martin]
labs:
  - id: lab-85
    title: Lab 85
    rubric: lab-85
    deadline: 2026-03-01T12:00
    latePolicy: { penaltyPercentPerDay: 10 }
    clusterBudget: { runs: 1, per: day }
`,
  'course.yaml',
);
const lab85 = course.labs[0]!;
const labs = { lab: (id: string): Lab | undefined => course.labs.find((l) => l.id === id) };

beforeAll(async () => {
  world = await createWorld('course');
  double = await startGithubDouble();
  github = createGithubApp(loadGithubAppConfig(double.env())!, { writeIntervalMs: 0, retryUnitMs: 1 });
});

afterAll(async () => {
  await world.cleanup();
  expect(double.takeViolations()).toEqual([]);
  await double.close();
});

describe('course configuration in the worker', () => {
  it('beyond the cluster budget, lint and docs still run and the report says when the cluster stage runs next', async () => {
    const { repo, sha } = world.repo('lab-85-passing', { fullName: 'course-org/lab-85-alice' });
    // Alice's cluster stage already ran today (an earlier push), as the store records it.
    const older = world.repo('lab-85-passing', { fullName: 'course-org/lab-85-alice-old' });
    const earlier = { repo: older.repo, sha: older.repo.commit('an earlier push') };
    const previous = await world.store.save(
      { repository: 'course-org/lab-85-alice', commit: earlier.sha, rubricId: 'lab-85', labId: 'lab-85' },
      clusterRanReport(await gradedReport(world, earlier.repo, earlier.sha)),
      {
        jobId: 'earlier-job',
        deliveryId: 'earlier',
        event: 'push',
        ref: 'refs/heads/main',
        pushedAt: '2026-03-01T08:00:00.000Z',
        attempt: 1,
        lab: { id: 'lab-85', title: 'Lab 85' },
        student: 'alice',
      },
    );
    expect(previous.clusterRan).toBe(true);

    world.startWorker({ labs, skip: {} });
    const queued = await world.producer.enqueue(
      world.pushJob(repo, sha, {
        pushedAt: '2026-03-01T14:30:00.000Z', // 2.5 hours after the deadline
        lab: { id: 'lab-85', title: 'Lab 85' },
        student: 'alice',
      }),
    );
    expect(await world.finished(queued.jobId)).toMatchObject({ outcome: 'graded' });
    const stored = await world.store.get({
      repository: 'course-org/lab-85-alice',
      commit: sha,
      rubricId: 'lab-85',
      labId: 'lab-85',
    });
    const cluster = stored!.report.stages.find((s) => s.name === 'cluster');
    expect(cluster?.status).toBe('skipped');
    expect(cluster?.message).toMatch(/ran 1 time for you today .* runs again on a push from/);
    expect(stored!.report.stages.find((s) => s.name === 'lint')?.status).toBe('ok');
    expect(stored!.report.stages.find((s) => s.name === 'docs')?.status).toBe('ok');
    expect(stored!.clusterRan).toBe(false);
    // The deadline, judged on GitHub's push time.
    expect(stored!.deadline).toMatchObject({
      status: 'late',
      daysLate: 1,
      penaltyPercent: 10,
      deadline: lab85.deadline!.at.toISOString(),
    });
    expect(stored).toMatchObject({ student: 'alice', labId: 'lab-85', labTitle: 'Lab 85' });
    await world.stopWorkers();
  });
});

describe('redelivery sweep', () => {
  it('redelivers the App hook deliveries that failed, each GUID a bounded number of times', async () => {
    const now = Date.now();
    const ok = double.addDelivery({
      event: 'push',
      statusCode: 202,
      deliveredAt: new Date(now - 60_000).toISOString(),
    });
    const failed = double.addDelivery({
      event: 'push',
      statusCode: 503,
      deliveredAt: new Date(now - 50_000).toISOString(),
    });
    const timedOut = double.addDelivery({
      event: 'pull_request',
      statusCode: 0,
      status: 'timed out',
      deliveredAt: new Date(now - 40_000).toISOString(),
    });
    const old = double.addDelivery({
      event: 'push',
      statusCode: 503,
      deliveredAt: new Date(now - 3 * 24 * 3600_000).toISOString(),
    });
    const options = {
      deliveries: github.deliveries,
      connection: world.producerConnection,
      prefix: world.prefix,
      lookbackMs: 24 * 3600_000,
      logger: world.logger,
    };
    const first = await sweepFailedDeliveries(options);
    expect(first.redelivered.sort()).toEqual([failed.guid, timedOut.guid].sort());
    expect(double.redelivered.sort()).toEqual([failed.id, timedOut.id].sort());
    expect(first.redelivered).not.toContain(ok.guid);
    expect(first.redelivered).not.toContain(old.guid);

    // The redeliveries succeeded: nothing left to do.
    expect((await sweepFailedDeliveries(options)).redelivered).toEqual([]);

    // One that keeps failing is redelivered three times, then left alone (and logged once).
    double.redeliveryOutcome = { status: 'failed', statusCode: 503 };
    const stubborn = double.addDelivery({ event: 'push', statusCode: 503 });
    const counts: number[] = [];
    for (let i = 0; i < 5; i++) {
      const sweep = await sweepFailedDeliveries({ ...options, overlapMs: 24 * 3600_000 });
      counts.push(sweep.redelivered.filter((g) => g === stubborn.guid).length);
    }
    expect(counts).toEqual([1, 1, 1, 0, 0]);
    expect(world.logs.find('delivery keeps failing; not redelivered again')).toHaveLength(1);
    double.redeliveryOutcome = { status: 'OK', statusCode: 200 };
  });

  it('runs as a periodic job on the maintenance queue', async () => {
    const fresh = double.addDelivery({ event: 'push', statusCode: 502 });
    const connection = createRedisConnection(world.redisUrl, { role: 'worker' });
    const running = await startRedeliverySweep({
      deliveries: github.deliveries,
      connection,
      prefix: world.prefix,
      intervalMs: 200,
      overlapMs: 24 * 3600_000,
      logger: world.logger,
    });
    try {
      for (let i = 0; i < 200 && !double.redelivered.includes(fresh.id); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(double.redelivered).toContain(fresh.id);
    } finally {
      await running.close();
      await closeRedis(connection);
    }
  });
});

/** A real graded report of that commit (the pipeline, no cluster). */
async function gradedReport(w: World, repo: { url: string }, sha: string): Promise<Report> {
  const { gradeSource } = await import('@labgrader/pipeline');
  const { builtinStages, loadRubric } = await import('@labgrader/builtin');
  const { createExecaRunner } = await import('@labgrader/exec');
  const { ROOT } = await import('./support/world.js');
  void w;
  return gradeSource(
    { kind: 'git', url: repo.url, ref: sha },
    { rubric: await loadRubric('lab-85', ROOT), skip: { cluster: 'not here' } },
    { runner: createExecaRunner(), stages: builtinStages },
  );
}

/** The same report as if its cluster stage had run. */
function clusterRanReport(report: Report): Report {
  return {
    ...report,
    stages: report.stages.map((s) =>
      s.name === 'cluster' ? { name: s.name, status: 'ok', startedAt: s.startedAt, durationMs: 1 } : s,
    ),
  };
}

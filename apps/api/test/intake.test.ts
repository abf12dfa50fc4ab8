/**
 * The intake path with its new parts, over real HTTP and the machine's Redis:
 * the course routing (lab and student on the job, ignored repositories), the
 * "Regrade" button, the check run created `queued` in the background without
 * delaying the answer, superseding pushes, requeueing failed jobs, and the
 * metrics. The signature check is compared with @octokit/webhooks-methods.
 */
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { sign } from '@octokit/webhooks-methods';
import type { Redis } from 'ioredis';
import { defaultCourse, parseCourseConfig } from '@labgrader/course';
import type { CheckRunReporter, ReportTarget } from '@labgrader/github';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  createServiceLogger,
  createGradeWorker,
  createServiceMetrics,
  UnrecoverableError,
  type GradeProducer,
} from '@labgrader/queue';
import { createApp, courseRouter, queuedCheckRuns, verifySignature } from '../src/index.js';
import {
  LogCapture,
  TEST_REDIS_URL,
  countKeys,
  deleteKeys,
  uniqueName,
} from '../../../packages/queue/test/support/services.js';
import { branchPushExample, examples, listen, type TestServer } from './support/github.js';

const SECRET = 'intake-webhook-secret-' + 'z'.repeat(24);
const prefix = uniqueName('intake');
const config = { webhookSecret: SECRET, previousWebhookSecrets: [], rubricId: 'lab-85', bodyLimit: '1mb' };
const course = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: k8s-prod
organization: Course-Org
timeZone: Europe/Paris
instructors: [prof-martin]
ignore: ["*-template"]
labs:
  - { id: lab-85, title: "Lab 85", rubric: lab-85, passPercent: 60 }
  - { id: checklist, rubric: production-readiness, repositories: { classroom: prod-checklist } }
`,
  'course.yaml',
);

let connection: Redis;
let producer: GradeProducer;
let server: TestServer;
const logs = new LogCapture();
const metrics = createServiceMetrics({ service: 'labgrader-api', defaultMetrics: false });

/** A reporter whose `queued` calls wait until the test lets them through (GitHub being slow). */
const announced: ReportTarget[] = [];
let gate: Promise<void> = Promise.resolve();
let openGate: () => void = () => {};
let failQueued = false;
const reporter: Pick<CheckRunReporter, 'queued'> = {
  async queued(target) {
    await gate;
    if (failQueued) throw new Error('GitHub answered 502');
    announced.push(target);
  },
};
const checks = queuedCheckRuns({
  checks: reporter,
  logger: createServiceLogger({ name: 'labgrader-api', destination: logs }),
  metrics,
});

function studentPush(repo: string, sha: string, overrides: { ref?: string; pushedAt?: number } = {}) {
  const payload = branchPushExample();
  payload.repository.full_name = `Course-Org/${repo}`;
  payload.repository.name = repo;
  payload.repository.owner.login = 'Course-Org';
  payload.repository.clone_url = `https://github.com/Course-Org/${repo}.git`;
  payload.ref = overrides.ref ?? 'refs/heads/main';
  payload.after = sha;
  payload.repository.pushed_at = overrides.pushedAt ?? 1_800_000_000;
  return payload;
}

beforeAll(async () => {
  connection = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
  producer = await createGradeProducer({ connection, name: 'grade', prefix, jobOptions: { attempts: 1 } });
  metrics.observeQueue(producer.queue);
  const logger = createServiceLogger({ name: 'labgrader-api', destination: logs, secrets: [SECRET] });
  server = await listen(createApp({ config, producer, logger, course: courseRouter(course), checks, metrics }), SECRET);
});

afterAll(async () => {
  openGate();
  await checks.drain();
  await server.close();
  await producer.queue.obliterate({ force: true });
  await producer.close();
  await deleteKeys(connection, prefix);
  expect(await countKeys(connection, prefix)).toBe(0);
  await closeRedis(connection);
  expect(logs.text).not.toContain(SECRET);
});

describe('signature verification', () => {
  it('accepts exactly what @octokit/webhooks-methods signs, with the current or the previous secret', async () => {
    const body = Buffer.from(JSON.stringify(branchPushExample()));
    const previous = 'previous-secret-' + 'p'.repeat(20);
    const good = await sign(SECRET, body.toString('utf8'));
    expect(verifySignature([SECRET], body, good)).toBe(true);
    expect(verifySignature([SECRET, previous], body, await sign(previous, body.toString('utf8')))).toBe(true);
    expect(verifySignature([SECRET], body, await sign(previous, body.toString('utf8')))).toBe(false);
    expect(verifySignature([SECRET], Buffer.concat([body, Buffer.from(' ')]), good)).toBe(false);
    expect(verifySignature([SECRET], body, good.toUpperCase())).toBe(false);
    expect(verifySignature([SECRET], body, 'sha256=abc')).toBe(false);
    expect(verifySignature([SECRET], body, good.replace('sha256=', 'sha1='))).toBe(false);
    const emptySignature = `sha256=${createHmac('sha256', SECRET).update('').digest('hex')}`;
    expect(verifySignature([SECRET], Buffer.alloc(0), emptySignature)).toBe(false);
  });
});

describe('course routing', () => {
  it('puts the lab and the student on the job; the lab chooses the rubric', async () => {
    const push = studentPush('lab-85-alice', 'a1'.repeat(20));
    const res = await server.deliver({ event: 'push', payload: push });
    expect(res).toMatchObject({ status: 202, body: { status: 'queued' } });
    expect(res.body.jobId).toBe(`course-org/lab-85-alice@${'a1'.repeat(20)}#lab-85`);
    const job = await producer.queue.getJob(res.body.jobId);
    expect(job?.data).toMatchObject({
      rubricId: 'lab-85',
      lab: { id: 'lab-85', title: 'Lab 85', passPercent: 60 },
      student: 'alice',
    });

    const checklist = await server.deliver({
      event: 'push',
      payload: studentPush('prod-checklist-bob', 'b2'.repeat(20)),
    });
    const other = await producer.queue.getJob(checklist.body.jobId);
    expect(other?.data).toMatchObject({
      rubricId: 'production-readiness',
      lab: { id: 'checklist', title: 'checklist' },
      student: 'bob',
    });
    expect(other?.data.lab?.passPercent).toBeUndefined();
  });

  it('without a course file, every repository is graded with LABGRADER_RUBRIC as its lab, the repository as the student', () => {
    const route = courseRouter(defaultCourse('lab-85')).route({ owner: 'Course-Org', name: 'anything' });
    expect(route).toEqual({ lab: { id: 'lab-85', title: 'lab-85' }, rubricId: 'lab-85' });
  });

  it('ignores a repository that matches no lab, with the reason in the answer and the log', async () => {
    const before = (await producer.queue.getJobCounts('waiting')).waiting;
    for (const repo of ['lab-85-template', 'random-repo']) {
      const res = await server.deliver({ event: 'push', payload: studentPush(repo, 'c3'.repeat(20)) });
      expect(res).toMatchObject({ status: 202, body: { status: 'ignored' } });
      expect(res.body.reason).toContain(`Course-Org/${repo}`);
    }
    expect((await producer.queue.getJobCounts('waiting')).waiting).toBe(before);
    const ignored = logs.find('webhook').filter((e) => e.outcome === 'ignored');
    expect(ignored.map((e) => e.repository)).toEqual(['Course-Org/lab-85-template', 'Course-Org/random-repo']);
    expect(String(ignored[1]!.reason)).toMatch(/matches no lab of course k8s-prod/);
  });
});

describe('regrade and re-run', () => {
  it("the check run's Regrade button grades again, as a forced job with its reason; other buttons are ignored", async () => {
    const action = examples('check_run', 'requested_action')[0]!;
    action.repository = studentPush('lab-85-alice', 'a1'.repeat(20)).repository;
    action.check_run.head_sha = 'a1'.repeat(20);
    action.requested_action = { identifier: 'regrade' };
    action.sender.login = 'prof-martin';
    const res = await server.deliver({ event: 'check_run', payload: action });
    expect(res.body.status).toBe('queued');
    expect(res.body.jobId).toBe(`course-org/lab-85-alice@${'a1'.repeat(20)}#lab-85!rerun-${res.deliveryId}`);
    const job = await producer.queue.getJob(res.body.jobId);
    expect(job?.data).toMatchObject({
      event: 'regrade',
      force: true,
      reason: 'Regrade requested by prof-martin',
      requestedBy: 'prof-martin',
      lab: { id: 'lab-85' },
      student: 'alice',
    });
    action.requested_action = { identifier: 'something-else' };
    expect(await server.deliver({ event: 'check_run', payload: action })).toMatchObject({
      status: 202,
      body: { status: 'ignored' },
    });
  });
});

describe('check run queued', () => {
  it('is created in the background: a slow GitHub never delays the answer, and a failure is only counted', async () => {
    gate = new Promise((resolve) => (openGate = resolve));
    const t0 = performance.now();
    const res = await server.deliver({ event: 'push', payload: studentPush('lab-85-carol', 'd4'.repeat(20)) });
    const answeredMs = performance.now() - t0;
    expect(res.body.status).toBe('queued');
    expect(answeredMs).toBeLessThan(1_000);
    expect(announced.find((t) => t.job.commit === 'd4'.repeat(20))).toBeUndefined(); // still waiting on GitHub
    expect(checks.pending).toBeGreaterThan(0);
    openGate();
    await checks.drain();
    expect(announced.find((t) => t.job.commit === 'd4'.repeat(20))).toMatchObject({
      labTitle: 'Lab 85',
      passPercent: 60,
    });

    // A duplicate is not announced again.
    const count = announced.length;
    await server.deliver({ event: 'push', payload: studentPush('lab-85-carol', 'd4'.repeat(20)) });
    await checks.drain();
    expect(announced).toHaveLength(count);

    failQueued = true;
    expect((await server.deliver({ event: 'push', payload: studentPush('lab-85-dan', 'e5'.repeat(20)) })).status).toBe(
      202,
    );
    await checks.drain();
    failQueued = false;
    expect(logs.find('could not create the queued check run; the worker creates it when grading starts')).toHaveLength(
      1,
    );
    expect(await metrics.registry.getSingleMetricAsString('labgrader_errors_total')).toContain(
      'labgrader_errors_total{component="check-run-queued",kind="github",service="labgrader-api"} 1',
    );
  });
});

describe('superseding and requeueing', () => {
  it('a newer push to the branch supersedes the older job (logged with the answer)', async () => {
    const a = await server.deliver({
      event: 'push',
      payload: studentPush('lab-85-erin', 'f6'.repeat(20), { pushedAt: 1_800_000_100 }),
    });
    const b = await server.deliver({
      event: 'push',
      payload: studentPush('lab-85-erin', 'f7'.repeat(20), { pushedAt: 1_800_000_200 }),
    });
    expect(b.body.status).toBe('queued');
    const line = logs.find('webhook').find((e) => e.jobId === b.body.jobId);
    expect(line).toMatchObject({ superseded: a.body.jobId });
    // A late delivery of an even older push does not take the branch back.
    const late = await server.deliver({
      event: 'push',
      payload: studentPush('lab-85-erin', 'f5'.repeat(20), { pushedAt: 1_800_000_000 }),
    });
    expect(logs.find('webhook').find((e) => e.jobId === late.body.jobId)).toMatchObject({ staleBehind: b.body.jobId });
  });

  it('redelivering the webhook of a job that failed grades it again instead of answering duplicate', async () => {
    // Its own queue, whose worker fails every job for good (the git host was unreachable on every attempt).
    const failingProducer = await createGradeProducer({
      connection,
      name: 'grade-failing',
      prefix,
      jobOptions: { attempts: 1 },
    });
    const workerConnection = createRedisConnection(TEST_REDIS_URL, { role: 'worker' });
    const worker = createGradeWorker(
      async () => {
        throw new UnrecoverableError('git host unreachable');
      },
      { connection: workerConnection, name: 'grade-failing', prefix },
    );
    const logger = createServiceLogger({ name: 'labgrader-api', destination: logs, secrets: [SECRET] });
    const app = await listen(
      createApp({ config, producer: failingProducer, logger, course: courseRouter(course) }),
      SECRET,
    );
    try {
      const push = studentPush('lab-85-frank', 'a7'.repeat(20));
      const first = await app.deliver({ event: 'push', payload: push });
      for (
        let i = 0;
        i < 500 && (await (await failingProducer.queue.getJob(first.body.jobId))?.getState()) !== 'failed';
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      await worker.close();
      expect(await (await failingProducer.queue.getJob(first.body.jobId))?.getState()).toBe('failed');

      // The operator fixed the cause and redelivers the same delivery from GitHub.
      const again = await app.deliver({ event: 'push', payload: push, deliveryId: first.deliveryId });
      expect(again.body).toEqual({ status: 'requeued', jobId: first.body.jobId });
      const job = await failingProducer.queue.getJob(first.body.jobId);
      expect(await job!.getState()).toBe('waiting');
      expect(job!.attemptsMade).toBe(0);
    } finally {
      await worker.close();
      await app.close();
      await failingProducer.queue.obliterate({ force: true });
      await failingProducer.close();
      await closeRedis(workerConnection);
    }
  });
});

describe('metrics', () => {
  it('GET /metrics has deliveries by event and outcome, answer times and the queue', async () => {
    const res = await fetch(`${server.url}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(
      /labgrader_webhook_deliveries_total\{event="push",outcome="queued",service="labgrader-api"\} \d+/,
    );
    expect(text).toMatch(
      /labgrader_webhook_deliveries_total\{event="push",outcome="ignored",service="labgrader-api"\} 2/,
    );
    expect(text).toMatch(
      /labgrader_webhook_deliveries_total\{event="check_run",outcome="queued",service="labgrader-api"\} 1/,
    );
    expect(text).toMatch(
      /labgrader_webhook_duration_seconds_bucket\{le="0.1",service="labgrader-api",outcome="queued"\} \d+/,
    );
    expect(text).toMatch(/labgrader_queue_jobs\{state="waiting",service="labgrader-api"\} [1-9]\d*/);
    expect(text).toMatch(/labgrader_queue_oldest_waiting_seconds\{service="labgrader-api"\} \d/);
    const unsigned = await fetch(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-github-event': 'push' },
      body: '{}',
    });
    expect(unsigned.status).toBe(401);
    expect(await metrics.registry.getSingleMetricAsString('labgrader_webhook_deliveries_total')).toContain(
      'labgrader_webhook_deliveries_total{event="unverified",outcome="unsigned",service="labgrader-api"} 1',
    );
  });
});

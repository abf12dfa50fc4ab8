import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { sign } from '@octokit/webhooks-methods';
import { createApp, createRequestListener } from '../src/index.js';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  createServiceLogger,
  type GradeProducer,
} from '@labgrader/queue';
import {
  TEST_REDIS_URL,
  LogCapture,
  countKeys,
  deleteKeys,
  uniqueName,
} from '../../../packages/queue/test/support/services.js';
import { privateRedis } from '../../../packages/queue/test/support/redis-server.js';
import { branchPushExample, examples, listen, type TestServer } from './support/github.js';

const SECRET = 'test-webhook-secret-' + 'x'.repeat(24);
const PREVIOUS = 'previous-webhook-secret-' + 'y'.repeat(20);
const prefix = uniqueName('api');
const config = { webhookSecret: SECRET, previousWebhookSecrets: [PREVIOUS], rubricId: 'lab-85', bodyLimit: '64kb' };

let connection: Redis;
let producer: GradeProducer;
let server: TestServer;
const logs = new LogCapture();

beforeAll(async () => {
  connection = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
  producer = await createGradeProducer({ connection, name: 'grade', prefix });
  const logger = createServiceLogger({ name: 'labgrader-api', destination: logs, secrets: [SECRET, PREVIOUS] });
  // The listener main.ts serves: deliveries bypass express (intake.test.ts drives the express route).
  server = await listen(createRequestListener({ config, producer, logger }), SECRET);
});

afterAll(async () => {
  await server.close();
  await producer.queue.obliterate({ force: true });
  await producer.close();
  await deleteKeys(connection, prefix);
  expect(await countKeys(connection, prefix)).toBe(0);
  await closeRedis(connection);
  // Whatever happened, neither secret nor any signature reached the logs.
  expect(logs.lines.length).toBeGreaterThan(10);
  expect(logs.text).not.toContain(SECRET);
  expect(logs.text).not.toContain(PREVIOUS);
  expect(logs.text).not.toMatch(/sha256=[0-9a-f]{64}/);
});

async function jobCount(): Promise<number> {
  const counts = await producer.queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed');
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

describe('POST /webhooks/github', () => {
  it('answers every example ping', async () => {
    const pings = examples('ping');
    expect(pings.length).toBeGreaterThan(0);
    for (const payload of pings) {
      expect(await server.deliver({ event: 'ping', payload })).toMatchObject({ status: 200, body: { status: 'pong' } });
    }
  });

  it('queues a push to a branch with the fields the worker needs, and answers with the job id', async () => {
    const payload = branchPushExample();
    const res = await server.deliver({ event: 'push', payload });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ status: 'queued', jobId: `codertocat/hello-world@${payload.after}#lab-85` });
    const job = await producer.queue.getJob(res.body.jobId);
    expect(job?.data).toMatchObject({
      schemaVersion: 1,
      repository: {
        fullName: 'Codertocat/Hello-World',
        cloneUrl: 'https://github.com/Codertocat/Hello-World.git',
        id: payload.repository.id,
      },
      commit: payload.after,
      ref: 'refs/heads/master',
      event: 'push',
      deliveryId: res.deliveryId,
      author: 'Codertocat',
      requestedBy: 'Codertocat',
      pushedAt: new Date(payload.repository.pushed_at * 1000).toISOString(),
      installationId: 1,
      rubricId: 'lab-85',
    });
    const line = logs.find('webhook').find((e) => e.delivery === res.deliveryId);
    expect(line).toMatchObject({ event: 'push', status: 202, outcome: 'queued', jobId: res.body.jobId });
  });

  it('a redelivered push is acknowledged as a duplicate and queues nothing', async () => {
    const payload = { ...branchPushExample(), after: 'b'.repeat(40) };
    const before = await jobCount();
    const first = await server.deliver({ event: 'push', payload, deliveryId: 'redelivered-1' });
    const again = await server.deliver({ event: 'push', payload, deliveryId: 'redelivered-1' });
    expect(first.body).toEqual({ status: 'queued', jobId: `codertocat/hello-world@${'b'.repeat(40)}#lab-85` });
    expect(again).toMatchObject({ status: 202, body: { status: 'duplicate', jobId: first.body.jobId } });
    expect(await jobCount()).toBe(before + 1);
  });

  it('ignores tag pushes and branch deletions', async () => {
    const tag = examples('push').find((p) => p.ref.startsWith('refs/tags/') && !p.deleted)!;
    const deletion = examples('push').find((p) => p.deleted)!;
    const before = await jobCount();
    expect(await server.deliver({ event: 'push', payload: tag })).toMatchObject({
      status: 202,
      body: { status: 'ignored', reason: 'refs/tags/simple-tag is not a branch' },
    });
    expect(await server.deliver({ event: 'push', payload: deletion })).toMatchObject({
      status: 202,
      body: { status: 'ignored', reason: 'refs/tags/simple-tag was deleted' },
    });
    const branchDeletion = { ...branchPushExample(), deleted: true, after: '0'.repeat(40) };
    expect((await server.deliver({ event: 'push', payload: branchDeletion })).body.status).toBe('ignored');
    expect(await jobCount()).toBe(before);
  });

  it('grades pull requests opened, synchronized or reopened, and ignores other actions', async () => {
    const opened = examples('pull_request', 'opened').find((p) => p.installation)!;
    const res = await server.deliver({ event: 'pull_request', payload: opened });
    expect(res).toMatchObject({ status: 202, body: { status: 'queued' } });
    const job = await producer.queue.getJob(res.body.jobId);
    expect(job?.data).toMatchObject({
      commit: opened.pull_request.head.sha,
      ref: `refs/pull/${opened.number}/head`,
      event: 'pull_request',
      pullRequest: opened.number,
      author: opened.pull_request.user.login,
      pushedAt: new Date(opened.pull_request.updated_at).toISOString(),
    });
    // Same head commit: one job.
    for (const action of ['synchronize', 'reopened']) {
      const payload = examples('pull_request', action)[0]!;
      expect(await server.deliver({ event: 'pull_request', payload })).toMatchObject({
        status: 202,
        body: { status: 'duplicate', jobId: res.body.jobId },
      });
    }
    for (const action of ['closed', 'labeled', 'assigned']) {
      const payload = examples('pull_request', action)[0]!;
      expect(await server.deliver({ event: 'pull_request', payload })).toMatchObject({
        status: 202,
        body: { status: 'ignored', reason: `pull_request '${action}' is not graded` },
      });
    }
  });

  it('a re-run request (check_suite or check_run rerequested) forces a regrade, once per request', async () => {
    const suite = examples('check_suite', 'rerequested')[0]!;
    const res = await server.deliver({ event: 'check_suite', payload: suite, deliveryId: 'rerun-suite-1' });
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    expect(res.body.jobId).toBe(`codertocat/hello-world@${suite.check_suite.head_sha}#lab-85!rerun-rerun-suite-1`);
    const job = await producer.queue.getJob(res.body.jobId);
    expect(job?.data).toMatchObject({
      event: 'rerun',
      force: true,
      ref: `refs/heads/${suite.check_suite.head_branch}`,
      requestedBy: suite.sender.login,
      installationId: suite.installation.id,
    });
    expect(job?.data.author).toBeUndefined();
    const redelivered = await server.deliver({ event: 'check_suite', payload: suite, deliveryId: 'rerun-suite-1' });
    expect(redelivered.body).toEqual({ status: 'duplicate', jobId: res.body.jobId });

    const run = examples('check_run', 'rerequested')[0]!;
    const runRes = await server.deliver({ event: 'check_run', payload: run });
    expect(runRes).toMatchObject({ status: 202, body: { status: 'queued' } });
    expect((await producer.queue.getJob(runRes.body.jobId))?.data).toMatchObject({
      commit: run.check_run.head_sha,
      ref: `refs/heads/${run.check_run.check_suite.head_branch}`,
      repository: { fullName: 'github/hello-world' },
    });

    for (const [event, action] of [
      ['check_suite', 'completed'],
      ['check_suite', 'requested'],
      ['check_run', 'created'],
    ] as const) {
      const payload = examples(event, action)[0]!;
      expect((await server.deliver({ event, payload })).body).toEqual({
        status: 'ignored',
        reason: `${event} '${action}' is not a re-run request`,
      });
    }
  });

  it('refuses a push whose clone_url is another repository (422, nothing queued)', async () => {
    const payload = branchPushExample();
    payload.after = 'c'.repeat(40);
    payload.repository.clone_url = 'https://github.com/attacker/payload.git';
    const before = await jobCount();
    const res = await server.deliver({ event: 'push', payload });
    expect(res.status).toBe(422);
    expect(res.body.problems).toEqual([
      "push payload.repository.clone_url: is not the repository's own: for Codertocat/Hello-World its path must end in /Codertocat/Hello-World(.git)",
    ]);
    expect(await jobCount()).toBe(before);
  });

  it('acknowledges events it does not grade', async () => {
    const issues = examples('issues')[0]!;
    expect(await server.deliver({ event: 'issues', payload: issues })).toMatchObject({
      status: 202,
      body: { status: 'ignored', reason: "'issues' events are not graded" },
    });
  });

  it('accepts deliveries signed with the previous secret while it is being rotated', async () => {
    const res = await server.deliver({ event: 'ping', payload: examples('ping')[0], secret: PREVIOUS });
    expect(res.status).toBe(200);
  });

  it('rejects a missing, malformed or wrong signature with 401 and queues nothing', async () => {
    const payload = branchPushExample();
    const before = await jobCount();
    const missing = await server.deliver({ event: 'push', payload, headers: { 'x-hub-signature-256': undefined } });
    expect(missing).toMatchObject({ status: 401, body: { error: 'missing X-Hub-Signature-256 header' } });
    const wrongSecret = await server.deliver({ event: 'push', payload, secret: 'not-the-secret-at-all-000000' });
    expect(wrongSecret).toMatchObject({ status: 401, body: { error: 'X-Hub-Signature-256 does not match the body' } });
    const sha1 = await server.deliver({
      event: 'push',
      payload,
      headers: { 'x-hub-signature-256': 'sha1=' + 'a'.repeat(40) },
    });
    expect(sha1.status).toBe(401);
    // A valid signature of another body.
    const body = JSON.stringify(payload);
    const tampered = await fetch(`${server.url}/webhooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'push',
        'x-github-delivery': 'tampered-1',
        'x-hub-signature-256': await sign(SECRET, body),
      },
      body: body.replace('Codertocat', 'Attacker'),
    });
    expect(tampered.status).toBe(401);
    expect(await jobCount()).toBe(before);
    const rejected = logs.find('webhook').filter((e) => e.status === 401);
    expect(rejected.length).toBeGreaterThanOrEqual(3);
    for (const entry of rejected) expect(entry).not.toHaveProperty('signature');
  });

  it('rejects a body that is not JSON, a wrong content type, and missing GitHub headers', async () => {
    expect(await server.deliver({ event: 'push', body: '{"ref": "refs/heads/main",' })).toMatchObject({
      status: 400,
      body: { error: 'body is not valid JSON' },
    });
    const form = await server.deliver({
      event: 'push',
      body: 'payload=' + encodeURIComponent(JSON.stringify(branchPushExample())),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    expect(form.body.error).toMatch(/Content-Type must be application\/json/);
    expect(await server.deliver({ payload: {}, headers: { 'x-github-event': undefined } })).toMatchObject({
      status: 400,
      body: { error: 'missing X-GitHub-Event header' },
    });
    expect(await server.deliver({ payload: {}, headers: { 'x-github-delivery': undefined } })).toMatchObject({
      status: 400,
      body: { error: 'missing or malformed X-GitHub-Delivery header' },
    });
  });

  it('refuses a body larger than the limit before verifying or parsing it', async () => {
    const payload = { ...branchPushExample(), padding: 'x'.repeat(70 * 1024) };
    const res = await server.deliver({ event: 'push', payload });
    expect(res).toMatchObject({ status: 413, body: { error: 'body larger than 64kb' } });
  });

  it('names the missing field when a graded event lacks what labgrader needs', async () => {
    const payload = branchPushExample();
    delete payload.repository.clone_url;
    payload.after = 'not-a-sha';
    const res = await server.deliver({ event: 'push', payload });
    expect(res.status).toBe(422);
    expect(res.body.problems).toEqual([expect.stringMatching(/^push payload\.repository\.clone_url: /)]);
    const badSha = { ...branchPushExample(), after: 'abc' };
    expect((await server.deliver({ event: 'push', payload: badSha })).body.problems).toEqual([
      'push payload.after: must be a full commit SHA',
    ]);
    const pr = examples('pull_request', 'opened')[0]!;
    delete pr.pull_request.head.sha;
    expect((await server.deliver({ event: 'pull_request', payload: pr })).body.problems).toEqual([
      expect.stringMatching(/^pull_request payload\.pull_request\.head\.sha: /),
    ]);
  });
});

describe('routing around express', () => {
  it('a delivery URL with a query string still reaches the webhook; other methods on it do not', async () => {
    const body = JSON.stringify(examples('ping')[0]);
    const res = await fetch(`${server.url}/webhooks/github?source=hook`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'ping',
        'x-github-delivery': 'query-ping',
        'x-hub-signature-256': await sign(SECRET, body),
      },
      body,
    });
    expect({ status: res.status, body: await res.json() }).toEqual({ status: 200, body: { status: 'pong' } });
    expect((await server.get('/webhooks/github')).status).toBe(404);
    expect((await server.get('/webhooks/githubx')).status).toBe(404);
  });
});

describe('probes', () => {
  it('/healthz is alive and /readyz reports Redis', async () => {
    expect(await server.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await server.get('/readyz')).toEqual({ status: 200, body: { status: 'ready', redis: 'ok' } });
    expect((await server.get('/nowhere')).status).toBe(404);
  });

  it('while Redis is down: /readyz says so and a webhook gets 503 so GitHub can redeliver it', async () => {
    const redis = await privateRedis();
    await redis.start();
    const conn = createRedisConnection(redis.url, { role: 'producer', overrides: { disconnectTimeout: 100 } });
    conn.on('error', () => {});
    const down = await createGradeProducer({ connection: conn, name: 'grade', prefix });
    const downLogs = new LogCapture();
    const app = createApp({
      config,
      producer: down,
      logger: createServiceLogger({ name: 'api', destination: downLogs }),
    });
    const s = await listen(app, SECRET);
    try {
      const closed = new Promise((resolve) => conn.once('close', resolve));
      await redis.kill();
      await closed;
      expect(await s.get('/readyz')).toEqual({ status: 503, body: { status: 'unavailable', redis: 'unreachable' } });
      expect(await s.get('/healthz')).toEqual({ status: 200, body: { status: 'ok' } });
      const res = await s.deliver({ event: 'push', payload: branchPushExample() });
      expect(res).toMatchObject({ status: 503, body: { error: 'grading queue unavailable; redeliver later' } });
      expect(downLogs.find('webhook')[0]).toMatchObject({ status: 503, outcome: 'queue-unavailable', level: 'error' });
    } finally {
      await s.close();
      await down.close().catch(() => {});
      await closeRedis(conn);
      await redis.destroy();
    }
  });
});

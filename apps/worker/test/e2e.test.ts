/**
 * End to end, all real: GitHub's example push, rewritten to point at a bare
 * git repository on disk holding examples/lab-85-passing, signed with the
 * webhook secret and POSTed to the API over HTTP; the API queues it on Redis;
 * the worker clones it, grades it and stores the report in PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createApp } from '../../api/src/index.js';
import { branchPushExample, examples, listen, type TestServer } from '../../api/test/support/github.js';
import { LogCapture } from '../../../packages/queue/test/support/services.js';
import { createServiceLogger } from '@labgrader/queue';
import { createWorld, lab85FullMarks, recordingRunner, tokenCredentials, type World } from './support/world.js';

const SECRET = 'e2e-webhook-secret-' + 'k'.repeat(30);
const TOKEN = 'ghs_' + 'E2eTokenE2eTokenE2eTokenE2eToken0123';

let world: World;
let api: TestServer;
const apiLogs = new LogCapture();

beforeAll(async () => {
  world = await createWorld('e2e');
  const logger = createServiceLogger({ name: 'labgrader-api', destination: apiLogs, secrets: [SECRET] });
  const config = { webhookSecret: SECRET, previousWebhookSecrets: [], rubricId: 'lab-85', bodyLimit: '1mb' };
  api = await listen(createApp({ config, producer: world.producer, logger }), SECRET);
});

afterAll(async () => {
  await api.close();
  await world.cleanup();
  for (const text of [apiLogs.text, world.logs.text]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(TOKEN);
  }
});

describe('webhook → queue → worker → stored report', () => {
  it('grades a push to a student repository, once, and regrades on request', async () => {
    const runner = recordingRunner();
    world.startWorker({ runner, credentials: tokenCredentials(TOKEN) });
    const payload = branchPushExample();
    // Laid out as <root>/Codertocat/Hello-World.git: a clone_url must be the repository's own.
    const { repo, sha } = world.repo('lab-85-passing', { fullName: payload.repository.full_name });
    payload.repository.clone_url = repo.url;
    payload.ref = 'refs/heads/main';
    payload.before = payload.after;
    payload.after = sha;
    const fullName: string = payload.repository.full_name;

    const delivered = await api.deliver({ event: 'push', payload });
    expect(delivered.status).toBe(202);
    expect(delivered.body).toEqual({ status: 'queued', jobId: `${fullName.toLowerCase()}@${sha}#lab-85` });

    const { points, rubricMaxPoints } = await lab85FullMarks();
    expect(await world.finished(delivered.body.jobId)).toMatchObject({ outcome: 'graded', points, percent: 100 });
    const key = { repository: fullName, commit: sha, rubricId: 'lab-85' };
    const stored = await world.store.get(key);
    expect(stored).toMatchObject({
      status: 'graded',
      points,
      maxPoints: points,
      percent: 100,
      rubricMaxPoints,
      author: payload.sender.login,
      pushedAt: new Date(payload.repository.pushed_at * 1000).toISOString(),
      gradeCount: 1,
      meta: { deliveryId: delivered.deliveryId, event: 'push', installationId: payload.installation.id, attempt: 1 },
    });
    expect(stored?.report.submission).toMatchObject({ source: 'github', repository: fullName, commit: sha });
    expect(stored?.report.criteria.filter((c) => c.stage !== 'cluster').every((c) => c.status === 'passed')).toBe(true);
    expect((await world.store.latest(fullName))?.commit).toBe(sha);
    const clones = runner.calls.filter((c) => c.command === 'git' && c.args.includes('fetch')).length;
    expect(clones).toBe(1);

    // GitHub redelivers the same delivery: acknowledged, not graded again.
    const redelivered = await api.deliver({ event: 'push', payload, deliveryId: delivered.deliveryId });
    expect(redelivered).toMatchObject({ status: 202, body: { status: 'duplicate', jobId: delivered.body.jobId } });
    const counts = await world.producer.queue.getJobCounts('waiting', 'active', 'delayed', 'completed');
    expect(counts).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 1 });

    // "Re-run" on the check suite: graded again, the first push time kept.
    const rerun = examples('check_suite', 'rerequested')[0]!;
    rerun.repository = payload.repository;
    rerun.check_suite.head_sha = sha;
    rerun.check_suite.head_branch = 'main';
    const requested = await api.deliver({ event: 'check_suite', payload: rerun });
    expect(requested.body.status).toBe('queued');
    expect(await world.finished(requested.body.jobId)).toMatchObject({ outcome: 'graded', points });
    const regraded = await world.store.get(key);
    expect(regraded?.id).not.toBe(stored!.id); // a grading of its own: both scores are kept
    expect(regraded).toMatchObject({
      gradeCount: 2,
      reason: `Re-run requested by ${rerun.sender.login}`,
      author: payload.sender.login,
      pushedAt: stored!.pushedAt,
      meta: { event: 'rerun', requestedBy: rerun.sender.login },
    });
    expect(runner.calls.filter((c) => c.command === 'git' && c.args.includes('fetch')).length).toBe(clones + 1);
    const history = await world.store.history({ student: fullName });
    expect(history.map((h) => [h.event, h.gradeCount])).toEqual([
      ['rerun', 2],
      ['push', 1],
    ]);

    // The API logged each delivery with its outcome; nothing secret (checked in afterAll).
    expect(apiLogs.find('webhook').map((e) => e.outcome)).toEqual(['queued', 'duplicate', 'queued']);
  });
});

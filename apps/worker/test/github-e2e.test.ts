/**
 * End to end with GitHub, every part real except GitHub itself, which is the
 * GitHub double (test/support/github-double.ts: real HTTP on loopback,
 * requests checked against GitHub's OpenAPI description, git over smart
 * HTTP for a private repository that needs an installation token):
 *
 *   signed webhook → API (express) → Redis (BullMQ) → worker → PostgreSQL
 *                     └ check run queued        └ clone with an installation token,
 *                                                 check run in progress → completed, PR comment
 *
 *  - a push: the check run is created `queued` by the API, goes `in_progress`
 *    with the stage, then `completed` with exactly the CLI's findings as
 *    annotations, at most 50 per request;
 *  - a pull_request then a synchronize: one comment, then that comment updated;
 *  - a newer push cancels the older job mid-clone: its check run completes
 *    `cancelled`, pointing at the newer commit, and the newer one is graded;
 *  - "Regrade" grades again, and the store keeps both gradings;
 *  - no installation token appears in any log line, stored report, job
 *    record or metric.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Report } from '@labgrader/core';
import { createGithubApp, loadGithubAppConfig, reportAnnotations, type GithubApp } from '@labgrader/github';
import { createServiceLogger, createServiceMetrics, pullRequestsKey } from '@labgrader/queue';
import { createApp, queuedCheckRuns, type QueuedCheckRuns } from '../../api/src/index.js';
import { branchPushExample, examples, listen, type TestServer } from '../../api/test/support/github.js';
import { LogCapture } from '../../../packages/queue/test/support/services.js';
import { runCli } from '../../../test/support/cli.js';
import { makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';
import { startGithubDouble, type GithubDouble } from '../../../test/support/github-double.js';
import { checkRunPublisher, pullRequestCommentPublisher, storePublisher } from '../src/index.js';
import { createWorld, example, gatedRunner, recordingRunner, type World } from './support/world.js';

const SECRET = 'github-e2e-secret-' + 's'.repeat(30);

let double: GithubDouble;
let world: World;
let api: TestServer;
let github: GithubApp;
let checks: QueuedCheckRuns;
let repo: BareRepo;
let fullName: string;
let cloneUrl: string;
const apiLogs = new LogCapture();
const metrics = createServiceMetrics({ service: 'labgrader-worker', defaultMetrics: false });
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- GitHub payloads are edited as plain JSON
let push: Record<string, any>;

/** examples/lab-85-flawed-probes plus a dozen bare Deployments: more than 50 findings, so two annotation batches. */
function flawedLab(): string {
  const dir = tempDir('labgrader-e2e-lab-');
  cpSync(example('lab-85-flawed-probes'), dir, { recursive: true });
  for (let i = 1; i <= 12; i++) {
    writeFileSync(
      path.join(dir, 'k8s', `extra-${i}.yaml`),
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: extra-${i}
spec:
  replicas: 1
  selector:
    matchLabels: { app: extra-${i} }
  template:
    metadata:
      labels: { app: extra-${i} }
    spec:
      containers:
        - name: app
          image: nginx:latest
`,
    );
  }
  return dir;
}

function startWorker(runner = recordingRunner()) {
  return world.startWorker({
    runner,
    supersede: true,
    metrics,
    credentials: github.tokens,
    cloneUrlAllow: [`${double.webUrl}/`],
    publishers: [
      storePublisher(world.store),
      checkRunPublisher(github.checks, { progressIntervalMs: 20 }),
      pullRequestCommentPublisher(github.comments, {
        pullRequestsOf: async (jobId) =>
          (
            await world.producerConnection.smembers(
              pullRequestsKey({ prefix: world.prefix, queueName: 'grade' }, jobId),
            )
          ).map(Number),
      }),
    ],
  });
}

function pushOf(sha: string, pushedAt: number) {
  const payload = structuredClone(push);
  payload.before = payload.after;
  payload.after = sha;
  payload.repository.pushed_at = pushedAt;
  return payload;
}

function runsOf(sha: string) {
  return double.checkRunsOf(fullName).filter((r) => r.headSha === sha);
}

beforeAll(async () => {
  double = await startGithubDouble();
  world = await createWorld('ghe2e');
  push = branchPushExample();
  push.ref = 'refs/heads/main';
  fullName = push.repository.full_name;
  repo = makeBareRepo(flawedLab(), { under: tempDir('labgrader-e2e-git-'), fullName });
  world.repos.push(repo);
  cloneUrl = `${double.webUrl}/${fullName}.git`;
  push.repository.clone_url = cloneUrl;
  double.seedFromWebhook(push as Parameters<GithubDouble['seedFromWebhook']>[0], {
    private: true,
    bareDir: repo.bareDir,
  });
  const config = loadGithubAppConfig(double.env())!;
  github = createGithubApp(config, { logger: world.logger, writeIntervalMs: 0, retryUnitMs: 1 });
  const apiLogger = createServiceLogger({ name: 'labgrader-api', destination: apiLogs, secrets: [SECRET] });
  checks = queuedCheckRuns({ checks: github.checks, logger: apiLogger });
  const apiConfig = { webhookSecret: SECRET, previousWebhookSecrets: [], rubricId: 'lab-85', bodyLimit: '2mb' };
  api = await listen(createApp({ config: apiConfig, producer: world.producer, logger: apiLogger, checks }), SECRET);
}, 60_000);

afterAll(async () => {
  await checks.drain();
  await api.close();
  // No installation token anywhere: logs, stored reports, BullMQ's job records, metrics.
  const stored = await world.store.list({ limit: 500 });
  const reports = await Promise.all(
    stored.items.map((i) => world.store.get({ repository: i.repository, commit: i.commit, rubricId: i.rubricId })),
  );
  const jobs = await world.producer.queue.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed']);
  const haystack = [
    apiLogs.text,
    world.logs.text,
    JSON.stringify(stored),
    JSON.stringify(reports),
    JSON.stringify(jobs.map((j) => ({ data: j.data, returnvalue: j.returnvalue, failedReason: j.failedReason }))),
    (await metrics.render()).body,
  ].join('\n');
  expect(double.issuedTokens.length).toBeGreaterThan(0);
  for (const { token } of [...double.issuedTokens, ...double.revokedTokens]) expect(haystack).not.toContain(token);
  expect(haystack).not.toContain(double.privateKey.split('\n')[1]!);
  expect(double.takeViolations()).toEqual([]);
  await world.cleanup();
  await double.close();
}, 60_000);

describe('webhook → check run → grading → GitHub', () => {
  it('a push: check run queued by the API, in progress, then completed with exactly the CLI findings as annotations in batches of ≤ 50', async () => {
    const sha = repo.commit('first submission');
    const delivered = await api.deliver({ event: 'push', payload: pushOf(sha, 1_900_000_000) });
    expect(delivered.body.status).toBe('queued');
    await checks.drain();
    expect(runsOf(sha).map((r) => r.status)).toEqual(['queued']);

    startWorker();
    expect(await world.finished(delivered.body.jobId)).toMatchObject({ outcome: 'graded' });
    const [run] = runsOf(sha);
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success', name: 'labgrader · lab-85' });

    // The check run's history, from the requests GitHub received.
    const writes = [...double.requestsTo('checks/create'), ...double.requestsTo('checks/update')].filter((r) =>
      r.path.includes('/check-runs/') ? true : (r.body as { head_sha?: string }).head_sha === sha,
    );
    const statuses = writes.map((w) => (w.body as { status?: string }).status);
    expect(statuses[0]).toBe('queued');
    expect(statuses).toContain('in_progress');
    expect(statuses.at(-1) ?? 'completed').toBe('completed');
    const inProgressTitles = writes
      .filter((w) => (w.body as { status?: string }).status === 'in_progress')
      .map((w) => (w.body as { output?: { title?: string } }).output?.title);
    expect(inProgressTitles[0]).toMatch(/^Grading: /);

    // Annotations: exactly the CLI's findings, sent in requests of at most 50.
    const cli = await runCli(['grade', repo.workDir, '--cluster', 'none', '--format', 'json']);
    const cliReport = JSON.parse(cli.stdout) as Report;
    expect(cliReport.findings.length).toBeGreaterThan(50);
    const batches = writes
      .map((w) => (w.body as { output?: { annotations?: unknown[] } }).output?.annotations ?? [])
      .filter((a) => a.length > 0);
    expect(batches.length).toBeGreaterThanOrEqual(2);
    for (const batch of batches) expect(batch.length).toBeLessThanOrEqual(50);
    const sent = batches.flat();
    expect(sent).toEqual(reportAnnotations(cliReport.findings));
    expect(run!.annotations).toHaveLength(cliReport.findings.length);

    // The clone used an installation token (the repository is private), revoked once the clone was done.
    const cloneTokens = new Set(
      double.gitRequests.filter((g) => g.repository.toLowerCase() === fullName.toLowerCase()).map((g) => g.token),
    );
    expect(cloneTokens.size).toBeGreaterThan(0);
    for (const token of cloneTokens) {
      expect(token).toEqual(expect.any(String));
      expect(double.revokedTokens.find((t) => t.token === token)?.permissions).toEqual({
        contents: 'read',
        metadata: 'read',
      });
    }
    // The check run's own token is not (it is cached for the next job of this repository).
    expect(double.revokedTokens.every((t) => t.permissions.checks === undefined)).toBe(true);
  });

  it('a pull request then a synchronize: one comment, then the same comment updated', async () => {
    const opened = examples('pull_request', 'opened')[0]!;
    const number = 42;
    const first = repo.commit('pull request head');
    Object.assign(opened, { number, repository: push.repository, installation: push.installation });
    opened.pull_request.number = number;
    opened.pull_request.head.sha = first;
    double.addPullRequest(fullName, number);
    const a = await api.deliver({ event: 'pull_request', payload: opened });
    expect(a.body.status).toBe('queued');
    await world.finished(a.body.jobId);
    const comments = double.commentsOn(fullName, number);
    expect(comments).toHaveLength(1);
    const before = comments[0]!.body;
    expect(before).toContain(first.slice(0, 7));

    const synchronize = structuredClone(opened);
    synchronize.action = 'synchronize';
    const second = repo.commit('pull request update');
    synchronize.pull_request.head.sha = second;
    synchronize.pull_request.updated_at = new Date(Date.parse(opened.pull_request.updated_at) + 60_000).toISOString();
    const b = await api.deliver({ event: 'pull_request', payload: synchronize });
    await world.finished(b.body.jobId);
    const after = double.commentsOn(fullName, number);
    expect(after).toHaveLength(1);
    expect(after[0]!.id).toBe(comments[0]!.id);
    expect(after[0]!.body).not.toBe(before);
    expect(after[0]!.body).toContain(second.slice(0, 7));
  });

  it('a newer push cancels the older job mid-clone: its check run completes cancelled, pointing at the newer commit', async () => {
    await world.stopWorkers();
    const gated = gatedRunner();
    startWorker(gated as unknown as ReturnType<typeof recordingRunner>);
    const older = repo.commit('older push');
    const a = await api.deliver({ event: 'push', payload: pushOf(older, 1_900_000_100) });
    await gated.started; // the older job is cloning
    const newer = repo.commit('newer push');
    const b = await api.deliver({ event: 'push', payload: pushOf(newer, 1_900_000_200) });
    expect(b.body.status).toBe('queued');
    expect(await world.finished(a.body.jobId)).toMatchObject({
      outcome: 'superseded',
      supersededBy: { jobId: b.body.jobId, commit: newer },
    });
    expect(gated.waiting).toBe(0); // its git was aborted, not left running
    const [cancelled] = runsOf(older);
    expect(cancelled).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
    expect(cancelled!.output.summary).toContain(newer.slice(0, 7));
    expect(await world.store.get({ repository: fullName, commit: older, rubricId: 'lab-85' })).toBeUndefined();

    gated.release();
    expect(await world.finished(b.body.jobId)).toMatchObject({ outcome: 'graded' });
    expect(runsOf(newer).at(-1)).toMatchObject({ status: 'completed', conclusion: 'success' });
  });

  it('"Regrade" on the check run grades again, and both gradings are kept', async () => {
    const sha = runsOf(double.checkRunsOf(fullName).at(-1)!.headSha)[0]!.headSha;
    const action = examples('check_run', 'requested_action')[0]!;
    action.repository = push.repository;
    action.installation = push.installation;
    action.check_run.head_sha = sha;
    action.check_run.check_suite.head_branch = 'main';
    action.requested_action = { identifier: 'regrade' };
    const res = await api.deliver({ event: 'check_run', payload: action });
    expect(res.body.status).toBe('queued');
    expect(await world.finished(res.body.jobId)).toMatchObject({ outcome: 'graded' });
    const history = await world.store.history({ student: fullName });
    const ofCommit = history.filter((h) => h.commit === sha);
    expect(ofCommit.map((h) => [h.event, h.gradeCount])).toEqual([
      ['regrade', 2],
      ['push', 1],
    ]);
    expect(ofCommit[0]!.reason).toBe(`Regrade requested by ${action.sender.login}`);
    expect(ofCommit[0]!.points).toBe(ofCommit[1]!.points);
  });
});

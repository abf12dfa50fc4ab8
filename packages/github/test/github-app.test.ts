/**
 * @labgrader/github against the GitHub double (test/support/github-double.ts):
 * real HTTP on loopback, every request checked against GitHub's OpenAPI
 * description, App JWTs verified with the test's key, installation tokens
 * with expiry and scope, and git over smart HTTP for a private repository.
 * After every test the double must have seen nothing GitHub would reject.
 */
import { afterAll, afterEach, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, type ReportFinding } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import { parseGradeJob, type GradeJob } from '@labgrader/queue';
import { cloneRepository } from '@labgrader/repo';
import {
  GithubAccessError,
  GithubUnavailableError,
  REGRADE_ACTION_IDENTIFIER,
  createGithubApp,
  loadGithubAppConfig,
  reportAnnotations,
  type GithubAppConfig,
  type GithubAppImpl,
  type GithubRequestEvent,
  type ReportTarget,
} from '@labgrader/github';
import { startGithubDouble, webhookExample, type GithubDouble } from '../../../test/support/github-double.js';
import { makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';
import {
  capturingLogger,
  everything,
  recordingRunner,
  type LogEntry,
  type RecordedCommand,
} from './support/capture.js';
import { findings, report } from './support/reports.js';

interface PushPayload {
  ref: string;
  repository: { id: number; full_name: string; clone_url: string; pushed_at: number };
  pusher: { name: string };
  installation: { id: number };
}
interface PullRequestPayload {
  number: number;
  pull_request: { user: { login: string } };
  repository: { id: number; full_name: string };
  installation: { id: number };
}

// GitHub's own example payloads: Codertocat/Hello-World, installation 1, pull request #2.
const push = webhookExample<PushPayload>('push', undefined, (p) => p.installation !== undefined && p.deleted === false);
const pullRequest = webhookExample<PullRequestPayload>('pull_request', 'opened', (p) => p.installation !== undefined);
const FULL_NAME = push.repository.full_name;
const REPO_ID = push.repository.id;
const INSTALLATION = push.installation.id;

let offsetMs = 0;
const now = () => Date.now() + offsetMs;

let double: GithubDouble;
let config: GithubAppConfig;
let app: GithubAppImpl;
let repo: BareRepo;
let otherRepo: BareRepo;
let sha: string;
const logs: LogEntry[] = [];
const events: GithubRequestEvent[] = [];
const errors: unknown[] = [];

function job(overrides: Partial<GradeJob> = {}): GradeJob {
  return parseGradeJob({
    schemaVersion: 1,
    repository: { fullName: FULL_NAME, cloneUrl: `${double.webUrl}/${FULL_NAME}.git`, id: REPO_ID },
    commit: sha,
    ref: push.ref,
    event: 'push',
    deliveryId: 'delivery-1',
    requestId: 'request-1',
    author: push.pusher.name,
    pushedAt: new Date(push.repository.pushed_at * 1000).toISOString(),
    installationId: INSTALLATION,
    rubricId: 'lab-85',
    ...overrides,
  });
}

function target(overrides: Partial<GradeJob> = {}, extra: Partial<ReportTarget> = {}): ReportTarget {
  return { job: job(overrides), labTitle: 'Lab 85', passPercent: 60, ...extra };
}

async function expectError<T extends Error>(promise: Promise<unknown>, type: new (...args: never[]) => T): Promise<T> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(type);
  errors.push(error);
  return error as T;
}

/** The distinct kinds of refusal the double recorded since the last call (git retries, so counts vary). */
function refusals(): string[] {
  return [...new Set(double.takeViolations().map((v) => `${v.kind} ${v.status}`))];
}

function labRepository(fullName: string): BareRepo {
  const source = tempDir('labgrader-github-src-');
  mkdirSync(path.join(source, 'k8s'));
  writeFileSync(path.join(source, 'README.md'), '# Lab 85\n');
  writeFileSync(
    path.join(source, 'k8s', 'deployment.yaml'),
    'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n',
  );
  return makeBareRepo(source, { under: path.join(gitRoot, ''), fullName });
}

let gitRoot: string;

beforeAll(async () => {
  double = await startGithubDouble({ now });
  gitRoot = tempDir('labgrader-github-git-');
  repo = labRepository(FULL_NAME);
  sha = repo.commit('first');
  otherRepo = labRepository('Codertocat/other-lab');
  otherRepo.commit('other');
  // The repository (made private), the installation and the pull request of GitHub's example payloads.
  const { installation } = double.seedFromWebhook(push, { private: true, bareDir: repo.bareDir });
  double.seedFromWebhook(pullRequest, { private: true, bareDir: repo.bareDir });
  double.addRepository({ id: 99, fullName: 'Codertocat/other-lab', private: true, bareDir: otherRepo.bareDir });
  installation!.repositoryIds.push(99);
  config = loadGithubAppConfig(double.env())!;
  app = createGithubApp(config, {
    logger: capturingLogger(logs),
    now: () => new Date(now()),
    onRequest: (e) => events.push(e),
    writeIntervalMs: 0,
    retryUnitMs: 1,
  });
});

afterEach(() => {
  // Nothing GitHub would have rejected, unless a test took what it provoked.
  expect(double.takeViolations()).toEqual([]);
});

afterAll(async () => {
  // No token, and not the private key, in any log line, error or metrics event.
  const seen = everything({ logs, errors, events });
  for (const { token } of double.issuedTokens) expect(seen).not.toContain(token);
  expect(seen).not.toContain('PRIVATE KEY');
  expect(seen).not.toContain(double.privateKey.split('\n')[1]!);
  await double.close();
});

describe('installation tokens', () => {
  test('a clone token is minted per use, scoped to the one repository with contents: read', async () => {
    const signal = new AbortController().signal;
    const first = await app.tokens.tokenFor(job(), signal);
    const second = await app.tokens.tokenFor(job(), signal);
    expect(first).toMatch(/^ghs_/);
    expect(second).not.toBe(first);
    const issued = double.issuedTokens.filter((t) => t.token === first || t.token === second);
    expect(issued).toHaveLength(2);
    for (const t of issued) {
      expect(t.repositoryIds).toEqual([REPO_ID]);
      expect(t.permissions).toEqual({ contents: 'read', metadata: 'read' });
    }
    // Without GitHub's repository id (not every job has it), the token is scoped by the repository's name.
    const { id: _id, ...byName } = job().repository;
    const third = await app.tokens.tokenFor(job({ repository: byName }), signal);
    expect(double.issuedTokens.find((t) => t.token === third)!.repositoryIds).toEqual([REPO_ID]);
    // Minted with the App's JWT, which the double verified.
    expect(double.requestsTo('apps/create-installation-access-token').every((r) => r.auth === 'jwt')).toBe(true);
  });

  test('no installation: no token (a public clone); a clone URL off GITHUB_URL: no token at all', async () => {
    const signal = new AbortController().signal;
    const before = double.issuedTokens.length;
    const { installationId: _drop, ...rest } = job();
    expect(await app.tokens.tokenFor(parseGradeJob(rest), signal)).toBeUndefined();
    // The example payload's own clone URL is on github.com, not on the configured host.
    const elsewhere = job({ repository: { fullName: FULL_NAME, cloneUrl: push.repository.clone_url, id: REPO_ID } });
    const error = await expectError(app.tokens.tokenFor(elsewhere, signal), ConfigError);
    expect(error.message).toContain('GITHUB_URL');
    expect(double.issuedTokens.length).toBe(before);
  });

  test('checks tokens are cached and re-minted before they expire, by the clock', async () => {
    double.tokenLifetimeMs = 15 * 60_000;
    try {
      const t = target({ rubricId: 'tokens' });
      const checksTokens = () => double.issuedTokens.filter((x) => x.permissions.checks === 'write');
      const start = checksTokens().length;
      await app.checks.queued(t);
      await app.checks.inProgress(t, 'fetch');
      expect(checksTokens().length).toBe(start + 1); // 15 minutes left: reused
      offsetMs += 6 * 60_000; // 9 minutes left, under the 10-minute margin
      await app.checks.inProgress(t, 'lint');
      expect(checksTokens().length).toBe(start + 2);
      offsetMs += 60 * 60_000; // an hour-long cluster run: every earlier token has expired
      await app.checks.inProgress(t, 'cluster');
      expect(checksTokens().length).toBe(start + 3);
      for (const token of checksTokens().slice(start)) {
        expect(token.repositoryIds).toEqual([REPO_ID]);
        expect(token.permissions).toEqual({ checks: 'write', metadata: 'read' });
      }
      // The double refused no request for a stale token (afterEach), and all of them carried a valid one.
      const runRequests = double.requests.filter((r) => r.operationId?.startsWith('checks/'));
      expect(runRequests.every((r) => r.auth === 'installation' && r.status < 400)).toBe(true);
    } finally {
      double.tokenLifetimeMs = 60 * 60_000;
    }
  });
});

describe('a private clone with the installation token', () => {
  test('clones through cloneRepository; the token is in no argv, URL, log, error or result', async () => {
    const signal = new AbortController().signal;
    const token = (await app.tokens.tokenFor(job(), signal))!;
    const calls: RecordedCommand[] = [];
    const runner = recordingRunner(createExecaRunner(), calls);
    const cloneLogs: LogEntry[] = [];
    const dest = path.join(tempDir('labgrader-github-clone-'), 'work');
    const result = await cloneRepository(
      { url: job().repository.cloneUrl, ref: sha, dest, credentials: { token } },
      { runner, logger: capturingLogger(cloneLogs), maxBytes: 10 * 1024 * 1024, timeoutMs: 60_000 },
    );
    expect(result.commit).toBe(sha);
    expect(readFileSync(path.join(dest, 'README.md'), 'utf8')).toBe('# Lab 85\n');
    // git really went over HTTP with the token (smart HTTP, upload-pack), and was let in.
    const fetches = double.gitRequests.filter((r) => r.repository === FULL_NAME && r.token === token);
    expect(fetches.length).toBeGreaterThan(0);
    expect(fetches.every((r) => r.status === 200)).toBe(true);

    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const argv = JSON.stringify(calls.map((c) => [c.command, ...c.args]));
    expect(argv).not.toContain(token);
    expect(argv).not.toContain(basic);
    // It travels in the environment of the fetch only.
    expect(calls.some((c) => Object.values(c.env).some((v) => v?.includes(basic)))).toBe(true);
    const shown = everything({ result, cloneLogs });
    expect(shown).not.toContain(token);
    expect(shown).not.toContain(basic);

    // A failing clone with the token: the error does not show it either.
    const failed = await cloneRepository(
      {
        url: job().repository.cloneUrl,
        ref: 'no-such-branch',
        dest: path.join(tempDir(), 'w'),
        credentials: { token },
      },
      { runner, logger: capturingLogger(cloneLogs), maxBytes: 10 * 1024 * 1024, timeoutMs: 60_000 },
    ).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(failed).toBeInstanceOf(Error);
    errors.push(failed);
    expect(everything({ failed, cloneLogs })).not.toContain(token);
    expect(everything({ failed, cloneLogs })).not.toContain(basic);
  });

  test('without the token, with another repository’s token or an expired one, the private clone is refused', async () => {
    const runner = createExecaRunner();
    const deps = { runner, maxBytes: 10 * 1024 * 1024, timeoutMs: 60_000 };
    const url = job().repository.cloneUrl;
    await expectError(cloneRepository({ url, ref: sha, dest: path.join(tempDir(), 'a') }, deps), Error);
    expect(refusals()).toEqual(['git 401']);

    const token = (await app.tokens.tokenFor(job(), new AbortController().signal))!;
    const otherUrl = `${double.webUrl}/Codertocat/other-lab.git`;
    await expectError(
      cloneRepository({ url: otherUrl, dest: path.join(tempDir(), 'b'), credentials: { token } }, deps),
      Error,
    );
    expect(refusals()).toEqual(['git 404']);

    offsetMs += 61 * 60_000; // the token's hour is over
    await expectError(
      cloneRepository({ url, ref: sha, dest: path.join(tempDir(), 'c'), credentials: { token } }, deps),
      Error,
    );
    expect(refusals()).toEqual(['git 401']);
    // A new token for the new job works again.
    const fresh = (await app.tokens.tokenFor(job(), new AbortController().signal))!;
    const result = await cloneRepository(
      { url, ref: sha, dest: path.join(tempDir(), 'd'), credentials: { token: fresh } },
      deps,
    );
    expect(result.commit).toBe(sha);
  });

  test('a released clone token is revoked at GitHub: it no longer clones; releasing again only logs', async () => {
    const runner = createExecaRunner();
    const deps = { runner, maxBytes: 10 * 1024 * 1024, timeoutMs: 60_000 };
    const url = job().repository.cloneUrl;
    const token = (await app.tokens.tokenFor(job(), new AbortController().signal))!;
    await cloneRepository({ url, ref: sha, dest: path.join(tempDir(), 'e'), credentials: { token } }, deps);
    await app.tokens.release(token);
    expect(double.revokedTokens.map((t) => t.token)).toContain(token);
    const revoke = double.requestsTo('apps/revoke-installation-access-token').at(-1)!;
    expect(revoke).toMatchObject({ method: 'DELETE', status: 204, auth: 'installation' });
    await expectError(
      cloneRepository({ url, ref: sha, dest: path.join(tempDir(), 'f'), credentials: { token } }, deps),
      Error,
    );
    expect(refusals()).toEqual(['git 401']);
    // A token GitHub no longer knows: a 401, logged, never thrown.
    await expect(app.tokens.release(token)).resolves.toBeUndefined();
    expect(double.requestsTo('apps/revoke-installation-access-token').at(-1)).toMatchObject({ status: 401 });
    double.takeViolations();
  });
});

function runsFor(rubricId: string) {
  return double.checkRunsOf(FULL_NAME).filter((r) => r.externalId.includes(`#${rubricId}`));
}

describe('check runs', () => {
  test('queued → in_progress → completed, with exactly the report’s findings as annotations, 50 per request', async () => {
    const t = target();
    await app.checks.queued(t);
    let runs = runsFor('lab-85');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      name: 'labgrader · Lab 85',
      headSha: sha,
      status: 'queued',
      externalId: `codertocat/hello-world@${sha}#lab-85`,
    });

    await app.checks.inProgress(t, 'lint');
    runs = runsFor('lab-85');
    expect(runs[0]).toMatchObject({ status: 'in_progress', output: { title: 'Grading: lint' } });
    expect(runs[0]!.output.summary).toContain('**lint**');
    expect(runs[0]!.startedAt).not.toBeNull();

    const graded = report({ commit: sha, points: 67.7, maxPoints: 80, findings: findings(130, { withoutFile: 10 }) });
    const updatesBefore = double.requestsTo('checks/update').length;
    await app.checks.completed(t, graded, { retriesExhausted: false });
    runs = runsFor('lab-85');
    expect(runs).toHaveLength(1);
    const run = runs[0]!;
    expect(run).toMatchObject({ status: 'completed', conclusion: 'success', output: { title: '67.7 / 80' } });
    // 120 findings with a file: three requests of 50, 50 and 20; the 10 cluster-level ones only in the summary.
    const updates = double.requestsTo('checks/update').slice(updatesBefore);
    expect(
      updates.map((u) => ((u.body as { output?: { annotations?: unknown[] } }).output?.annotations ?? []).length),
    ).toEqual([50, 50, 20]);
    expect(run.annotations).toEqual(reportAnnotations(graded.findings));
    expect(run.annotations).toHaveLength(120);
    expect(run.output.summary).toContain('Finding 0:'); // a cluster-level finding, in the summary
    // The summary links to the exact lines at this commit, on the web host.
    expect(run.output.summary).toContain(`${double.webUrl}/${FULL_NAME}/blob/${sha}/k8s/service.yaml#L2`);
    expect(run.actions).toEqual([
      { label: 'Regrade', description: 'Grade this commit again', identifier: REGRADE_ACTION_IDENTIFIER },
    ]);
    expect(REGRADE_ACTION_IDENTIFIER).toBe('regrade');

    // A retried job publishes again: the same run, no annotation twice, nothing created.
    const createsBefore = double.requestsTo('checks/create').length;
    await app.checks.queued(t);
    await app.checks.inProgress(t, 'cluster');
    await app.checks.completed(t, graded, { retriesExhausted: false });
    expect(runsFor('lab-85')).toHaveLength(1);
    expect(runsFor('lab-85')[0]!.annotations).toHaveLength(120);
    expect(runsFor('lab-85')[0]!.status).toBe('completed');
    expect(double.requestsTo('checks/create').length).toBe(createsBefore);
  });

  test('a completion cut short after the first batch is finished by the retry, without duplicates', async () => {
    const t = target({ rubricId: 'partial' });
    await app.checks.inProgress(t, 'score');
    const graded = report({ commit: sha, findings: findings(120) });
    // The second batch fails on every attempt (502, retried in-process, then given up).
    double.failNext('checks/update', { status: 502, skip: 1, times: 3 });
    const error = await expectError(
      app.checks.completed(t, graded, { retriesExhausted: false }),
      GithubUnavailableError,
    );
    expect(error.retryable).toBe(true);
    expect(runsFor('partial')[0]!.annotations).toHaveLength(50);
    expect(runsFor('partial')[0]!.status).toBe('in_progress');

    await app.checks.completed(t, graded, { retriesExhausted: false });
    const [run, ...others] = runsFor('partial');
    expect(others).toEqual([]);
    expect(run!.annotations).toEqual(reportAnnotations(graded.findings));
    expect(run!.status).toBe('completed');
  });

  test('conclusions: by the pass mark, neutral when not gradable or given up, cancelled when superseded', async () => {
    const cases: [rubricId: string, conclusion: string, title: string, run: () => Promise<void>][] = [
      [
        'at-mark',
        'success',
        '48 / 80',
        () =>
          app.checks.completed(target({ rubricId: 'at-mark' }), report({ commit: sha, points: 48 }), {
            retriesExhausted: false,
          }),
      ],
      [
        'below',
        'failure',
        '47.5 / 80',
        () =>
          app.checks.completed(target({ rubricId: 'below' }), report({ commit: sha, points: 47.5 }), {
            retriesExhausted: false,
          }),
      ],
      [
        'not-gradable',
        'neutral',
        'Not gradable',
        () =>
          app.checks.completed(target({ rubricId: 'not-gradable' }), report({ commit: sha, notGradable: true }), {
            retriesExhausted: false,
          }),
      ],
      [
        'gave-up',
        'neutral',
        'Could not be graded',
        () =>
          app.checks.completed(target({ rubricId: 'gave-up' }), report({ commit: sha }), { retriesExhausted: true }),
      ],
      [
        'superseded',
        'cancelled',
        'Superseded by a newer push',
        async () => {
          await app.checks.queued(target({ rubricId: 'superseded' }));
          await app.checks.cancelled(target({ rubricId: 'superseded' }), { commit: 'b'.repeat(40) });
        },
      ],
    ];
    for (const [rubricId, conclusion, title, run] of cases) {
      await run();
      const runs = runsFor(rubricId);
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ status: 'completed', conclusion, output: { title } });
    }
    expect(runsFor('not-gradable')[0]!.output.summary).toContain('Not gradable:');
    expect(runsFor('gave-up')[0]!.output.summary).toContain('not in your repository');
    expect(runsFor('superseded')[0]!.output.summary).toContain('bbbbbbbbbbbb');
    expect(runsFor('superseded')[0]!.actions.map((a) => a.identifier)).toEqual(['regrade']);

    // A late `queued` (the API was slow) does not reopen the superseded run; a cancel without a run creates it.
    await app.checks.queued(target({ rubricId: 'superseded' }));
    expect(runsFor('superseded')).toHaveLength(1);
    await app.checks.cancelled(target({ rubricId: 'never-queued' }), { commit: 'c'.repeat(40) });
    expect(runsFor('never-queued')[0]).toMatchObject({ status: 'completed', conclusion: 'cancelled' });
  });

  test('a forced regrade ("Re-run", "Regrade") gets a check run of its own; its retries find it', async () => {
    await app.checks.completed(target({ rubricId: 'regrade' }), report({ commit: sha, points: 20 }), {
      retriesExhausted: false,
    });
    const rerun = target({ rubricId: 'regrade', force: true, event: 'rerun', deliveryId: 'rerun-delivery-7' });
    await app.checks.queued(rerun);
    await app.checks.queued(rerun);
    await app.checks.completed(rerun, report({ commit: sha, points: 70 }), { retriesExhausted: false });
    const runs = runsFor('regrade');
    expect(runs.map((r) => [r.externalId, r.conclusion])).toEqual([
      [`codertocat/hello-world@${sha}#regrade`, 'failure'],
      [`codertocat/hello-world@${sha}#regrade!rerun-rerun-delivery-7`, 'success'],
    ]);
  });

  test('the summary stays under 65,535 characters, cut gracefully, with a link to the full report', async () => {
    const many = findings(1500, { withoutFile: 1450, messageLength: 120 });
    const big = report({ commit: sha, findings: many });
    await app.checks.completed(
      target({ rubricId: 'huge' }, { reportUrl: 'https://grader.example.edu/reports/42' }),
      big,
      { retriesExhausted: false },
    );
    const run = runsFor('huge')[0]!;
    const summary = run.output.summary!;
    expect(summary.length).toBeLessThanOrEqual(65_535);
    expect(summary.length).toBeGreaterThan(30_000);
    expect(summary).toContain('[full report](https://grader.example.edu/reports/42)');
    expect(summary).toContain('more findings');
    // Every <details> that was opened is closed, and the pass mark line survived.
    expect((summary.match(/<details/g) ?? []).length).toBe((summary.match(/<\/details>/g) ?? []).length);
    expect(summary).toContain('Pass mark: 60%');
    expect(run.annotations).toHaveLength(50);
    expect(run.detailsUrl).toBe('https://grader.example.edu/reports/42');
  });

  test('student text in findings never becomes markup or a hidden character in annotations', async () => {
    const hostile: ReportFinding = {
      checkId: 'lint/env-secret-literal',
      severity: 'error',
      message: 'env \u202eDROWSSAP\u202c has @org/team [x](javascript:alert(1)) <img src=x>\nsecond line',
      location: { file: 'k8s/deployment.yaml', line: 3, column: 5 },
      subject: 'x'.repeat(400),
      criteria: ['limits'],
    };
    await app.checks.completed(target({ rubricId: 'hostile' }), report({ commit: sha, findings: [hostile] }), {
      retriesExhausted: false,
    });
    const run = runsFor('hostile')[0]!;
    const annotation = run.annotations[0] as { title: string; message: string };
    expect(Array.from(annotation.title).length).toBeLessThanOrEqual(255);
    expect(annotation.message).not.toMatch(/[\u202a-\u202e\n]second/);
    expect(annotation.message).toContain('<U+202E>');
    // In the Markdown summary the same text is escaped: no link, no HTML, no mention.
    expect(run.output.summary).not.toContain('](javascript:');
    expect(run.output.summary).not.toContain('<img');
    expect(run.output.summary).not.toContain('@org');
  });
});

describe('the PR comment', () => {
  test('created once, then updated in place on every push, linking each finding to its line at that commit', async () => {
    const number = pullRequest.number;
    // A student pasting the marker into their own comment changes nothing.
    const fake = double.addComment(FULL_NAME, number, {
      login: pullRequest.pull_request.user.login,
      body: `<!-- labgrader:pr-comment rubric=lab-85 commit=${'f'.repeat(40)} pushed=2099-01-01T00:00:00Z -->\nfake`,
    });
    const first = report({ commit: sha, findings: findings(5) });
    const t1 = { ...target({ event: 'pull_request', pullRequest: number }), pullRequest: number };
    await app.comments.upsert(t1, first);
    await app.comments.upsert(t1, first); // a retry: nothing new
    let ours = double.commentsOn(FULL_NAME, number).filter((c) => c.appId === double.appId);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toMatch(/^<!-- labgrader:pr-comment rubric=lab-85 commit=[0-9a-f]{40} pushed=\S+ -->\n/);
    expect(ours[0]!.body).toContain(`(${double.webUrl}/${FULL_NAME}/blob/${sha}/k8s/service.yaml#L2)`);
    expect(double.commentsOn(FULL_NAME, number).find((c) => c.id === fake.id)!.body).toContain('fake');

    // The next push to the pull request: the same comment, now about the new commit.
    writeFileSync(path.join(repo.workDir, 'k8s', 'service.yaml'), 'apiVersion: v1\nkind: Service\n');
    const second = repo.commit('second');
    const later = new Date(Date.parse(job().pushedAt) + 60_000).toISOString();
    const t2 = {
      ...target({ commit: second, pushedAt: later, event: 'pull_request', pullRequest: number }),
      pullRequest: number,
    };
    await app.comments.upsert(t2, report({ commit: second, findings: findings(3) }));
    ours = double.commentsOn(FULL_NAME, number).filter((c) => c.appId === double.appId);
    expect(ours).toHaveLength(1);
    expect(ours[0]!.body).toContain(`/blob/${second}/`);
    expect(ours[0]!.body).not.toContain(`/blob/${sha}/`);

    // A late report of the older push does not overwrite the newer one.
    await app.comments.upsert(t1, first);
    expect(double.commentsOn(FULL_NAME, number).filter((c) => c.appId === double.appId)[0]!.body).toContain(
      `/blob/${second}/`,
    );
    expect(double.requestsTo('issues/create-comment')).toHaveLength(1);
    expect(double.requestsTo('issues/update-comment')).toHaveLength(1);
    // Written with a token for the comments only.
    expect(double.requestsTo('issues/create-comment')[0]!.tokenPermissions).toEqual({
      pull_requests: 'write',
      metadata: 'read',
    });
  });
});

describe('webhook deliveries', () => {
  test('lists the failed deliveries since a time (paged), each GUID once, and redelivers them', async () => {
    const t0 = now();
    const at = (s: number) => new Date(t0 + s * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    double.addDelivery({ guid: 'old', event: 'push', statusCode: 502, deliveredAt: at(-7200) });
    double.addDelivery({ guid: 'recovered', event: 'push', statusCode: 503, deliveredAt: at(10) });
    const failedTwice = double.addDelivery({
      guid: 'failed-twice',
      event: 'pull_request',
      action: 'synchronize',
      statusCode: 502,
      deliveredAt: at(20),
    });
    double.addDelivery({ guid: 'recovered', event: 'push', statusCode: 200, redelivery: true, deliveredAt: at(30) });
    for (let i = 0; i < 150; i++)
      double.addDelivery({ guid: `ok-${i}`, event: 'push', statusCode: 202, deliveredAt: at(40 + i) });
    const latestAttempt = double.addDelivery({
      guid: 'failed-twice',
      event: 'pull_request',
      action: 'synchronize',
      statusCode: 0,
      status: 'failed to connect',
      redelivery: true,
      deliveredAt: at(200),
    });
    const timedOut = double.addDelivery({
      guid: 'timed-out',
      event: 'check_run',
      statusCode: 0,
      status: 'timed out',
      deliveredAt: at(210),
    });

    const failed = await app.deliveries.failedSince(new Date(t0 - 60_000));
    expect(failed.map((d) => [d.guid, d.id])).toEqual([
      ['failed-twice', latestAttempt.id],
      ['timed-out', timedOut.id],
    ]);
    expect(failed[0]).toMatchObject({
      event: 'pull_request',
      action: 'synchronize',
      deliveredAt: failedTwice.deliveredAt,
      statusCode: 0,
    });
    const lists = double.requestsTo('apps/list-webhook-deliveries');
    expect(lists.length).toBeGreaterThanOrEqual(2); // more than one page
    expect(lists.every((r) => r.auth === 'jwt')).toBe(true);

    for (const d of failed) await app.deliveries.redeliver(d.id);
    expect(double.redelivered).toEqual([latestAttempt.id, timedOut.id]);
    expect(await app.deliveries.failedSince(new Date(t0 - 60_000))).toEqual([]);
  });
});

describe('API errors and rate limits', () => {
  test('5xx and secondary rate limits are retryable; the calls are counted with the remaining rate limit', async () => {
    const t = target({ rubricId: 'flaky' });
    double.failNext('checks/create', { status: 503, times: 3 });
    const unavailable = await expectError(app.checks.queued(t), GithubUnavailableError);
    expect(unavailable.retryable).toBe(true);
    expect(double.requestsTo('checks/create').filter((r) => r.status === 503)).toHaveLength(3); // 1 + 2 retries

    double.failNext('checks/list-for-ref', {
      status: 403,
      message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
      headers: { 'retry-after': '1' },
      times: 2,
    });
    const limited = await expectError(app.checks.queued(t), GithubUnavailableError);
    expect(limited).toMatchObject({ rateLimited: true, retryAfterSeconds: 1, retryable: true });

    await app.checks.queued(t); // GitHub is back
    expect(runsFor('flaky')).toHaveLength(1);
    const created = events.filter((e) => e.route === 'POST /repos/{owner}/{repo}/check-runs');
    expect(created.map((e) => e.status)).toEqual(expect.arrayContaining([503, 201]));
    expect(events.find((e) => e.status === 201)!.remaining).toEqual(expect.any(Number));
    expect(new Set(events.map((e) => e.route))).toEqual(
      new Set([
        'POST /app/installations/{installation_id}/access_tokens',
        'DELETE /installation/token',
        'GET /app',
        'GET /app/hook/deliveries',
        'POST /app/hook/deliveries/{delivery_id}/attempts',
        'GET /repos/{owner}/{repo}/commits/{ref}/check-runs',
        'GET /repos/{owner}/{repo}/check-runs/{check_run_id}/annotations',
        'POST /repos/{owner}/{repo}/check-runs',
        'PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}',
        'GET /repos/{owner}/{repo}/issues/{issue_number}/comments',
        'POST /repos/{owner}/{repo}/issues/{issue_number}/comments',
        'PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}',
      ]),
    );
  });

  test('an uninstalled App or a missing permission is a clear, non-retryable error; the clone falls back to anonymous', async () => {
    const uninstalled = target({ installationId: 77, rubricId: 'uninstalled' });
    const error = await expectError(app.checks.queued(uninstalled), GithubAccessError);
    expect(error).toMatchObject({ reason: 'not-found', httpStatus: 404, retryable: false });
    expect(error.message).toContain('not installed');
    expect(double.takeViolations().map((v) => [v.kind, v.status])).toEqual([['not-found', 404]]);
    expect(
      logs.some((l) => l.level === 'error' && l.message.includes('not retried') && l.fields.reason === 'not-found'),
    ).toBe(true);
    expect(await app.tokens.tokenFor(uninstalled.job, new AbortController().signal)).toBeUndefined();
    expect(double.takeViolations().map((v) => v.kind)).toEqual(['not-found']);

    // An installation that never granted pull requests: the check run works, the comment is refused clearly.
    double.addRepository({ id: 555, fullName: 'limited-org/lab', private: false });
    double.addInstallation({
      id: 78,
      account: 'limited-org',
      permissions: { checks: 'write', contents: 'read', metadata: 'read' },
      repositorySelection: 'all',
      repositoryIds: [],
    });
    double.addPullRequest('limited-org/lab', 1);
    const limited = {
      job: parseGradeJob({
        ...job({ installationId: 78 }),
        repository: { fullName: 'limited-org/lab', cloneUrl: `${double.webUrl}/limited-org/lab.git`, id: 555 },
        commit: 'a'.repeat(40),
        pullRequest: 1,
      }),
      labTitle: 'Lab 85',
      passPercent: 60,
      pullRequest: 1,
    };
    await app.checks.queued(limited);
    const refused = await expectError(
      app.comments.upsert(limited, report({ commit: 'a'.repeat(40) })),
      GithubAccessError,
    );
    expect(refused).toMatchObject({ reason: 'forbidden', retryable: false });
    expect(refused.hint).toContain('pull requests: write');
    expect(double.takeViolations().map((v) => [v.kind, v.status])).toEqual([['invalid-request', 422]]);
  });
});

test('git tests really used HTTP: the clones left no file:// shortcut', () => {
  expect(existsSync(repo.bareDir)).toBe(true);
  expect(double.gitRequests.length).toBeGreaterThan(0);
});

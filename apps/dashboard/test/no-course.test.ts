/**
 * Without a course configuration: each rubric is a lab and each repository
 * owner a student (real PostgreSQL, HTTP on loopback, OAuth through the
 * double); no queue: a regrade is a clear 503. And the configuration and
 * CSV rules that need no service.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ConfigError, silentLogger, type Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { defaultCourse } from '@labgrader/course';
import { createPostgresReportStore, type PostgresReportStore } from '@labgrader/store';
import { createAuth, createDashboardApp, loadDashboardConfig } from '../src/index.js';
import { exportRows, toCsv } from '../src/export.js';
import { streamLimiter } from '../src/api.js';
import type { Overview } from '../src/data.js';
import { TEST_DATABASE_URL, uniqueSchema } from '../../../packages/queue/test/support/services.js';
import { startGithubDouble, type GithubDouble } from '../../../test/support/github-double.js';
import { Browserless } from './support/http.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const TOKEN = 'no-course-admin-token-0123456789abcdef';
let store: PostgresReportStore;
let github: GithubDouble;
let server: Server;
let url: string;
const ids: Record<string, string> = {};
let report: Report;
/** The store's calls the statistics cost (the app's store counts them). */
const calls = { labStatistics: 0, pushTimeline: 0 };

beforeAll(async () => {
  const rubric = await loadRubric('lab-85', ROOT);
  report = await gradeSource(
    { kind: 'directory', path: path.join(ROOT, 'examples', 'lab-85-flawed-probes') },
    { rubric, skip: { cluster: 'not here' } },
    { runner: createExecaRunner(), stages: builtinStages },
  );
  store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema('nocourse') });
  await store.migrate();
  let n = 0;
  for (const [name, repository] of [
    ['alice', 'Alice/lab-85'],
    ['aliceOther', 'alice/lab-85-retry'],
    ['bob', 'bob/lab-85'],
  ] as const) {
    n += 1;
    const saved = await store.save({ repository, commit: String(n).padStart(40, '0'), rubricId: 'lab-85' }, report, {
      jobId: `job-${n}`,
      deliveryId: `d-${n}`,
      event: 'push',
      ref: 'refs/heads/main',
      pushedAt: `2026-03-01T1${n}:00:00Z`,
      attempt: 1,
    });
    ids[name] = saved.id;
  }
  github = await startGithubDouble();
  const course = defaultCourse('lab-85');
  const auth = createAuth({
    sessionSecret: 'a-session-secret-of-at-least-32-characters',
    adminToken: TOKEN,
    oauth: {
      clientId: github.oauthClientId,
      clientSecret: github.oauthClientSecret,
      webUrl: github.webUrl,
      apiUrl: github.apiUrl,
    },
    secureCookies: false,
    course,
  });
  // The store the app reads, counting the statistics' queries (the cache's test).
  const counted = new Proxy(store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (key === 'labStatistics' || key === 'pushTimeline') {
        return (...args: unknown[]) => {
          calls[key] += 1;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  const app = createDashboardApp({
    store: counted,
    course,
    auth,
    logger: silentLogger,
    githubWebUrl: github.webUrl,
  });
  server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await github?.close();
  await store?.dropSchema();
  await store?.close();
});

describe('without a course configuration', () => {
  const admin = { authorization: `Bearer ${TOKEN}` };

  it('makes the rubric the lab and each repository owner a student', async () => {
    const labs = (await (await fetch(`${url}/api/v1/labs`, { headers: admin })).json()) as { items: unknown[] };
    // Its title is the rubric's own (no course names it).
    expect(labs.items).toEqual([
      expect.objectContaining({
        id: 'lab-85',
        title: report.rubric.title,
        configured: false,
        students: 2,
        gradings: 3,
      }),
    ]);
    const page = await fetch(`${url}/labs/lab-85`, { headers: admin });
    expect(await page.text()).toContain(`<h1>${report.rubric.title}</h1>`);
    const overview = (await (await fetch(`${url}/api/v1/labs/lab-85/overview`, { headers: admin })).json()) as {
      items: { student: string; submissions: number; repository: string }[];
    };
    expect(overview.items.map((r) => [r.student, r.submissions, r.repository])).toEqual([
      ['alice', 2, 'alice/lab-85-retry'],
      ['bob', 1, 'bob/lab-85'],
    ]);
  });

  it('lets the owner see their repositories’ reports, and nobody else’s', async () => {
    github.signInAs('alice');
    const alice = new Browserless(url);
    await alice.signInWithGithub();
    expect((await alice.request(`/api/v1/gradings/${ids.alice}`)).status).toBe(200);
    expect((await alice.request(`/api/v1/gradings/${ids.aliceOther}`)).status).toBe(200);
    expect((await alice.request(`/api/v1/gradings/${ids.bob}`)).status).toBe(404);
    const mine = (await (await alice.request('/api/v1/students/alice/gradings')).json()) as { items: { id: string }[] };
    expect(mine.items.map((g) => g.id).sort()).toEqual([ids.alice, ids.aliceOther].sort());
    expect(github.violations).toEqual([]);
  });

  it('computes the statistics once per version of the lab’s gradings, and again when one is added', async () => {
    const statistics = async () =>
      (await (await fetch(`${url}/api/v1/labs/lab-85/statistics`, { headers: admin })).json()) as {
        scores: { student: string }[];
      };
    const first = await statistics();
    const before = { ...calls };
    expect((await statistics()).scores).toEqual(first.scores);
    expect((await fetch(`${url}/labs/lab-85`, { headers: admin })).status).toBe(200);
    expect(calls).toEqual(before);
    // A new student's grading: the next answer has them (the cache follows the lab's version).
    await store.save({ repository: 'carol/lab-85', commit: 'c'.repeat(40), rubricId: 'lab-85' }, report, {
      jobId: 'job-carol',
      deliveryId: 'd-carol',
      event: 'push',
      ref: 'refs/heads/main',
      pushedAt: '2026-03-01T18:00:00Z',
      attempt: 1,
    });
    expect((await statistics()).scores.map((x) => x.student)).toEqual([...first.scores.map((x) => x.student), 'carol']);
    expect(calls).toEqual({ labStatistics: before.labStatistics + 1, pushTimeline: before.pushTimeline + 1 });
  });

  it('shows the kept source lines escaped, numbered, the finding’s line marked', async () => {
    const f = report.findings.find((x) => x.location)!;
    const at = f.location!.line;
    const saved = await store.save(
      { repository: 'dan/lab-85', commit: 'd'.repeat(40), rubricId: 'lab-85' },
      report,
      {
        jobId: 'job-dan',
        deliveryId: 'd-dan',
        event: 'push',
        ref: 'refs/heads/main',
        pushedAt: '2026-03-01T19:00:00Z',
        attempt: 1,
      },
      {
        excerpts: {
          version: 1,
          excerpts: [
            {
              file: f.location!.file,
              startLine: at - 1,
              lines: ['before: 1', '<script>alert(1)</script> & "x"', 'after: 2'],
            },
          ],
          omitted: 0,
        },
      },
    );
    const page = await (await fetch(`${url}/gradings/${saved.id}`, { headers: admin })).text();
    expect(page).not.toContain('<script>alert(1)</script>');
    expect(page).toContain(
      `<span class="hit" aria-current="true"><span class="ln" aria-hidden="true">${at}</span>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;x&quot;</span>`,
    );
    expect(page).toContain(`<span class="ln" aria-hidden="true">${at - 1}</span>before: 1</span>\n<span class="hit"`);
  });

  it('answers a regrade with 503 when there is no queue', async () => {
    const res = await fetch(`${url}/api/v1/gradings/${ids.bob}/regrade`, { method: 'POST', headers: admin });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: string }).error).toMatch(/grade queue/);
  });
});

describe('configuration and CSV', () => {
  const env = {
    DATABASE_URL: 'postgres://u:p@db:5432/labgrader',
    DASHBOARD_SESSION_SECRET: 's'.repeat(32),
    LABGRADER_ADMIN_TOKEN: 't'.repeat(24),
  };

  it('reads the environment and names what is wrong without echoing secrets', () => {
    expect(loadDashboardConfig(env)).toMatchObject({
      port: 3001,
      adminToken: 't'.repeat(24),
      githubWebUrl: 'https://github.com',
    });
    const noWay = () => loadDashboardConfig({ ...env, LABGRADER_ADMIN_TOKEN: undefined });
    expect(noWay).toThrow(ConfigError);
    expect(noWay).toThrow(/nobody could sign in/);
    const half = () => loadDashboardConfig({ ...env, GITHUB_CLIENT_ID: 'Iv1.abc' });
    expect(half).toThrow(/set both or neither/);
    const short = () => loadDashboardConfig({ ...env, DASHBOARD_SESSION_SECRET: 'short-secret-value' });
    expect(short).toThrow(/DASHBOARD_SESSION_SECRET/);
    expect(short).not.toThrow(/short-secret-value/);
  });

  it('counts live-update streams per session and per address, and frees a slot when a stream closes', () => {
    const limiter = streamLimiter({ perSession: 2, perAddress: 3 });
    const ann = { login: 'ann', role: 'student' as const, via: 'session' as const, csrf: 'a' };
    const ben = { login: 'ben', role: 'student' as const, via: 'session' as const, csrf: 'b' };
    const first = limiter.open(ann, '10.0.0.1');
    const second = limiter.open(ann, '10.0.0.1');
    expect([first.ok, second.ok]).toEqual([true, true]);
    expect(limiter.open(ann, '10.0.0.2')).toMatchObject({ ok: false, reason: expect.stringMatching(/this session/) });
    expect(limiter.open(ben, '10.0.0.1').ok).toBe(true);
    expect(limiter.open(ben, '10.0.0.1')).toMatchObject({ ok: false, reason: expect.stringMatching(/this address/) });
    if (first.ok) {
      first.release();
      first.release(); // twice (close and error) frees one slot
    }
    expect(limiter.counts.sessions.get('session:ann:a')).toBe(1);
    expect(limiter.open(ann, '10.0.0.1').ok).toBe(true);
    expect(limiter.counts.addresses.get('10.0.0.1')).toBe(3);
  });

  it('quotes CSV cells and defuses formulas', () => {
    const overview = {
      lab: { id: 'lab-85', title: 'Lab', configured: true, students: 1, gradings: 1 },
      criteria: [{ id: 'docs' }],
      rows: [
        {
          student: '=cmd|calc',
          repository: 'org/"quoted", repo',
          gradingId: '1',
          latestGradingId: '1',
          status: 'graded',
          points: 3,
          maxPoints: 5,
          percent: 60,
          criteria: [{ id: 'docs', points: 3, maxPoints: 5, status: 'partial' }],
          findings: 0,
          deadline: null,
          late: false,
          latestNotAccepted: false,
          submissions: 1,
          gradings: 1,
          pushedAt: '2026-03-01T00:00:00.000Z',
          gradedAt: '2026-03-01T00:00:00.000Z',
          commit: 'a'.repeat(40),
        },
      ],
    } as Overview;
    const csv = toCsv(overview, exportRows(overview, defaultCourse('lab-85')));
    const line = csv.split('\r\n')[1]!;
    expect(line.startsWith("'=cmd|calc,,,,3,3,5,60,no,,2026-03-01T00:00:00.000Z,")).toBe(true);
    expect(line).toContain('"org/""quoted"", repo"');
  });
});

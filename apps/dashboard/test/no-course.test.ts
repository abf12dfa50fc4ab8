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
import { ConfigError, silentLogger } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { defaultCourse } from '@labgrader/course';
import { createPostgresReportStore, type PostgresReportStore } from '@labgrader/store';
import { createAuth, createDashboardApp, loadDashboardConfig } from '../src/index.js';
import { exportRows, toCsv } from '../src/export.js';
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

beforeAll(async () => {
  const rubric = await loadRubric('lab-85', ROOT);
  const report = await gradeSource(
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
  const app = createDashboardApp({ store, course, auth, logger: silentLogger, githubWebUrl: github.webUrl });
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
    expect(labs.items).toEqual([
      expect.objectContaining({ id: 'lab-85', configured: false, students: 2, gradings: 3 }),
    ]);
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

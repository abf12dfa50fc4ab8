/* eslint-disable @typescript-eslint/no-explicit-any -- tests read the API's JSON answers freely */
/**
 * The read API over real PostgreSQL, Redis and HTTP on loopback: every answer
 * checked against the served OpenAPI document; paging, sorting, filters and
 * clear 4xx answers; exports; who may see what (admin token, GitHub OAuth
 * through the double, a student's 404 for another's report, CSRF); a regrade
 * through the queue, watched over server-sent events until it is stored.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { OpenAPIBackend, type Document } from 'openapi-backend';
import addFormats from 'ajv-formats';
import { ADMIN_TOKEN, startDashboardService, type DashboardService } from './support/service.js';
import { Browserless } from './support/http.js';
import { parseCsv } from './support/csv.js';

let service: DashboardService;
let api: OpenAPIBackend;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

beforeAll(async () => {
  service = await startDashboardService();
  const document = (await (await fetch(`${service.url}/api/v1/openapi.json`)).json()) as Document;
  api = new OpenAPIBackend({
    definition: document,
    strict: true,
    validate: true,
    quick: false,
    // Formats (date-time) checked too, not ignored.
    customizeAjv: (ajv) => {
      addFormats.default(ajv as never);
      return ajv;
    },
  });
  await api.init();
}, 120_000);

afterAll(async () => {
  await service?.close();
});

afterEach(() => {
  expect(service.github.violations).toEqual([]);
});

/** GET or POST, and check the JSON answer against the document's schema for that operation and status. */
async function call(
  path: string,
  init: RequestInit = {},
  client?: Browserless,
): Promise<{ status: number; body: any; headers: Headers }> {
  const res = client ? await client.request(`/api/v1${path}`, init) : await fetch(`${service.url}/api/v1${path}`, init);
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  const operation = api.matchOperation({ method: init.method ?? 'GET', path: path.split('?')[0]!, headers: {} });
  expect(operation).toBeDefined();
  if (type.includes('application/json')) {
    const check = api.validateResponse(body, operation!, res.status);
    if (!check.valid)
      throw new Error(`${path} ${res.status} does not match the document: ${JSON.stringify(check.errors)}`);
  }
  const documented = Object.keys(operation!.responses ?? {});
  expect(documented).toContain(String(res.status));
  return { status: res.status, body, headers: res.headers };
}

describe('the OpenAPI document', () => {
  it('is a valid OpenAPI 3.0 document naming every route', () => {
    // api.init() with validate: true threw if the document were invalid.
    const paths = Object.keys((api.definition as { paths: object }).paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/labs/{lab}/overview',
        '/gradings/{id}',
        '/gradings/{id}/report.sarif',
        '/students/{student}/diff',
      ]),
    );
  });
});

describe('who asks', () => {
  it('needs a session or the admin token', async () => {
    expect((await call('/labs')).status).toBe(401);
    expect(
      (await call('/labs', { headers: { authorization: 'Bearer wrong-token-of-the-same-length-0123456' } })).status,
    ).toBe(401);
    expect((await call('/me', { headers: admin })).body).toEqual({ login: 'admin', role: 'instructor', via: 'token' });
  });

  it('a student signed in with GitHub sees only their own gradings: another student’s is 404', async () => {
    service.github.signInAs('Alice');
    const alice = new Browserless(service.url);
    const landed = await alice.signInWithGithub('/');
    expect(landed.status).toBe(200);
    expect((await call('/me', {}, alice)).body).toMatchObject({ login: 'alice', role: 'student', via: 'session' });
    expect((await call(`/gradings/${service.ids.alice2}`, {}, alice)).status).toBe(200);
    expect((await call(`/gradings/${service.ids.bob1}`, {}, alice)).status).toBe(404);
    expect((await call(`/gradings/${service.ids.bob1}/report.sarif`, {}, alice)).status).toBe(404);
    expect((await call('/students/bob/gradings', {}, alice)).status).toBe(404);
    expect((await call('/labs/lab-85/overview', {}, alice)).status).toBe(403);
    expect((await call('/labs/lab-85/grades.csv', {}, alice)).status).toBe(403);
    const mine = await call('/students/alice/gradings', {}, alice);
    expect(mine.body.items.map((g: { id: string }) => g.id)).toEqual([service.ids.alice2, service.ids.alice1]);
    // No token leaves the dashboard's own cookie jar: the GitHub user token is not in any cookie.
    for (const [, value] of alice.cookies) {
      for (const token of service.github.userTokens.keys()) expect(value).not.toContain(token);
    }
  });

  it('refuses a POST without the session’s CSRF token, and a student’s regrade', async () => {
    service.github.signInAs('alice');
    const alice = new Browserless(service.url);
    await alice.signInWithGithub();
    const csrf = (await call('/me', {}, alice)).body.csrf as string;
    expect((await call(`/gradings/${service.ids.alice2}/regrade`, { method: 'POST' }, alice)).status).toBe(403);
    expect(
      (
        await call(
          `/gradings/${service.ids.alice2}/regrade`,
          { method: 'POST', headers: { 'x-csrf-token': csrf } },
          alice,
        )
      ).status,
    ).toBe(403);
  });

  it('a member of an instructors team (course-org/teaching-assistants) is an instructor; GitHub is asked with read:org', async () => {
    service.github.addTeamMember('course-org', 'teaching-assistants', 'ta-1');
    service.github.signInAs('ta-1');
    const ta = new Browserless(service.url);
    await ta.signInWithGithub();
    expect((await call('/me', {}, ta)).body).toMatchObject({ login: 'ta-1', role: 'instructor' });
    expect((await call('/labs/lab-85/overview', {}, ta)).status).toBe(200);
    const teamCalls = service.github.requests.filter((r) => r.operationId === 'teams/list-for-authenticated-user');
    expect(teamCalls.at(-1)).toMatchObject({ status: 200, auth: 'user' });
    const authorize = service.github.requests.filter((r) => r.operationId === 'oauth/login/oauth/authorize');
    expect(authorize.at(-1)?.query.scope).toBe('read:org');
  });

  it('a forged OAuth callback (state not ours) does not sign in', async () => {
    const client = new Browserless(service.url);
    const res = await client.request('/auth/github/callback?code=abc&state=forged');
    expect(res.status).toBe(400);
    expect(client.cookies.has('lg_session')).toBe(false);
  });
});

describe('reading', () => {
  it('lists labs with counts from the course configuration and the store', async () => {
    const { status, body } = await call('/labs', { headers: admin });
    expect(status).toBe(200);
    expect(body.items).toEqual([
      expect.objectContaining({
        id: 'lab-85',
        configured: true,
        students: 3,
        gradings: 4,
        deadline: '2026-03-02T00:00:00.000Z',
      }),
    ]);
  });

  it('pages, sorts, filters and searches the overview', async () => {
    const all = await call('/labs/lab-85/overview', { headers: admin });
    expect(all.body.total).toBe(3);
    expect(all.body.items.map((r: any) => r.student)).toEqual(['alice', 'bob', 'carol']);
    const alice = all.body.items[0];
    expect(alice).toMatchObject({ name: 'Alice Martin', gradingId: service.ids.alice2, submissions: 2, late: false });
    expect(alice.percent).toBe(service.reports.passing.score.percent);
    expect(all.body.criteria.map((c: any) => c.id)).toEqual(service.reports.passing.criteria.map((c) => c.id));
    expect(all.body.items[1]).toMatchObject({ student: 'bob', late: true, deadline: 'late' });

    const byScore = await call('/labs/lab-85/overview?sort=percent&order=asc&limit=2', { headers: admin });
    expect(byScore.body.items.map((r: any) => r.student)).toEqual(['bob', 'alice']);
    expect(byScore.body.nextCursor).toBe('2');
    const next = await call(`/labs/lab-85/overview?sort=percent&order=asc&limit=2&cursor=${byScore.body.nextCursor}`, {
      headers: admin,
    });
    expect(next.body.items.map((r: any) => r.student)).toEqual(['carol']);
    expect(next.body.nextCursor).toBeUndefined();

    expect(
      (await call('/labs/lab-85/overview?late=true', { headers: admin })).body.items.map((r: any) => r.student),
    ).toEqual(['bob']);
    expect(
      (await call('/labs/lab-85/overview?q=MARTIN', { headers: admin })).body.items.map((r: any) => r.student),
    ).toEqual(['alice']);
  });

  it('answers bad ids and oversized or unknown queries with a 400 that says what is wrong', async () => {
    const tooMany = await call('/labs/lab-85/overview?limit=501', { headers: admin });
    expect(tooMany.status).toBe(400);
    expect(tooMany.body.problems).toEqual(['query limit: at most 500 rows a page']);
    const unknown = await call('/labs/lab-85/overview?sortt=percent', { headers: admin });
    expect(unknown.status).toBe(400);
    expect(unknown.body.problems[0]).toMatch(/sortt/);
    expect((await call('/labs/lab-85/overview?sort=evil', { headers: admin })).status).toBe(400);
    expect((await call('/labs/Bad..Lab/overview', { headers: admin })).status).toBe(400);
    expect((await call('/labs/lab-99/overview', { headers: admin })).status).toBe(404);
    expect((await call('/gradings/0', { headers: admin })).body.problems).toEqual([
      'path id: must be a grading id (a positive integer)',
    ]);
    expect((await call('/gradings/999999999', { headers: admin })).status).toBe(404);
    expect((await call(`/labs/lab-85/overview?q=${'x'.repeat(101)}`, { headers: admin })).status).toBe(400);
  });

  it('gives a grading with its report and regrade history, as JSON and SARIF', async () => {
    const { body } = await call(`/gradings/${service.ids.alice1}`, { headers: admin });
    expect(body.grading).toMatchObject({ id: service.ids.alice1, student: 'alice', commit: service.commits.alice1 });
    expect(body.report.findings.length).toBe(service.reports.flawed.findings.length);
    // The source lines the worker kept around each located finding.
    expect(body.excerpts.omitted).toBe(0);
    for (const f of body.report.findings.filter((x: any) => x.location)) {
      expect(
        body.excerpts.excerpts.some(
          (e: any) =>
            e.file === f.location.file &&
            f.location.line >= e.startLine &&
            f.location.line < e.startLine + e.lines.length,
        ),
      ).toBe(true);
    }
    // A grading stored without excerpts (as before they were kept) says so.
    expect((await call(`/gradings/${service.ids.carol1}`, { headers: admin })).body.excerpts).toBeNull();
    expect(body.regrades.map((g: any) => g.id)).toEqual([service.ids.alice1]);
    const json = await call(`/gradings/${service.ids.alice1}/report.json`, { headers: admin });
    expect(json.body).toEqual(service.reports.flawed);
    const sarif = await fetch(`${service.url}/api/v1/gradings/${service.ids.alice1}/report.sarif`, { headers: admin });
    expect(sarif.headers.get('content-type')).toMatch(/application\/sarif\+json/);
    const log = (await sarif.json()) as { version: string; runs: { results: unknown[] }[] };
    expect(log.version).toBe('2.1.0');
    expect(log.runs[0]!.results.length).toBe(service.reports.flawed.findings.length);
  });

  it('says what changed between two of a student’s gradings', async () => {
    const { body } = await call(`/students/alice/diff?from=${service.ids.alice1}&to=${service.ids.alice2}`, {
      headers: admin,
    });
    expect(body.from.id).toBe(service.ids.alice1);
    const flawedChecks = new Set(service.reports.flawed.findings.map((f) => f.checkId));
    expect(body.fixed.length).toBeGreaterThan(0);
    for (const f of body.fixed) expect(flawedChecks.has(f.checkId)).toBe(true);
    expect(body.fixed.length + body.unchanged).toBe(service.reports.flawed.findings.length);
    expect(body.added.length + body.unchanged).toBe(service.reports.passing.findings.length);
    expect(
      (await call(`/students/bob/diff?from=${service.ids.alice1}&to=${service.ids.alice2}`, { headers: admin })).status,
    ).toBe(400);
  });

  it('exports the lab as CSV (one row per student, roster names, criteria, late flag) and JSON', async () => {
    const res = await fetch(`${service.url}/api/v1/labs/lab-85/grades.csv`, { headers: admin });
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="lab-85-grades.csv"');
    const lines = (await res.text()).trimEnd().split('\r\n');
    const header = lines[0]!.split(',');
    expect(header.slice(0, 4)).toEqual(['github_login', 'name', 'email', 'student_id']);
    expect(header).toEqual(expect.arrayContaining(service.reports.passing.criteria.map((c) => `criterion:${c.id}`)));
    expect(lines).toHaveLength(4);
    const row = (login: string) =>
      Object.fromEntries(
        lines
          .find((l) => l.startsWith(`${login},`))!
          .split(',')
          .map((v, i) => [header[i], v]),
      );
    expect(row('alice')).toMatchObject({
      name: 'Alice Martin',
      email: 'alice@example.edu',
      student_id: '2027001',
      total: String(service.reports.passing.score.points),
      late: 'no',
      commit: service.commits.alice2,
      submitted_at: '2026-03-01T20:40:00.000Z',
    });
    expect(row('bob')).toMatchObject({ name: 'Bob Durand', late: 'yes', deadline_status: 'late' });
    const json = await call('/labs/lab-85/grades.json', { headers: admin });
    expect(json.body.rows).toHaveLength(3);
  });

  it('exports the lab for Canvas’s gradebook import: its columns, a Points Possible row, one column for the lab', async () => {
    const res = await fetch(`${service.url}/api/v1/labs/lab-85/grades.csv?format=canvas`, { headers: admin });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe('attachment; filename="lab-85-grades-canvas.csv"');
    const [header, possible, ...rows] = parseCsv(await res.text());
    expect(header).toEqual([
      'Student',
      'ID',
      'SIS User ID',
      'SIS Login ID',
      'Section',
      'Lab 85: production Kubernetes',
    ]);
    expect(possible).toEqual(['Points Possible', '', '', '', '', String(service.reports.passing.score.maxPoints)]);
    expect(rows).toEqual([
      ['Alice Martin', '', '2027001', 'alice@example.edu', '', String(service.reports.passing.score.points)],
      ['Bob Durand', '', '', '', '', String(service.reports.flawed.score.points)],
      ['carol', '', '', '', '', String(service.reports.passing.score.points)],
    ]);
    // An assignment that exists in Canvas: its id in the column's name.
    const existing = await fetch(`${service.url}/api/v1/labs/lab-85/grades.csv?format=canvas&canvasAssignment=4711`, {
      headers: admin,
    });
    expect(parseCsv(await existing.text())[0]![5]).toBe('Lab 85: production Kubernetes (4711)');
    const bad = await call('/labs/lab-85/grades.csv?format=excel', { headers: admin });
    expect(bad.status).toBe(400);
    const stray = await call('/labs/lab-85/grades.csv?canvasAssignment=4711', { headers: admin });
    expect(stray.body.problems).toEqual(['query canvasAssignment: canvasAssignment goes with format=canvas']);
  });

  it('caps the live-update streams of one session with a clear 429', async () => {
    const controllers = Array.from({ length: 6 }, () => new AbortController());
    const open = await Promise.all(
      controllers.map((c) => fetch(`${service.url}/api/v1/events`, { headers: admin, signal: c.signal })),
    );
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    const refused = await call('/events', { headers: admin });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('10');
    expect(refused.body.error).toMatch(/too many live-update streams for this session \(at most 6/);
    for (const c of controllers) c.abort();
  });

  it('serves the charts’ statistics', async () => {
    const { body } = await call('/labs/lab-85/statistics', { headers: admin });
    expect(body.scores).toHaveLength(3);
    // Carol's drills (the cluster checks' evidence): the pod-kill recovery time.
    expect(body.recoveries).toEqual([{ drill: 'pod-kill', seconds: 8.4, gradingId: service.ids.carol1 }]);
    expect(body.pushes.reduce((s: number, p: any) => s + p.pushes, 0)).toBe(4);
    expect(body.pushes.reduce((s: number, p: any) => s + p.late, 0)).toBe(1);
    expect(body.checks.length).toBeGreaterThan(0);
  });
});

describe('regrading', () => {
  it('an instructor (GitHub sign-in) regrades a commit through the queue and watches it live', async () => {
    service.github.signInAs('prof-martin');
    const prof = new Browserless(service.url);
    await prof.signInWithGithub();
    const me = await call('/me', {}, prof);
    expect(me.body).toMatchObject({ login: 'prof-martin', role: 'instructor' });

    // Listen before asking.
    const controller = new AbortController();
    const events: any[] = [];
    const stream = await prof.request('/api/v1/events?lab=lab-85', { signal: controller.signal });
    expect(stream.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = stream.body!.getReader();
    const done = (async () => {
      let buffer = '';
      for (;;) {
        const { value, done: ended } = await reader.read();
        if (ended) return;
        buffer += new TextDecoder().decode(value);
        let cut;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (data) {
            const event = JSON.parse(data);
            events.push(event);
            if (event.state === 'graded') return;
          }
        }
      }
    })();

    const asked = await call(
      `/gradings/${service.ids.alice2}/regrade`,
      { method: 'POST', headers: { 'x-csrf-token': me.body.csrf } },
      prof,
    );
    expect(asked.status).toBe(202);
    const jobId = asked.body.items[0].jobId as string;
    expect(asked.body.items[0]).toMatchObject({ gradingId: service.ids.alice2, status: 'queued' });
    await done;
    controller.abort();
    const states = events.filter((e) => e.jobId === jobId).map((e) => (e.stage ? `${e.state}: ${e.stage}` : e.state));
    // What the real worker publishes: started, each stage that runs, finished.
    expect(states[0]).toBe('queued');
    expect(states.at(-1)).toBe('graded');
    expect(states).toEqual(
      expect.arrayContaining(['grading', 'grading: fetch', 'grading: lint', 'grading: docs', 'grading: score']),
    );
    expect(states.some((t) => /^grading: fetch: cloning file:\/\/.*course-org\/lab-85-alice\.git/.test(t))).toBe(true);
    expect(events.every((e) => e.student === 'alice' && e.lab === 'lab-85')).toBe(true);

    const history = await call(`/gradings/${service.ids.alice2}`, { headers: admin });
    expect(history.body.regrades.map((g: any) => [g.gradeCount, g.event, g.reason ?? null])).toEqual([
      [1, 'push', null],
      [2, 'regrade', 'Regrade requested by prof-martin on the dashboard'],
    ]);
    const job = await service.producer.queue.getJob(jobId);
    expect(job?.data).toMatchObject({
      event: 'regrade',
      force: true,
      requestedBy: 'prof-martin',
      student: 'alice',
      commit: service.commits.alice2,
    });
  });

  it('regrades the latest push of every student of a lab with the admin token (no CSRF for Bearer)', async () => {
    const asked = await call('/labs/lab-85/regrade', { method: 'POST', headers: admin });
    expect(asked.status).toBe(202);
    expect(asked.body.items).toHaveLength(3);
    const jobs = asked.body.items.map((i: any) => i.jobId as string);
    const results = await Promise.all(jobs.map((id: string) => service.finished(id)));
    expect(results.map((r: any) => r.outcome)).toEqual(['graded', 'graded', 'graded']);
    expect(service.graded).toEqual(expect.arrayContaining(jobs));
    const overview = await call('/labs/lab-85/overview', { headers: admin });
    expect(overview.body.items.map((r: any) => r.gradings)).toEqual([4, 2, 2]);
  });
});

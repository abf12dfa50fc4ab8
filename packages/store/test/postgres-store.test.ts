import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { InfrastructureError, UsageError, type Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { createPostgresReportStore, type GradeMetadata, type PostgresReportStore } from '@labgrader/store';
import { TEST_DATABASE_URL, uniqueSchema } from '../../queue/test/support/services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHA = (n: number) => String(n).padStart(40, '0');

let jobs = 0;
function meta(overrides: Partial<GradeMetadata> = {}): GradeMetadata {
  jobs += 1;
  return {
    jobId: `job-${jobs}`,
    deliveryId: 'delivery-1',
    event: 'push',
    ref: 'refs/heads/main',
    author: 'student-a',
    pushedAt: '2026-03-01T10:00:00.000Z',
    attempt: 1,
    ...overrides,
  };
}

let store: PostgresReportStore;
let graded: Report;
let notGradable: Report;

beforeAll(async () => {
  store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema('store') });
  const rubric = await loadRubric('lab-85', ROOT);
  const deps = { runner: createExecaRunner(), stages: builtinStages };
  graded = await gradeSource(
    { kind: 'directory', path: path.join(ROOT, 'examples/lab-85-passing') },
    { rubric, skip: { cluster: 'not in store tests' } },
    deps,
  );
  notGradable = await gradeSource(
    { kind: 'directory', path: path.join(ROOT, 'examples/lab-85-no-manifests') },
    { rubric, skip: { cluster: 'not in store tests' } },
    deps,
  );
});

afterAll(async () => {
  await store.dropSchema();
  const check = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await check.connect();
  const { rowCount } = await check.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [
    store.schema,
  ]);
  await check.end();
  await store.close();
  expect(rowCount).toBe(0);
});

describe('PostgreSQL report store', () => {
  it('uses real reports from the pipeline', () => {
    expect(graded.status).toBe('graded');
    expect(graded.score.percent).toBe(100);
    expect(notGradable.status).toBe('not-gradable');
  });

  it('migrates once, even when two processes migrate at the same time', async () => {
    const twin = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: store.schema });
    const results = await Promise.all([store.migrate(), twin.migrate()]);
    await twin.close();
    expect(results.map((r) => r.applied).flat()).toEqual([1, 2, 3, 4]);
    expect((await store.migrate()).applied).toEqual([]);
  });

  it('saves a report and reads it back by key, case-insensitively', async () => {
    const key = { repository: 'Course-Org/Lab85-Alice', commit: SHA(1), rubricId: 'lab-85' };
    const saved = await store.save(key, graded, meta({ author: 'alice' }));
    expect(saved).toMatchObject({
      repository: 'Course-Org/Lab85-Alice',
      owner: 'course-org',
      commit: SHA(1),
      rubricId: 'lab-85',
      rubricDigest: graded.rubric.digest,
      status: 'graded',
      points: graded.score.points,
      maxPoints: graded.score.maxPoints,
      percent: 100,
      author: 'alice',
      pushedAt: '2026-03-01T10:00:00.000Z',
      gradeCount: 1,
    });
    const read = await store.get({ ...key, repository: 'course-org/lab85-alice' });
    expect(read?.id).toBe(saved.id);
    expect(read?.report).toEqual(graded);
    expect(read?.meta).toEqual(saved.meta);
    expect(read).toMatchObject({
      labId: 'lab-85',
      student: 'course-org/lab85-alice',
      event: 'push',
      clusterRan: false,
    });
    expect(await store.get({ ...key, rubricId: 'production-readiness' })).toBeUndefined();
  });

  it('a regrade adds a grading: both scores are kept, the first push time and the author too', async () => {
    const key = { repository: 'course-org/lab85-bob', commit: SHA(2), rubricId: 'lab-85' };
    const first = await store.save(key, notGradable, meta({ author: 'bob', pushedAt: '2026-03-02T09:00:00.000Z' }));
    const again = await store.save(
      key,
      graded,
      meta({
        event: 'regrade',
        author: undefined,
        jobId: 'job-regrade',
        reason: 'Regrade requested by ta-1',
        pushedAt: '2026-03-05T09:00:00.000Z',
        attempt: 2,
      }),
    );
    expect(again.id).not.toBe(first.id);
    expect(again).toMatchObject({
      gradeCount: 2,
      status: 'graded',
      author: 'bob',
      pushedAt: '2026-03-02T09:00:00.000Z',
      event: 'regrade',
      reason: 'Regrade requested by ta-1',
      firstGradedAt: first.firstGradedAt,
    });
    expect(again.notGradableReason).toBeUndefined();
    expect((await store.get(key))?.id).toBe(again.id);
    const history = await store.history({ student: 'Course-Org/Lab85-Bob', labId: 'lab-85' });
    expect(history.map((h) => [h.status, h.points, h.reason ?? null, h.gradeCount])).toEqual([
      ['graded', graded.score.points, 'Regrade requested by ta-1', 2],
      ['not-gradable', notGradable.score.points, null, 1],
    ]);
    // The same job publishing again (a retried job) replaces its own row, not a third grading.
    const retried = await store.save(key, graded, { ...again.meta, attempt: 3 });
    expect(retried).toMatchObject({ id: again.id, gradeCount: 2 });
    expect(await store.history({ student: 'course-org/lab85-bob' })).toHaveLength(2);
  });

  it('records why a report is not gradable', async () => {
    const saved = await store.save(
      { repository: 'course-org/lab85-carol', commit: SHA(3), rubricId: 'lab-85' },
      notGradable,
      meta({ author: 'carol', pushedAt: '2026-03-03T08:00:00.000Z' }),
    );
    expect(saved.status).toBe('not-gradable');
    expect(saved.notGradableReason).toBe('no-manifests');
  });

  it('latest() is the most recently pushed report of a repository', async () => {
    const repo = 'course-org/lab85-dave';
    await store.save(
      { repository: repo, commit: SHA(10), rubricId: 'lab-85' },
      graded,
      meta({ pushedAt: '2026-03-04T10:00:00Z' }),
    );
    await store.save(
      { repository: repo, commit: SHA(11), rubricId: 'lab-85' },
      notGradable,
      meta({ pushedAt: '2026-03-04T12:00:00Z' }),
    );
    // Graded later, pushed earlier: not the latest.
    await store.save(
      { repository: repo, commit: SHA(12), rubricId: 'lab-85' },
      graded,
      meta({ pushedAt: '2026-03-04T11:00:00Z' }),
    );
    expect((await store.latest('Course-Org/Lab85-Dave'))?.commit).toBe(SHA(11));
    expect((await store.latest(repo, { rubricId: 'production-readiness' }))?.commit).toBeUndefined();
    expect(await store.latest('course-org/nobody')).toBeUndefined();
  });

  it('lists the gradings of a course page by page, newest push first, without repeating or skipping', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await store.list({ owner: 'COURSE-ORG', limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.items.map((i) => `${i.repository}@${i.commit.slice(-2)}`));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor);
    expect(seen).toEqual([
      'course-org/lab85-dave@11',
      'course-org/lab85-dave@12',
      'course-org/lab85-dave@10',
      'course-org/lab85-carol@03',
      'course-org/lab85-bob@02', // the regrade…
      'course-org/lab85-bob@02', // …and the first grading
      'Course-Org/Lab85-Alice@01',
    ]);
    expect(pages).toBe(4);
  });

  it('lists the latest report per repository (the dashboard and CSV view) and filters by status', async () => {
    const latest = await store.list({ owner: 'course-org', rubricId: 'lab-85', latestPerRepository: true });
    expect(latest.items.map((i) => [i.repository.toLowerCase(), i.commit.slice(-2)])).toEqual([
      ['course-org/lab85-dave', '11'],
      ['course-org/lab85-carol', '03'],
      ['course-org/lab85-bob', '02'],
      ['course-org/lab85-alice', '01'],
    ]);
    expect(latest.nextCursor).toBeUndefined();
    const failing = await store.list({ owner: 'course-org', status: 'not-gradable' });
    expect(failing.items.map((i) => i.commit.slice(-2))).toEqual(['11', '03', '02']);
    expect(await store.list({ owner: 'another-course' })).toEqual({ items: [] });
  });

  it('rejects bad cursors, limits, schema names, and reports that do not match their key', async () => {
    await expect(store.list({ cursor: 'garbage' })).rejects.toThrow(UsageError);
    await expect(store.list({ limit: 0 })).rejects.toThrow(/limit: must be an integer from 1 to 500/);
    expect(() => createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: 'x"; drop' })).toThrow(
      /schema: .* is not a valid schema name/,
    );
    await expect(
      store.save({ repository: 'course-org/x', commit: SHA(99), rubricId: 'production-readiness' }, graded, meta()),
    ).rejects.toThrow(/report is for rubric 'lab-85'/);
    const broken = { ...graded, score: { ...graded.score, percent: 250 } };
    await expect(
      store.save({ repository: 'course-org/x', commit: SHA(99), rubricId: 'lab-85' }, broken, meta()),
    ).rejects.toThrow(/refusing to store an invalid report/);
  });

  it('turns an unreachable database into a retryable InfrastructureError', async () => {
    const down = createPostgresReportStore({ connectionString: 'postgres://postgres@127.0.0.1:1/test', schema: 'x' });
    await expect(down.get({ repository: 'a/b', commit: SHA(1), rubricId: 'lab-85' })).rejects.toThrow(
      InfrastructureError,
    );
    expect(await down.ping()).toBe(false);
    await down.close();
  });
});

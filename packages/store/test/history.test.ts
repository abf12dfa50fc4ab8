/**
 * The dashboard's queries on real PostgreSQL: latest per student × lab, one
 * student's history with regrades, a lab's submissions, the cluster budget's
 * count; the v1 → v2 migration keeping existing reports; and the plans at
 * course scale (500 students × 20 submissions).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { MIGRATIONS, createPostgresReportStore, type GradeMetadata, type PostgresReportStore } from '@labgrader/store';
import { TEST_DATABASE_URL, uniqueSchema } from '../../queue/test/support/services.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SHA = (n: number) => n.toString(16).padStart(40, '0');

let graded: Report;
let withCluster: Report;
const stores: PostgresReportStore[] = [];
let client: pg.Client;
let n = 0;

function meta(overrides: Partial<GradeMetadata> = {}): GradeMetadata {
  n += 1;
  return {
    jobId: `job-${n}`,
    deliveryId: `delivery-${n}`,
    event: 'push',
    ref: 'refs/heads/main',
    pushedAt: '2026-03-01T10:00:00.000Z',
    attempt: 1,
    ...overrides,
  };
}

async function newStore(label: string): Promise<PostgresReportStore> {
  const store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema(label) });
  stores.push(store);
  return store;
}

beforeAll(async () => {
  const rubric = await loadRubric('lab-85', ROOT);
  graded = await gradeSource(
    { kind: 'directory', path: path.join(ROOT, 'examples/lab-85-passing') },
    { rubric, skip: { cluster: 'not in store tests' } },
    { runner: createExecaRunner(), stages: builtinStages },
  );
  // The same report as if the cluster stage had run (for the budget's count).
  withCluster = {
    ...graded,
    stages: graded.stages.map((st) => (st.name === 'cluster' ? { ...st, status: 'ok', message: undefined } : st)),
  } as Report;
  delete (withCluster.stages.find((st) => st.name === 'cluster') as { message?: string }).message;
  client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
});

afterAll(async () => {
  for (const store of stores) {
    await store.dropSchema();
    await store.close();
  }
  await client.end();
});

describe('history queries', () => {
  it('latest per student × lab, history with regrades, submissions, cluster runs', async () => {
    const store = await newStore('hist');
    await store.migrate();
    const lab85 = { id: 'lab-85', title: 'Lab 85' };
    const save = (repo: string, commit: number, pushedAt: string, extra: Partial<GradeMetadata> = {}, r = graded) =>
      store.save(
        { repository: `course-org/${repo}`, commit: SHA(commit), rubricId: 'lab-85', labId: 'lab-85' },
        r,
        meta({ pushedAt, lab: lab85, student: repo.replace('lab85-', ''), ...extra }),
      );
    await save('lab85-alice', 1, '2026-03-01T10:00:00Z');
    await save(
      'lab85-alice',
      2,
      '2026-03-02T10:00:00Z',
      { deadline: { status: 'late', deadline: '2026-03-01T23:59:00Z' } },
      withCluster,
    );
    await save('lab85-bob', 3, '2026-03-01T11:00:00Z', {}, withCluster);
    const regrade = await save('lab85-bob', 3, '2026-03-01T11:00:00Z', {
      event: 'regrade',
      reason: 'Regrade requested by ta-1',
    });
    // Another lab: never mixed in.
    await store.save(
      { repository: 'course-org/lab86-alice', commit: SHA(9), rubricId: 'lab-85', labId: 'lab-86' },
      graded,
      meta({ pushedAt: '2026-03-09T10:00:00Z', lab: { id: 'lab-86', title: 'Lab 86' }, student: 'alice' }),
    );

    const latest = await store.latestPerStudent({ labId: 'lab-85' });
    expect(latest.items.map((i) => [i.student, i.commit, i.event])).toEqual([
      ['alice', SHA(2), 'push'],
      ['bob', SHA(3), 'regrade'],
    ]);
    expect(latest.items[0]).toMatchObject({
      labId: 'lab-85',
      labTitle: 'Lab 85',
      deadline: { status: 'late' },
      clusterRan: true,
    });
    expect(latest.items[1]).toMatchObject({ id: regrade.id, gradeCount: 2, reason: 'Regrade requested by ta-1' });
    const paged = await store.latestPerStudent({ labId: 'lab-85', limit: 1 });
    expect(paged.items.map((i) => i.student)).toEqual(['alice']);
    const next = await store.latestPerStudent({ labId: 'lab-85', limit: 1, cursor: paged.nextCursor! });
    expect(next.items.map((i) => i.student)).toEqual(['bob']);
    expect(next.nextCursor).toBeUndefined();

    const bob = await store.history({ student: 'BOB', labId: 'lab-85' });
    expect(bob.map((h) => [h.event, h.gradeCount, h.reason ?? null])).toEqual([
      ['regrade', 2, 'Regrade requested by ta-1'],
      ['push', 1, null],
    ]);
    expect((await store.history({ student: 'alice' })).map((h) => h.labId)).toEqual(['lab-86', 'lab-85', 'lab-85']);

    const submissions = await store.labSubmissions({ labId: 'lab-85' });
    expect(submissions.items.map((i) => [i.student, i.commit, i.gradeCount])).toEqual([
      ['alice', SHA(2), 1],
      ['bob', SHA(3), 2],
      ['alice', SHA(1), 1],
    ]);

    expect((await store.clusterRuns({ labId: 'lab-85', student: 'alice' })).map((r) => r.commit)).toEqual([SHA(2)]);
    expect((await store.clusterRuns({ labId: 'lab-85', student: 'bob' })).map((r) => r.commit)).toEqual([SHA(3)]);
    expect(await store.clusterRuns({ labId: 'lab-85', student: 'bob', since: '2999-01-01T00:00:00Z' })).toEqual([]);
  });

  it('migrating a v1 store keeps every report, as the first entry of its history', async () => {
    const store = await newStore('migr');
    const s = `"${store.schema}"`;
    await client.query(`CREATE SCHEMA ${s}`);
    await client.query(
      `CREATE TABLE ${s}.schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    await client.query(MIGRATIONS[0]!.sql(s));
    await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES (1, 'reports')`);
    const insert = (repo: string, commit: number, jobId: string, count: number) =>
      client.query(
        `INSERT INTO ${s}.reports (repository, commit_sha, rubric_id, rubric_digest, status, points, max_points, percent,
           rubric_max_points, author, pushed_at, meta, report, report_schema_version, grade_count)
         VALUES ($1, $2, 'lab-85', $3, 'graded', $4, $5, $6, $7, 'dev', '2026-02-01T10:00:00Z', $8, $9, $10, $11)`,
        [
          repo,
          SHA(commit),
          graded.rubric.digest,
          graded.score.points,
          graded.score.maxPoints,
          graded.score.percent,
          graded.score.rubricMaxPoints,
          JSON.stringify(meta({ jobId, event: 'rerun' })),
          JSON.stringify(graded),
          graded.schemaVersion,
          count,
        ],
      );
    await insert('Course-Org/Old-One', 1, 'old-job', 3);
    await insert('course-org/old-two', 2, 'old-job', 1); // the same job id twice: kept apart

    expect((await store.migrate()).applied).toEqual([2, 3, 4]);
    const one = await store.get({ repository: 'course-org/old-one', commit: SHA(1), rubricId: 'lab-85' });
    expect(one).toMatchObject({
      jobId: 'old-job',
      event: 'rerun',
      labId: 'lab-85',
      student: 'course-org/old-one',
      gradeCount: 3,
      points: graded.score.points,
      clusterRan: false,
    });
    expect(one?.reason).toMatch(/graded 3 times before the history was kept/);
    const two = await store.get({ repository: 'course-org/old-two', commit: SHA(2), rubricId: 'lab-85' });
    expect(two?.jobId).toMatch(/^old-job#legacy-\d+$/);
    expect(two?.report).toEqual(graded);
    // Gradings from before excerpts were kept have none; the lab's version counts them.
    expect((await store.getById(two!.id))?.excerpts).toBeUndefined();
    expect(await store.labVersion('lab-85')).toBe('2');
    // A regrade after the migration adds to the history.
    const regraded = await store.save(
      { repository: 'course-org/old-one', commit: SHA(1), rubricId: 'lab-85' },
      graded,
      meta({ event: 'regrade', reason: 'after migration', pushedAt: '2026-03-01T10:00:00Z' }),
    );
    expect(regraded).toMatchObject({ gradeCount: 4, pushedAt: '2026-02-01T10:00:00.000Z', author: 'dev' });
    expect(await store.history({ student: 'course-org/old-one' })).toHaveLength(2);
  });

  it('at course scale (5 labs × 500 students × 20 submissions) the dashboard queries use their indexes', async () => {
    const store = await newStore('scale');
    await store.migrate();
    const s = `"${store.schema}"`;
    // Bulk-load with SQL (the JSON report is shared); then ANALYZE, as autovacuum would.
    await client.query(
      `INSERT INTO ${s}.reports (repository, commit_sha, rubric_id, rubric_digest, status, points, max_points, percent,
         rubric_max_points, pushed_at, meta, report, report_schema_version, job_id, event, lab_id, student, cluster_ran)
       SELECT 'course-org/lab85-student' || st, lpad(to_hex(st * 100 + sub), 40, '0'), 'lab-85', $1, 'graded',
         sub, 20, sub * 5, 20, timestamptz '2026-03-01' + (sub || ' hours')::interval + (st || ' seconds')::interval,
         '{}'::jsonb, '{}'::jsonb, 1, 'job-' || lab || '-' || st || '-' || sub, 'push', lab, 'student' || st, sub % 4 = 0
       FROM generate_series(1, 500) st, generate_series(1, 20) sub, (VALUES ('lab-85'), ('lab-86'), ('lab-87'), ('lab-88'), ('lab-89')) labs(lab)`,
      [graded.rubric.digest],
    );
    await client.query(`ANALYZE ${s}.reports`);
    const explain = async (sql: string, values: unknown[]) => {
      await client.query(`SET search_path TO ${s}`);
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, values);
      await client.query('RESET search_path');
      const plan = (rows[0] as { 'QUERY PLAN': [{ Plan: unknown; 'Execution Time': number }] })['QUERY PLAN'][0];
      return { text: JSON.stringify(plan.Plan), ms: plan['Execution Time'] };
    };
    const started = performance.now();
    const latest = await store.latestPerStudent({ labId: 'lab-85', limit: 500 });
    const latestMs = performance.now() - started;
    expect(latest.items).toHaveLength(500);
    expect(latest.items.every((i) => i.points === 20)).toBe(true);
    expect(latest.items.map((i) => i.student)).toEqual([...latest.items.map((i) => i.student)].sort());
    expect(latestMs).toBeLessThan(1_000);

    const perStudent = await explain(
      `WITH RECURSIVE students AS (
         (SELECT student_key FROM reports WHERE lab_key = $1 ORDER BY student_key LIMIT 1)
         UNION ALL
         SELECT (SELECT r.student_key FROM reports r WHERE r.lab_key = $1 AND r.student_key > students.student_key
                 ORDER BY r.student_key LIMIT 1) FROM students WHERE students.student_key IS NOT NULL)
       SELECT latest.* FROM students CROSS JOIN LATERAL (
         SELECT id, student_key FROM reports WHERE lab_key = $1 AND student_key = students.student_key
         ORDER BY pushed_at DESC, graded_at DESC, id DESC LIMIT 1) AS latest
       WHERE students.student_key IS NOT NULL ORDER BY latest.student_key LIMIT 501`,
      ['lab-85'],
    );
    expect(perStudent.text).toContain('reports_lab_student');
    expect(perStudent.text).not.toContain('Seq Scan');
    expect(perStudent.text).not.toContain('Bitmap');
    const history = await explain(
      `SELECT id FROM reports WHERE student_key = $1 AND lab_key = $2 ORDER BY pushed_at DESC, graded_at DESC, id DESC LIMIT 500`,
      ['student42', 'lab-85'],
    );
    expect(history.text).toMatch(/reports_lab_student|reports_student/);
    expect(history.text).not.toContain('Seq Scan');
    const runs = await explain(
      `SELECT pushed_at FROM reports WHERE lab_key = $1 AND student_key = $2 AND cluster_ran ORDER BY pushed_at DESC LIMIT 1000`,
      ['lab-85', 'student42'],
    );
    expect(runs.text).toContain('reports_cluster_runs');
    const submissions = await store.labSubmissions({ labId: 'lab-85', limit: 100 });
    expect(submissions.items).toHaveLength(100);
    expect(await store.clusterRuns({ labId: 'lab-85', student: 'student42' })).toHaveLength(5);
    expect(await store.history({ student: 'student42', labId: 'lab-85' })).toHaveLength(20);
    // For the report: how long each takes at this scale.
    process.stdout.write(
      `store at 50,000 gradings: latestPerStudent(500) ${latestMs.toFixed(1)} ms; plans: per-student ${perStudent.ms.toFixed(1)} ms, history ${history.ms.toFixed(2)} ms, cluster runs ${runs.ms.toFixed(2)} ms\n`,
    );
  });
});

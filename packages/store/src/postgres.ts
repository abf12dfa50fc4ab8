/**
 * ReportStore on PostgreSQL (the `pg` client).
 *
 * Why PostgreSQL: reports are the system of record for grades, so they must
 * survive restarts and be backed up (the queue's Redis is not that: it may run
 * without persistence and evicts finished jobs); the dashboard and CSV export
 * need filtered, ordered, paginated queries across a course ("latest report of
 * every repository of this organisation for this rubric"), which SQL answers
 * with an index; several workers on several hosts write concurrently, which
 * an embedded file database cannot serve. The report itself is stored whole as
 * JSONB (versioned by its own schema), with the columns queries filter on
 * beside it.
 */
import pg from 'pg';
import {
  InfrastructureError,
  UsageError,
  reportSchema,
  sourceExcerptsSchema,
  type Report,
  type SourceExcerpts,
} from '@labgrader/core';
import { MIGRATIONS } from './migrations.js';
import type {
  CriterionScore,
  DashboardStore,
  DeadlineJudgement,
  LabOverviewQuery,
  LabOverviewRow,
  StudentKey,
  GradeMetadata,
  LabQuery,
  Page,
  ReportPage,
  ReportQuery,
  ReportStore,
  StoredReport,
  StoredReportSummary,
} from './port.js';

export const DEFAULT_STORE_SCHEMA = 'labgrader';
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database` */
  connectionString: string;
  /** PostgreSQL schema holding the tables (default `labgrader`); tests use a unique one. */
  schema?: string;
  /** Pool size (default 5). */
  maxConnections?: number;
  applicationName?: string;
}

export interface PostgresReportStore extends ReportStore, DashboardStore {
  /** Creates the schema and applies pending migrations; safe to run concurrently and repeatedly. */
  migrate(): Promise<{ applied: number[] }>;
  /** True when a trivial query succeeds (readiness probes). */
  ping(): Promise<boolean>;
  /** Drops the schema and everything in it (tests, teardown). */
  dropSchema(): Promise<void>;
  readonly schema: string;
}

const CONNECTION_ERROR = /^(08|53|57P)/;

function storeError(err: unknown, what: string): Error {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  if (
    (typeof code === 'string' && (CONNECTION_ERROR.test(code) || code.startsWith('E'))) ||
    /connect|terminat|timeout/i.test(message)
  ) {
    return new InfrastructureError(`report store unavailable (${what}): ${message}`, {
      cause: err,
      hint: 'Check that PostgreSQL is running and DATABASE_URL is right.',
    });
  }
  return err instanceof Error ? err : new Error(message);
}

interface Row {
  id: string;
  job_id: string;
  event: GradeMetadata['event'];
  lab_key: string;
  lab_title: string | null;
  student_key: string;
  reason: string | null;
  deadline: DeadlineJudgement | null;
  cluster_ran: boolean;
  repository: string;
  owner_key: string;
  commit_sha: string;
  rubric_id: string;
  rubric_digest: string;
  status: Report['status'];
  not_gradable_reason: string | null;
  points: number;
  max_points: number;
  percent: number;
  rubric_max_points: number;
  author: string | null;
  pushed_at: Date;
  meta: GradeMetadata;
  first_graded_at: Date;
  graded_at: Date;
  grade_count: number;
  report?: Report;
  excerpts?: SourceExcerpts | null;
}

const SUMMARY_COLUMNS = `id, job_id, event, lab_key, lab_title, student_key, reason, deadline, cluster_ran,
  repository, owner_key, commit_sha, rubric_id, rubric_digest, status, not_gradable_reason,
  points, max_points, percent, rubric_max_points, author, pushed_at, meta, first_graded_at, graded_at, grade_count`;
const NEWEST = 'pushed_at DESC, graded_at DESC, id DESC';

function toSummary(row: Row): StoredReportSummary {
  return {
    id: String(row.id),
    jobId: row.job_id,
    event: row.event,
    labId: row.lab_key,
    ...(row.lab_title ? { labTitle: row.lab_title } : {}),
    student: row.student_key,
    ...(row.reason ? { reason: row.reason } : {}),
    ...(row.deadline ? { deadline: row.deadline } : {}),
    clusterRan: row.cluster_ran,
    repository: row.repository,
    owner: row.owner_key,
    commit: row.commit_sha,
    rubricId: row.rubric_id,
    rubricDigest: row.rubric_digest,
    status: row.status,
    ...(row.not_gradable_reason ? { notGradableReason: row.not_gradable_reason } : {}),
    points: row.points,
    maxPoints: row.max_points,
    percent: row.percent,
    rubricMaxPoints: row.rubric_max_points,
    ...(row.author ? { author: row.author } : {}),
    pushedAt: row.pushed_at.toISOString(),
    meta: row.meta,
    firstGradedAt: row.first_graded_at.toISOString(),
    gradedAt: row.graded_at.toISOString(),
    gradeCount: row.grade_count,
  };
}

type ScoredRow = Row & { criterion_scores: CriterionScore[] | null; finding_count: number | null };

function toScored(row: ScoredRow): StoredReportSummary & { criteria: CriterionScore[]; findingCount: number } {
  return { ...toSummary(row), criteria: row.criterion_scores ?? [], findingCount: row.finding_count ?? 0 };
}

const GRADING_ID = /^[1-9][0-9]{0,17}$/;

/** The column a dashboard query groups students by. */
function keyColumn(by: StudentKey | undefined): 'student_key' | 'owner_key' {
  return by === 'owner' ? 'owner_key' : 'student_key';
}

function toStored(row: Row): StoredReport {
  return { ...toSummary(row), report: row.report!, ...(row.excerpts ? { excerpts: row.excerpts } : {}) };
}

function encodeCursor(row: StoredReportSummary): string {
  return Buffer.from(JSON.stringify([row.pushedAt, row.id])).toString('base64url');
}

/** Pages ordered by student: the cursor is the last student of the page. */
function encodeStudentCursor(row: StoredReportSummary): string {
  return Buffer.from(JSON.stringify(['student', row.student])).toString('base64url');
}

function decodeStudentCursor(cursor: string): string {
  try {
    const [tag, student] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (tag === 'student' && typeof student === 'string') return student;
  } catch {
    /* below */
  }
  throw new UsageError('cursor: not a cursor returned by this query', {
    hint: 'Pass nextCursor from the previous page.',
  });
}

function pageLimit(limit: number | undefined): number {
  const n = limit ?? 50;
  if (!Number.isInteger(n) || n < 1 || n > 500) {
    throw new UsageError(`limit: must be an integer from 1 to 500, got ${String(limit)}`);
  }
  return n;
}

/** The stage statuses that used a cluster (everything but skipped): what the cluster budget counts. */
export function clusterRan(report: Report): boolean {
  const stage = report.stages.find((st) => st.name === 'cluster');
  return stage !== undefined && stage.status !== 'skipped';
}

function decodeCursor(cursor: string): { pushedAt: string; id: string } {
  try {
    const [pushedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (
      typeof pushedAt === 'string' &&
      !Number.isNaN(Date.parse(pushedAt)) &&
      typeof id === 'string' &&
      /^\d+$/.test(id)
    )
      return { pushedAt, id };
  } catch {
    /* below */
  }
  throw new UsageError('cursor: not a cursor returned by this store', {
    hint: 'Pass nextCursor from the previous page.',
  });
}

export function createPostgresReportStore(options: PostgresStoreOptions): PostgresReportStore {
  const schemaName = options.schema ?? DEFAULT_STORE_SCHEMA;
  if (!SCHEMA_NAME.test(schemaName)) {
    throw new UsageError(`schema: '${schemaName}' is not a valid schema name (lowercase letters, digits, _)`);
  }
  const s = `"${schemaName}"`;
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 5,
    application_name: options.applicationName ?? 'labgrader',
    connectionTimeoutMillis: 5_000,
  });
  // An idle client losing its connection (PostgreSQL restart) must not crash the process.
  pool.on('error', () => {});

  async function query<R extends pg.QueryResultRow>(what: string, text: string, values: unknown[] = []) {
    try {
      return await pool.query<R>(text, values);
    } catch (err) {
      throw storeError(err, what);
    }
  }

  return {
    schema: schemaName,

    async migrate() {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw storeError(err, 'migrate');
      }
      try {
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`labgrader-store:${schemaName}`]);
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${s}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${s}.schema_migrations (
             version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const done = new Set(
          (await client.query<{ version: number }>(`SELECT version FROM ${s}.schema_migrations`)).rows.map(
            (r) => r.version,
          ),
        );
        const applied: number[] = [];
        for (const migration of MIGRATIONS) {
          if (done.has(migration.version)) continue;
          await client.query(migration.sql(s));
          await client.query(`INSERT INTO ${s}.schema_migrations (version, name) VALUES ($1, $2)`, [
            migration.version,
            migration.name,
          ]);
          applied.push(migration.version);
        }
        await client.query('COMMIT');
        return { applied };
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw storeError(err, 'migrate');
      } finally {
        client.release();
      }
    },

    async save(key, report, meta, extras = {}) {
      const valid = reportSchema.safeParse(report);
      if (!valid.success) throw new Error(`refusing to store an invalid report: ${valid.error.message}`);
      if (extras.excerpts) {
        const excerpts = sourceExcerptsSchema.safeParse(extras.excerpts);
        if (!excerpts.success) throw new Error(`refusing to store invalid excerpts: ${excerpts.error.message}`);
      }
      if (report.rubric.id !== key.rubricId) {
        throw new Error(`report is for rubric '${report.rubric.id}', key says '${key.rubricId}'`);
      }
      const labId = key.labId ?? meta.lab?.id ?? null;
      // One row per grading job. The earlier gradings of this commit (as this lab) give the count, the
      // first grading time and the earliest push; the same job saving again (a retry) replaces its row.
      const { rows } = await query<Row>(
        'save',
        `WITH prior AS (
           SELECT COALESCE(SUM(grade_count), 0)::int AS n, MIN(first_graded_at) AS first, MIN(pushed_at) AS pushed,
                  (array_agg(author ORDER BY graded_at) FILTER (WHERE author IS NOT NULL))[1] AS author
           FROM ${s}.reports
           WHERE repository_key = lower($1) AND commit_sha = $2 AND lab_key = COALESCE($16::text, $3) AND job_id <> $17)
         INSERT INTO ${s}.reports AS r (repository, commit_sha, rubric_id, rubric_digest, status, not_gradable_reason,
           points, max_points, percent, rubric_max_points, author, pushed_at, meta, report, report_schema_version,
           lab_id, job_id, event, lab_title, student, reason, deadline, cluster_ran,
           grade_count, first_graded_at, excerpts)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11, prior.author), LEAST(prior.pushed, $12::timestamptz),
           $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, prior.n + 1, COALESCE(prior.first, now()), $24::jsonb
         FROM prior
         ON CONFLICT ON CONSTRAINT reports_job DO UPDATE SET
           repository = EXCLUDED.repository,
           rubric_digest = EXCLUDED.rubric_digest,
           status = EXCLUDED.status,
           not_gradable_reason = EXCLUDED.not_gradable_reason,
           points = EXCLUDED.points,
           max_points = EXCLUDED.max_points,
           percent = EXCLUDED.percent,
           rubric_max_points = EXCLUDED.rubric_max_points,
           author = COALESCE(EXCLUDED.author, r.author),
           pushed_at = LEAST(r.pushed_at, EXCLUDED.pushed_at),
           meta = EXCLUDED.meta,
           report = EXCLUDED.report,
           report_schema_version = EXCLUDED.report_schema_version,
           lab_title = EXCLUDED.lab_title,
           student = EXCLUDED.student,
           reason = EXCLUDED.reason,
           deadline = EXCLUDED.deadline,
           cluster_ran = EXCLUDED.cluster_ran,
           -- Publishing a stored report again (a retried job) comes without excerpts: keep the first.
           excerpts = COALESCE(EXCLUDED.excerpts, r.excerpts),
           graded_at = now()
         RETURNING ${SUMMARY_COLUMNS}, report`,
        [
          key.repository,
          key.commit,
          key.rubricId,
          report.rubric.digest,
          report.status,
          report.notGradable?.reason ?? null,
          report.score.points,
          report.score.maxPoints,
          report.score.percent,
          report.score.rubricMaxPoints,
          meta.author ?? null,
          meta.pushedAt,
          JSON.stringify(meta),
          JSON.stringify(report),
          report.schemaVersion,
          labId,
          meta.jobId,
          meta.event,
          meta.lab?.title ?? null,
          meta.student ?? null,
          meta.reason ?? null,
          meta.deadline ? JSON.stringify(meta.deadline) : null,
          clusterRan(report),
          extras.excerpts ? JSON.stringify(extras.excerpts) : null,
        ],
      );
      return toStored(rows[0]!);
    },

    async get(key) {
      const { rows } = await query<Row>(
        'get',
        `SELECT ${SUMMARY_COLUMNS}, report FROM ${s}.reports
         WHERE repository_key = lower($1) AND commit_sha = $2 AND lab_key = COALESCE($4::text, $3) AND rubric_id = $3
         ORDER BY graded_at DESC, id DESC LIMIT 1`,
        [key.repository, key.commit, key.rubricId, key.labId ?? null],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
    },

    async latest(repository, opts = {}) {
      const { rows } = await query<Row>(
        'latest',
        `SELECT ${SUMMARY_COLUMNS}, report FROM ${s}.reports
         WHERE repository_key = lower($1) AND ($2::text IS NULL OR rubric_id = $2)
         ORDER BY ${NEWEST} LIMIT 1`,
        [repository, opts.rubricId ?? null],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
    },

    async latestPerStudent(q: LabQuery) {
      const limit = pageLimit(q.limit);
      const after = q.cursor ? decodeStudentCursor(q.cursor) : null;
      const { rows } = await query<Row>(
        'latest per student',
        // A loose index scan: walk the lab's students through reports_lab_student (one probe each), then
        // take each one's newest grading from the same index; never a sort of the lab's gradings.
        `WITH RECURSIVE students AS (
           (SELECT student_key FROM ${s}.reports WHERE lab_key = $1 AND ($3::text IS NULL OR student_key > $3)
            ORDER BY student_key LIMIT 1)
           UNION ALL
           SELECT (SELECT r.student_key FROM ${s}.reports r WHERE r.lab_key = $1 AND r.student_key > students.student_key
                   ORDER BY r.student_key LIMIT 1)
           FROM students WHERE students.student_key IS NOT NULL)
         SELECT latest.* FROM students CROSS JOIN LATERAL (
           SELECT ${SUMMARY_COLUMNS} FROM ${s}.reports
           WHERE lab_key = $1 AND student_key = students.student_key AND ($2::text IS NULL OR owner_key = lower($2))
           ORDER BY ${NEWEST} LIMIT 1) AS latest
         WHERE students.student_key IS NOT NULL
         ORDER BY latest.student_key LIMIT $4`,
        [q.labId, q.owner ?? null, after, limit + 1],
      );
      const items = rows.slice(0, limit).map(toSummary);
      const page: Page<StoredReportSummary> = { items };
      if (rows.length > limit) page.nextCursor = encodeStudentCursor(items[items.length - 1]!);
      return page;
    },

    async history(q) {
      const limit = pageLimit(q.limit ?? 500);
      const { rows } = await query<Row>(
        'history',
        `SELECT ${SUMMARY_COLUMNS} FROM ${s}.reports
         WHERE student_key = lower($1) AND ($2::text IS NULL OR lab_key = $2)
         ORDER BY ${NEWEST} LIMIT $3`,
        [q.student, q.labId ?? null, limit],
      );
      return rows.map(toSummary);
    },

    async labSubmissions(q: LabQuery) {
      const limit = pageLimit(q.limit);
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const { rows } = await query<Row>(
        'lab submissions',
        `SELECT * FROM (
           SELECT DISTINCT ON (repository_key, commit_sha) ${SUMMARY_COLUMNS} FROM ${s}.reports
           WHERE lab_key = $1 AND ($2::text IS NULL OR owner_key = lower($2))
           ORDER BY repository_key, commit_sha, graded_at DESC, id DESC) AS commits
         WHERE ($3::timestamptz IS NULL OR (pushed_at, id) < ($3::timestamptz, $4::bigint))
         ORDER BY pushed_at DESC, id DESC LIMIT $5`,
        [q.labId, q.owner ?? null, after?.pushedAt ?? null, after?.id ?? null, limit + 1],
      );
      const items = rows.slice(0, limit).map(toSummary);
      const page: Page<StoredReportSummary> = { items };
      if (rows.length > limit) page.nextCursor = encodeCursor(items[items.length - 1]!);
      return page;
    },

    async clusterRuns(q) {
      const { rows } = await query<{ pushed_at: Date; graded_at: Date; commit_sha: string; job_id: string }>(
        'cluster runs',
        `SELECT pushed_at, graded_at, commit_sha, job_id FROM ${s}.reports
         WHERE lab_key = $1 AND student_key = lower($2) AND cluster_ran AND ($3::timestamptz IS NULL OR pushed_at >= $3)
         ORDER BY pushed_at DESC LIMIT 1000`,
        [q.labId, q.student, q.since ?? null],
      );
      return rows.map((r) => ({
        pushedAt: r.pushed_at.toISOString(),
        gradedAt: r.graded_at.toISOString(),
        commit: r.commit_sha,
        jobId: r.job_id,
      }));
    },

    async list(q: ReportQuery = {}) {
      const limit = pageLimit(q.limit);
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const filters = `($1::text IS NULL OR owner_key = lower($1))
        AND ($2::text IS NULL OR repository_key = lower($2))
        AND ($3::text IS NULL OR rubric_id = $3)
        AND ($4::text IS NULL OR status = $4)`;
      const source = q.latestPerRepository
        ? `(SELECT DISTINCT ON (repository_key, rubric_id) ${SUMMARY_COLUMNS} FROM ${s}.reports WHERE ${filters}
            ORDER BY repository_key, rubric_id, ${NEWEST}) AS latest`
        : `(SELECT ${SUMMARY_COLUMNS} FROM ${s}.reports WHERE ${filters}) AS matching`;
      const { rows } = await query<Row>(
        'list',
        `SELECT * FROM ${source}
         WHERE ($5::timestamptz IS NULL OR (pushed_at, id) < ($5::timestamptz, $6::bigint))
         ORDER BY pushed_at DESC, id DESC LIMIT $7`,
        [
          q.owner ?? null,
          q.repository ?? null,
          q.rubricId ?? null,
          q.status ?? null,
          after?.pushedAt ?? null,
          after?.id ?? null,
          limit + 1,
        ],
      );
      const items = rows.slice(0, limit).map(toSummary);
      const page: ReportPage = { items };
      if (rows.length > limit) page.nextCursor = encodeCursor(items[items.length - 1]!);
      return page;
    },

    async getById(id) {
      if (!GRADING_ID.test(id)) return undefined;
      const { rows } = await query<Row>(
        'get by id',
        `SELECT ${SUMMARY_COLUMNS}, report, excerpts FROM ${s}.reports WHERE id = $1`,
        [id],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
    },

    async labs(opts = {}) {
      const { rows } = await query<{
        lab_key: string;
        lab_title: string | null;
        rubric_title: string | null;
        students: number;
        gradings: number;
        last_pushed: Date;
      }>(
        'labs',
        // The rubric's title from the lab's latest push (one probe of reports_lab_pushed per lab): the lab's
        // title without a course configuration.
        `SELECT g.*, (SELECT r.report->'rubric'->>'title' FROM ${s}.reports r WHERE r.lab_key = g.lab_key
                      ORDER BY r.pushed_at DESC, r.id DESC LIMIT 1) AS rubric_title
         FROM (SELECT lab_key, max(lab_title) AS lab_title, count(DISTINCT ${keyColumn(opts.by)})::int AS students,
                      count(*)::int AS gradings, max(pushed_at) AS last_pushed
               FROM ${s}.reports GROUP BY lab_key ORDER BY lab_key LIMIT 1000) AS g
         ORDER BY g.lab_key`,
      );
      return rows.map((r) => ({
        labId: r.lab_key,
        ...(r.lab_title ? { labTitle: r.lab_title } : {}),
        ...(r.rubric_title ? { rubricTitle: r.rubric_title } : {}),
        students: r.students,
        gradings: r.gradings,
        lastPushedAt: r.last_pushed.toISOString(),
      }));
    },

    async labVersion(labId) {
      const { rows } = await query<{ version: string }>(
        'lab version',
        `SELECT version::text FROM ${s}.lab_versions WHERE lab_key = $1`,
        [labId],
      );
      return rows[0]?.version ?? '0';
    },

    async labsVersion() {
      const { rows } = await query<{ version: string }>(
        'labs version',
        `SELECT count(*) || ':' || COALESCE(sum(version), 0) AS version FROM ${s}.lab_versions`,
      );
      return rows[0]!.version;
    },

    async labOverview(q: LabOverviewQuery) {
      const key = keyColumn(q.by);
      const scoped = `lab_key = $1 AND ($2::text IS NULL OR owner_key = lower($2))`;
      const { rows } = await query<
        ScoredRow & {
          subject: string;
          submissions: number;
          gradings: number;
          first_pushed: Date;
          counting_id: string | null;
        }
      >(
        'lab overview',
        // Per student: the counts (one pass over the lab's index), their newest grading (one probe of
        // reports_lab_student / reports_lab_owner), and only when the deadline refused that push, the
        // newest grading it accepted.
        `WITH subjects AS (
           SELECT ${key} AS subject, count(DISTINCT commit_sha)::int AS submissions, count(*)::int AS gradings,
                  min(pushed_at) AS first_pushed
           FROM ${s}.reports WHERE ${scoped} GROUP BY ${key})
         SELECT subjects.subject, subjects.submissions, subjects.gradings, subjects.first_pushed, latest.*,
                CASE WHEN latest.deadline->>'status' = 'not-accepted' THEN counting.id::text ELSE latest.id::text END
                  AS counting_id
         FROM subjects
         CROSS JOIN LATERAL (
           SELECT ${SUMMARY_COLUMNS}, criterion_scores, finding_count FROM ${s}.reports
           WHERE ${scoped} AND ${key} = subjects.subject ORDER BY ${NEWEST} LIMIT 1) AS latest
         LEFT JOIN LATERAL (
           SELECT id FROM ${s}.reports
           WHERE latest.deadline->>'status' = 'not-accepted' AND ${scoped} AND ${key} = subjects.subject
             AND (deadline IS NULL OR deadline->>'status' <> 'not-accepted')
           ORDER BY ${NEWEST} LIMIT 1) AS counting ON true
         ORDER BY subjects.subject`,
        [q.labId, q.owner ?? null],
      );
      const missing = rows
        .filter((r) => r.counting_id !== null && r.counting_id !== String(r.id))
        .map((r) => r.counting_id);
      const others = new Map<string, ScoredRow>();
      if (missing.length > 0) {
        const found = await query<ScoredRow>(
          'lab overview (accepted pushes)',
          `SELECT ${SUMMARY_COLUMNS}, criterion_scores, finding_count FROM ${s}.reports WHERE id = ANY($1::bigint[])`,
          [missing],
        );
        for (const r of found.rows) others.set(String(r.id), r);
      }
      return rows.map((r): LabOverviewRow => {
        const latest = toScored(r);
        const countingRow =
          r.counting_id === null ? undefined : r.counting_id === latest.id ? r : others.get(r.counting_id);
        return {
          key: r.subject,
          latest,
          ...(countingRow ? { counting: countingRow === r ? latest : toScored(countingRow) } : {}),
          submissions: r.submissions,
          gradings: r.gradings,
          firstPushedAt: r.first_pushed.toISOString(),
        };
      });
    },

    async labStatistics(ids) {
      const valid = ids.filter((id) => GRADING_ID.test(id));
      if (valid.length === 0) return { checks: [], recoveries: [] };
      const [checks, recoveries] = await Promise.all([
        query<{
          criterion: string;
          id: string;
          gradings: number;
          all_passed: number;
          examined: number;
          passed: number;
        }>(
          'lab statistics (checks)',
          `SELECT k->>'criterion' AS criterion, k->>'id' AS id,
                  count(*) FILTER (WHERE (k->>'examined')::int > 0)::int AS gradings,
                  count(*) FILTER (WHERE (k->>'examined')::int > 0 AND (k->>'passed')::int >= (k->>'examined')::int)::int
                    AS all_passed,
                  COALESCE(sum((k->>'examined')::int), 0)::int AS examined, COALESCE(sum((k->>'passed')::int), 0)::int AS passed
           FROM ${s}.reports r CROSS JOIN LATERAL jsonb_array_elements(r.check_results) AS k
           WHERE r.id = ANY($1::bigint[])
           GROUP BY 1, 2 ORDER BY min(r.id), 1, 2`,
          [valid],
        ),
        query<{ drill: string; seconds: number; id: string }>(
          'lab statistics (recoveries)',
          `SELECT d->>'drill' AS drill, (d->>'seconds')::float8 AS seconds, r.id::text AS id
           FROM ${s}.reports r CROSS JOIN LATERAL jsonb_array_elements(r.recovery_times) AS d
           WHERE r.id = ANY($1::bigint[]) ORDER BY 1, 2`,
          [valid],
        ),
      ]);
      return {
        checks: checks.rows.map((r) => ({
          criterion: r.criterion,
          id: r.id,
          gradings: r.gradings,
          allPassed: r.all_passed,
          examined: r.examined,
          passed: r.passed,
        })),
        recoveries: recoveries.rows.map((r) => ({ drill: r.drill, seconds: r.seconds, gradingId: r.id })),
      };
    },

    async pushTimeline(q: LabOverviewQuery) {
      const { rows } = await query<{ hour: Date; pushes: number; late: number }>(
        'push timeline',
        `SELECT hour, count(*)::int AS pushes, count(*) FILTER (WHERE late)::int AS late FROM (
           SELECT date_trunc('hour', min(pushed_at)) AS hour,
                  bool_or(deadline->>'status' IN ('late', 'not-accepted')) AS late
           FROM ${s}.reports WHERE lab_key = $1 AND ($2::text IS NULL OR owner_key = lower($2))
           GROUP BY repository_key, commit_sha) AS commits
         GROUP BY hour ORDER BY hour LIMIT 10000`,
        [q.labId, q.owner ?? null],
      );
      return rows.map((r) => ({ hour: r.hour.toISOString(), pushes: r.pushes, late: r.late }));
    },

    async gradingsOf(q) {
      const limit = pageLimit(q.limit ?? 500);
      const { rows } = await query<ScoredRow>(
        'gradings of a student',
        `SELECT ${SUMMARY_COLUMNS}, criterion_scores, finding_count FROM ${s}.reports
         WHERE ${keyColumn(q.by)} = lower($1) AND ($2::text IS NULL OR lab_key = $2)
         ORDER BY ${NEWEST} LIMIT $3`,
        [q.key, q.labId ?? null, limit],
      );
      return rows.map(toScored);
    },

    async commitGradings(q) {
      const { rows } = await query<Row>(
        'gradings of a commit',
        `SELECT ${SUMMARY_COLUMNS} FROM ${s}.reports
         WHERE repository_key = lower($1) AND commit_sha = $2 AND lab_key = $3
         ORDER BY graded_at, id LIMIT 500`,
        [q.repository, q.commit, q.labId],
      );
      return rows.map(toSummary);
    },

    async ping() {
      try {
        await pool.query('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },

    async dropSchema() {
      await query('drop schema', `DROP SCHEMA IF EXISTS ${s} CASCADE`);
    },

    async close() {
      await pool.end();
    },
  };
}

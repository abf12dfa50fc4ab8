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
import { InfrastructureError, UsageError, reportSchema, type Report } from '@labgrader/core';
import { MIGRATIONS } from './migrations.js';
import type { GradeMetadata, ReportPage, ReportQuery, ReportStore, StoredReport, StoredReportSummary } from './port.js';

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

export interface PostgresReportStore extends ReportStore {
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
}

const SUMMARY_COLUMNS = `id, repository, owner_key, commit_sha, rubric_id, rubric_digest, status, not_gradable_reason,
  points, max_points, percent, rubric_max_points, author, pushed_at, meta, first_graded_at, graded_at, grade_count`;

function toSummary(row: Row): StoredReportSummary {
  return {
    id: String(row.id),
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

function toStored(row: Row): StoredReport {
  return { ...toSummary(row), report: row.report! };
}

function encodeCursor(row: StoredReportSummary): string {
  return Buffer.from(JSON.stringify([row.pushedAt, row.id])).toString('base64url');
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

    async save(key, report, meta) {
      const valid = reportSchema.safeParse(report);
      if (!valid.success) throw new Error(`refusing to store an invalid report: ${valid.error.message}`);
      if (report.rubric.id !== key.rubricId) {
        throw new Error(`report is for rubric '${report.rubric.id}', key says '${key.rubricId}'`);
      }
      const { rows } = await query<Row>(
        'save',
        `INSERT INTO ${s}.reports AS r (repository, commit_sha, rubric_id, rubric_digest, status, not_gradable_reason,
           points, max_points, percent, rubric_max_points, author, pushed_at, meta, report, report_schema_version)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         ON CONFLICT ON CONSTRAINT reports_key DO UPDATE SET
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
           graded_at = now(),
           grade_count = r.grade_count + 1
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
        ],
      );
      return toStored(rows[0]!);
    },

    async get(key) {
      const { rows } = await query<Row>(
        'get',
        `SELECT ${SUMMARY_COLUMNS}, report FROM ${s}.reports
         WHERE repository_key = lower($1) AND commit_sha = $2 AND rubric_id = $3`,
        [key.repository, key.commit, key.rubricId],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
    },

    async latest(repository, opts = {}) {
      const { rows } = await query<Row>(
        'latest',
        `SELECT ${SUMMARY_COLUMNS}, report FROM ${s}.reports
         WHERE repository_key = lower($1) AND ($2::text IS NULL OR rubric_id = $2)
         ORDER BY pushed_at DESC, id DESC LIMIT 1`,
        [repository, opts.rubricId ?? null],
      );
      return rows[0] ? toStored(rows[0]) : undefined;
    },

    async list(q: ReportQuery = {}) {
      const limit = q.limit ?? 50;
      if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
        throw new UsageError(`limit: must be an integer from 1 to 500, got ${String(q.limit)}`);
      }
      const after = q.cursor ? decodeCursor(q.cursor) : undefined;
      const filters = `($1::text IS NULL OR owner_key = lower($1))
        AND ($2::text IS NULL OR repository_key = lower($2))
        AND ($3::text IS NULL OR rubric_id = $3)
        AND ($4::text IS NULL OR status = $4)`;
      const source = q.latestPerRepository
        ? `(SELECT DISTINCT ON (repository_key, rubric_id) ${SUMMARY_COLUMNS} FROM ${s}.reports WHERE ${filters}
            ORDER BY repository_key, rubric_id, pushed_at DESC, id DESC) AS latest`
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

/**
 * Schema migrations, applied in order inside one transaction under an
 * advisory lock, so several workers starting at once migrate exactly once.
 * Append new migrations; never edit an applied one.
 */
export interface Migration {
  version: number;
  name: string;
  sql: (schema: string) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'reports',
    sql: (s) => `
      CREATE TABLE ${s}.reports (
        id bigserial PRIMARY KEY,
        repository text NOT NULL,
        repository_key text GENERATED ALWAYS AS (lower(repository)) STORED,
        owner_key text GENERATED ALWAYS AS (split_part(lower(repository), '/', 1)) STORED,
        commit_sha text NOT NULL,
        rubric_id text NOT NULL,
        rubric_digest text NOT NULL,
        status text NOT NULL CHECK (status IN ('graded', 'not-gradable')),
        not_gradable_reason text,
        points double precision NOT NULL,
        max_points double precision NOT NULL,
        percent double precision NOT NULL,
        rubric_max_points double precision NOT NULL,
        author text,
        pushed_at timestamptz NOT NULL,
        meta jsonb NOT NULL,
        report jsonb NOT NULL,
        report_schema_version integer NOT NULL,
        first_graded_at timestamptz NOT NULL DEFAULT now(),
        graded_at timestamptz NOT NULL DEFAULT now(),
        grade_count integer NOT NULL DEFAULT 1,
        CONSTRAINT reports_key UNIQUE (repository_key, commit_sha, rubric_id)
      );
      CREATE INDEX reports_repository_pushed ON ${s}.reports (repository_key, pushed_at DESC, id DESC);
      CREATE INDEX reports_owner_pushed ON ${s}.reports (owner_key, pushed_at DESC, id DESC);
    `,
  },
];

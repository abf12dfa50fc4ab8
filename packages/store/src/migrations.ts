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
  {
    version: 2,
    name: 'history: one row per grading, labs and students',
    // Existing rows are kept: each becomes the first entry of its history (a
    // row that had replaced earlier gradings keeps its grade_count), with the
    // job id, event and student taken from its metadata.
    sql: (s) => `
      ALTER TABLE ${s}.reports DROP CONSTRAINT reports_key;
      ALTER TABLE ${s}.reports
        ADD COLUMN job_id text,
        ADD COLUMN event text,
        ADD COLUMN lab_id text,
        ADD COLUMN lab_title text,
        ADD COLUMN student text,
        ADD COLUMN reason text,
        ADD COLUMN deadline jsonb,
        ADD COLUMN cluster_ran boolean NOT NULL DEFAULT false;
      UPDATE ${s}.reports SET
        job_id = COALESCE(meta->>'jobId', 'legacy-' || id),
        event = COALESCE(meta->>'event', 'push'),
        reason = CASE WHEN grade_count > 1
          THEN 'graded ' || grade_count || ' times before the history was kept; earlier scores were not recorded' END,
        cluster_ran = EXISTS (
          SELECT 1 FROM jsonb_array_elements(report->'stages') st
          WHERE st->>'name' = 'cluster' AND st->>'status' <> 'skipped');
      UPDATE ${s}.reports r SET job_id = r.job_id || '#legacy-' || r.id
        WHERE EXISTS (SELECT 1 FROM ${s}.reports o WHERE o.job_id = r.job_id AND o.id < r.id);
      ALTER TABLE ${s}.reports ALTER COLUMN job_id SET NOT NULL, ALTER COLUMN event SET NOT NULL;
      ALTER TABLE ${s}.reports ADD CONSTRAINT reports_job UNIQUE (job_id);
      ALTER TABLE ${s}.reports
        ADD COLUMN lab_key text GENERATED ALWAYS AS (COALESCE(lab_id, rubric_id)) STORED,
        ADD COLUMN student_key text GENERATED ALWAYS AS (lower(COALESCE(student, repository))) STORED;
      -- get(): the gradings of one commit as one lab.
      CREATE INDEX reports_commit ON ${s}.reports (repository_key, commit_sha, lab_key, graded_at DESC, id DESC);
      -- The dashboard: latest per student x lab (DISTINCT ON), one student's history in a lab.
      CREATE INDEX reports_lab_student ON ${s}.reports
        (lab_key, student_key, pushed_at DESC, graded_at DESC, id DESC);
      -- One student's history across labs.
      CREATE INDEX reports_student ON ${s}.reports (student_key, pushed_at DESC, graded_at DESC, id DESC);
      -- A lab's submissions, newest push first.
      CREATE INDEX reports_lab_pushed ON ${s}.reports (lab_key, pushed_at DESC, id DESC);
      -- The cluster budget: a student's cluster runs in a lab, by push time (the budget's clock).
      CREATE INDEX reports_cluster_runs ON ${s}.reports (lab_key, student_key, pushed_at DESC) WHERE cluster_ran;
    `,
  },
  {
    version: 3,
    name: 'dashboard: criterion scores, check results and recovery times beside each report',
    // Generated from the report itself (existing rows are computed when the columns are added; nothing is
    // rewritten by hand), so the dashboard's overview and charts read a few hundred bytes per grading
    // instead of the whole report. The functions are the one definition of these summaries.
    sql: (s) => `
      CREATE FUNCTION ${s}.criterion_scores(r jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
          SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'id', c->>'id', 'points', c->'points', 'maxPoints', c->'maxPoints', 'status', c->>'status')
                 ORDER BY o), '[]'::jsonb)
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r->'criteria') = 'array' THEN r->'criteria' ELSE '[]'::jsonb END)
               WITH ORDINALITY AS t(c, o)
        $fn$;
      CREATE FUNCTION ${s}.check_results(r jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
          SELECT COALESCE(jsonb_agg(jsonb_build_object(
                   'criterion', c->>'id', 'id', k->>'id', 'examined', k->'examined', 'passed', k->'passed')
                 ORDER BY o, p), '[]'::jsonb)
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r->'criteria') = 'array' THEN r->'criteria' ELSE '[]'::jsonb END)
               WITH ORDINALITY AS t(c, o),
               jsonb_array_elements(CASE WHEN jsonb_typeof(c->'checks') = 'array' THEN c->'checks' ELSE '[]'::jsonb END)
               WITH ORDINALITY AS u(k, p)
        $fn$;
      -- The cluster checks' evidence "recovery-time": "12.3 s (pod-kill)".
      CREATE FUNCTION ${s}.recovery_times(r jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
          SELECT COALESCE(jsonb_agg(jsonb_build_object('drill', m[2], 'seconds', m[1]::double precision) ORDER BY o), '[]'::jsonb)
          FROM jsonb_array_elements(CASE WHEN jsonb_typeof(r->'evidence') = 'array' THEN r->'evidence' ELSE '[]'::jsonb END)
               WITH ORDINALITY AS t(e, o),
               regexp_match(e->>'detail', '^([0-9]{1,6}(?:\\.[0-9]{1,3})?) s \\(([A-Za-z0-9-]{1,64})\\)$') AS m
          WHERE e->>'label' = 'recovery-time' AND m IS NOT NULL
        $fn$;
      ALTER TABLE ${s}.reports
        ADD COLUMN criterion_scores jsonb GENERATED ALWAYS AS (${s}.criterion_scores(report)) STORED,
        ADD COLUMN check_results jsonb GENERATED ALWAYS AS (${s}.check_results(report)) STORED,
        ADD COLUMN recovery_times jsonb GENERATED ALWAYS AS (${s}.recovery_times(report)) STORED,
        ADD COLUMN finding_count integer GENERATED ALWAYS AS (
          CASE WHEN jsonb_typeof(report->'findings') = 'array' THEN jsonb_array_length(report->'findings') ELSE 0 END) STORED;
      -- Without a course configuration each repository owner is a student: the overview by owner.
      CREATE INDEX reports_lab_owner ON ${s}.reports (lab_key, owner_key, pushed_at DESC, graded_at DESC, id DESC);
    `,
  },
  {
    version: 4,
    name: 'dashboard: source excerpts beside each report, a version counter per lab',
    // excerpts: the redacted lines around the findings (core's excerpts.ts), kept by the worker; NULL for the
    // gradings before (the dashboard shows them without source lines). lab_versions: bumped by a trigger on
    // every write of a lab's gradings, so the dashboard's caches ask one primary-key row whether the lab
    // changed instead of counting its gradings; a trigger, so rows written by any path count.
    sql: (s) => `
      ALTER TABLE ${s}.reports ADD COLUMN excerpts jsonb;
      CREATE TABLE ${s}.lab_versions (lab_key text PRIMARY KEY, version bigint NOT NULL);
      INSERT INTO ${s}.lab_versions (lab_key, version) SELECT lab_key, count(*) FROM ${s}.reports GROUP BY lab_key;
      CREATE FUNCTION ${s}.bump_lab_version() RETURNS trigger LANGUAGE plpgsql AS $fn$
        BEGIN
          IF TG_OP <> 'INSERT' THEN
            INSERT INTO ${s}.lab_versions AS v (lab_key, version) VALUES (OLD.lab_key, 1)
              ON CONFLICT (lab_key) DO UPDATE SET version = v.version + 1;
          END IF;
          IF TG_OP <> 'DELETE' AND (TG_OP = 'INSERT' OR NEW.lab_key IS DISTINCT FROM OLD.lab_key) THEN
            INSERT INTO ${s}.lab_versions AS v (lab_key, version) VALUES (NEW.lab_key, 1)
              ON CONFLICT (lab_key) DO UPDATE SET version = v.version + 1;
          END IF;
          RETURN NULL;
        END
      $fn$;
      CREATE TRIGGER reports_lab_version AFTER INSERT OR UPDATE OR DELETE ON ${s}.reports
        FOR EACH ROW EXECUTE FUNCTION ${s}.bump_lab_version();
    `,
  },
];

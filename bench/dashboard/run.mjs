#!/usr/bin/env node
/**
 * Dashboard benchmark: a course of 500 students × 20 submissions (10,000
 * gradings of the real Lab 85 example reports) seeded in the machine's
 * PostgreSQL (a schema of its own, dropped afterwards), the dashboard
 * (apps/dashboard/dist) on loopback, and each endpoint asked in turn:
 * time per request (p50/p99, measured around the whole HTTP exchange on
 * loopback, so an upper bound of the server's time) and bytes sent.
 *
 *   npm run build && node bench/dashboard/run.mjs [--students 500] [--submissions 20] [--requests 200]
 *
 * Target: p99 under 150 ms for the overview API and page.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pg from 'pg';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const args = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const STUDENTS = arg('students', 500);
const SUBMISSIONS = arg('submissions', 20);
const REQUESTS = arg('requests', 200);
const DATABASE_URL = process.env.LABGRADER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const load = (p) => import(pathToFileURL(path.join(ROOT, p)).href);

const { createDashboardApp, createAuth } = await load('apps/dashboard/dist/index.js');
const { createPostgresReportStore } = await load('packages/store/dist/index.js');
const { parseCourseConfig } = await load('packages/course/dist/index.js');
const { builtinStages, loadRubric } = await load('packages/builtin/dist/index.js');
const { gradeSource } = await load('packages/pipeline/dist/index.js');
const { createExecaRunner } = await load('packages/exec/dist/index.js');
const { silentLogger } = await load('packages/core/dist/index.js');

const rubric = await loadRubric('lab-85', ROOT);
const grade = (example) =>
  gradeSource(
    { kind: 'directory', path: path.join(ROOT, 'examples', example) },
    { rubric, skip: { cluster: 'benchmark' } },
    { runner: createExecaRunner(), stages: builtinStages },
  );
const reports = await Promise.all([grade('lab-85-passing'), grade('lab-85-flawed-probes')]);

const schema = `lgbench_dashboard_${randomBytes(4).toString('hex')}`;
const store = createPostgresReportStore({ connectionString: DATABASE_URL, schema, maxConnections: 5 });
await store.migrate();
const client = new pg.Client({ connectionString: DATABASE_URL });
await client.connect();

let server;
// Whatever happens, the schema is dropped.
const cleanup = async () => {
  server?.closeAllConnections();
  server?.close();
  await store.dropSchema();
  await store.close();
  await client.end();
};
process.on('uncaughtException', (err) => {
  console.error(err);
  void cleanup().finally(() => process.exit(1));
});
process.on('unhandledRejection', (err) => {
  console.error(err);
  void cleanup().finally(() => process.exit(1));
});

const seedStart = performance.now();
const deadline = Date.parse('2026-03-02T00:00:00Z');
for (const [index, report] of reports.entries()) {
  // Half the submissions get each report; one bulk INSERT per report (the generated columns are computed by PostgreSQL).
  await client.query(
    `INSERT INTO "${schema}".reports (repository, commit_sha, rubric_id, rubric_digest, status, points, max_points, percent,
       rubric_max_points, pushed_at, meta, report, report_schema_version, job_id, event, lab_id, lab_title, student, deadline)
     SELECT 'course-org/lab-85-student-' || s, lpad(to_hex(s * 1000 + k), 40, '0'), 'lab-85', $1, $2, $3::float8 - (k % 7), $4::float8,
       100.0 * ($3::float8 - (k % 7)) / $4::float8, $5::float8, to_timestamp($6::float8 / 1000.0 - (${SUBMISSIONS} - k) * 3600 * 3 + s),
       jsonb_build_object('jobId', 'bench-' || s || '-' || k, 'deliveryId', 'd', 'event', 'push', 'ref', 'refs/heads/main',
         'pushedAt', '2026-03-01T00:00:00Z', 'attempt', 1, 'student', 'student-' || s),
       $7::jsonb, 1, 'bench-' || s || '-' || k, 'push', 'lab-85', 'Lab 85', 'student-' || s,
       CASE WHEN to_timestamp($6::float8 / 1000.0 - (${SUBMISSIONS} - k) * 3600 * 3 + s) > to_timestamp($6::float8 / 1000.0 - 6 * 3600)
         THEN '{"status":"late"}'::jsonb ELSE '{"status":"on-time"}'::jsonb END
     FROM generate_series(1, ${STUDENTS}) s, generate_series(1, ${SUBMISSIONS}) k WHERE k % 2 = $8::int`,
    [
      report.rubric.digest,
      report.status,
      report.score.points,
      report.score.maxPoints,
      report.score.rubricMaxPoints,
      deadline + 6 * 3600_000,
      JSON.stringify(report),
      index,
    ],
  );
}
await client.query(`ANALYZE "${schema}".reports`);
const { rows: count } = await client.query(`SELECT count(*)::int AS n FROM "${schema}".reports`);
console.log(
  `seeded ${count[0].n} gradings (${STUDENTS} students × ${SUBMISSIONS}) in ${Math.round(performance.now() - seedStart)} ms`,
);

const course = parseCourseConfig(
  `apiVersion: labgrader.dev/v1
kind: Course
id: bench
organization: course-org
timeZone: UTC
instructors: [prof]
labs:
  - { id: lab-85, title: 'Lab 85', rubric: lab-85, deadline: 2026-03-02T00:00 }
`,
  'bench.yaml',
);
const TOKEN = randomBytes(24).toString('hex');
const auth = createAuth({
  sessionSecret: randomBytes(32).toString('hex'),
  adminToken: TOKEN,
  secureCookies: false,
  course,
});
const app = createDashboardApp({ store, course, auth, logger: silentLogger, githubWebUrl: 'https://github.com' });
server = await new Promise((resolve) => {
  const s = app.listen(0, '127.0.0.1', () => resolve(s));
});
const base = `http://127.0.0.1:${server.address().port}`;
const { rows: one } = await client.query(`SELECT id::text FROM "${schema}".reports ORDER BY id LIMIT 1 OFFSET 4321`);

const endpoints = [
  ['overview API (100 rows)', '/api/v1/labs/lab-85/overview?limit=100'],
  ['overview API (500 rows, by score)', '/api/v1/labs/lab-85/overview?sort=percent&limit=500'],
  ['overview API (search)', '/api/v1/labs/lab-85/overview?q=student-42'],
  ['overview page (100 rows + charts)', '/labs/lab-85'],
  ['statistics API', '/api/v1/labs/lab-85/statistics'],
  ['grading API (with report)', `/api/v1/gradings/${one[0].id}`],
  ['student gradings API', '/api/v1/students/student-42/gradings'],
  ['CSV export (500 rows)', '/api/v1/labs/lab-85/grades.csv'],
];

const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const headers = { authorization: `Bearer ${TOKEN}` };
console.log(
  `\n${'endpoint'.padEnd(36)} ${'first'.padStart(8)} ${'p50'.padStart(8)} ${'p99'.padStart(8)} ${'bytes'.padStart(9)}`,
);
const results = [];
for (const [name, url] of endpoints) {
  const times = [];
  let bytes = 0;
  let first = 0;
  for (let i = 0; i < REQUESTS + 10; i += 1) {
    const t0 = performance.now();
    const res = await fetch(base + url, { headers });
    const body = await res.arrayBuffer();
    const ms = performance.now() - t0;
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${Buffer.from(body).toString().slice(0, 200)}`);
    bytes = body.byteLength;
    if (i === 0) first = ms;
    if (i >= 10) times.push(ms);
  }
  times.sort((a, b) => a - b);
  const row = { name, first, p50: pct(times, 50), p99: pct(times, 99), bytes };
  results.push(row);
  console.log(
    `${name.padEnd(36)} ${first.toFixed(1).padStart(8)} ${row.p50.toFixed(1).padStart(8)} ${row.p99.toFixed(1).padStart(8)} ${String(bytes).padStart(9)}`,
  );
}
console.log('\n(ms per request on loopback; "first" is the cold request that builds the overview cache)');
const overview = results.filter((r) => r.name.startsWith('overview'));
const worst = Math.max(...overview.map((r) => r.p99));
console.log(`overview p99 ${worst.toFixed(1)} ms: ${worst < 150 ? 'under' : 'OVER'} the 150 ms target`);

await cleanup();
process.exitCode = worst < 150 ? 0 : 1;

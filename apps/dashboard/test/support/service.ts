/**
 * A dashboard on loopback over real services, for the API and browser tests:
 * PostgreSQL (a unique schema, filled by really grading the example labs with
 * the pipeline), Redis (a unique queue prefix; a test worker that grades the
 * example again and publishes progress with apps/worker's progress
 * publisher), GitHub's OAuth through the loopback double.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { silentLogger, type Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { parseCourseConfig, type CourseConfig } from '@labgrader/course';
import {
  createGradeProducer,
  createGradeWorker,
  parseGradeJob,
  queueKeys,
  type GradeProducer,
  type GradeWorker,
} from '@labgrader/queue';
import { createPostgresReportStore, type GradeMetadata, type PostgresReportStore } from '@labgrader/store';
import { createAuth, createDashboardApp, createLiveFeed, createRegrader, type LiveFeed } from '../../src/index.js';
import { progressPublisher } from '../../../worker/src/progress-publisher.js';
import {
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  deleteKeys,
  uniqueName,
  uniqueSchema,
} from '../../../../packages/queue/test/support/services.js';
import { startGithubDouble, type GithubDouble } from '../../../../test/support/github-double.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const SHA = (n: number) => n.toString(16).padStart(40, '0');
export const ADMIN_TOKEN = 'admin-token-for-the-dashboard-tests-0123456789';
const SESSION_SECRET = 'session-secret-for-the-dashboard-tests-0123456789';

export const COURSE_YAML = `apiVersion: labgrader.dev/v1
kind: Course
id: test-course
title: Test course
organization: course-org
timeZone: UTC
instructors: [prof-martin, course-org/teaching-assistants]
labs:
  - id: lab-85
    title: 'Lab 85: production Kubernetes'
    rubric: lab-85
    deadline: 2026-03-02T00:00
roster:
  - { login: alice, name: Alice Martin, studentId: '2027001', email: alice@example.edu }
  - { login: bob, name: Bob Durand }
`;

export interface DashboardService {
  url: string;
  store: PostgresReportStore;
  course: CourseConfig;
  github: GithubDouble;
  producer: GradeProducer;
  live: LiveFeed;
  reports: { passing: Report; flawed: Report };
  /** Gradings seeded, by name. */
  ids: Record<string, string>;
  /** Jobs the test worker graded. */
  graded: string[];
  close(): Promise<void>;
}

let n = 0;
function meta(overrides: Partial<GradeMetadata>): GradeMetadata {
  n += 1;
  return {
    jobId: `seed-${n}`,
    deliveryId: `seed-delivery-${n}`,
    event: 'push',
    ref: 'refs/heads/main',
    pushedAt: '2026-03-01T10:00:00.000Z',
    attempt: 1,
    lab: { id: 'lab-85', title: 'Lab 85: production Kubernetes' },
    ...overrides,
  };
}

export async function startDashboardService(options: { workerDelayMs?: number } = {}): Promise<DashboardService> {
  const rubric = await loadRubric('lab-85', ROOT);
  const grade = (example: string) =>
    gradeSource(
      { kind: 'directory', path: path.join(ROOT, 'examples', example) },
      { rubric, skip: { cluster: 'no cluster in the dashboard tests' } },
      { runner: createExecaRunner(), stages: builtinStages },
    );
  const [passing, flawed] = await Promise.all([grade('lab-85-passing'), grade('lab-85-flawed-probes')]);
  const course = parseCourseConfig(COURSE_YAML, 'test-course.yaml');
  const store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema('dashboard') });
  await store.migrate();

  const onTime = { status: 'on-time', deadline: '2026-03-02T00:00:00.000Z' };
  const late = { status: 'late', deadline: '2026-03-02T00:00:00.000Z', daysLate: 1 };
  const ids: Record<string, string> = {};
  const save = async (name: string, student: string, commit: number, report: Report, extra: Partial<GradeMetadata>) => {
    const saved = await store.save(
      { repository: `course-org/lab-85-${student}`, commit: SHA(commit), rubricId: 'lab-85', labId: 'lab-85' },
      report,
      meta({ student, author: student, ...extra }),
    );
    ids[name] = saved.id;
  };
  await save('alice1', 'alice', 1, flawed, { pushedAt: '2026-03-01T09:10:00Z', deadline: onTime });
  await save('alice2', 'alice', 2, passing, { pushedAt: '2026-03-01T20:40:00Z', deadline: onTime });
  await save('bob1', 'bob', 3, flawed, { pushedAt: '2026-03-02T05:00:00Z', deadline: late });
  await save('carol1', 'carol', 4, passing, { pushedAt: '2026-03-01T23:30:00Z', deadline: onTime });

  const github = await startGithubDouble();
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const subscriber = connection.duplicate();
  const workerConnection = connection.duplicate();
  const prefix = uniqueName('dash');
  const producer = await createGradeProducer({ connection, name: 'grade', prefix });
  const keys = queueKeys(producer.queue);
  const live = await createLiveFeed({ subscriber, queue: producer.queue, keys, by: 'student' });
  const publisher = progressPublisher(connection, keys, { minIntervalMs: 0 });
  const graded: string[] = [];
  // The test worker: grades the example again as the job asks, stores it, publishes progress.
  const worker: GradeWorker = createGradeWorker(
    async (job) => {
      const data = parseGradeJob(job.data);
      const ctx = { job: data, jobId: job.id!, attempt: 1, logger: silentLogger };
      await publisher.started!(ctx);
      if (options.workerDelayMs) await new Promise((r) => setTimeout(r, options.workerDelayMs));
      publisher.progress!(ctx, 'lint: manifests');
      if (options.workerDelayMs) await new Promise((r) => setTimeout(r, options.workerDelayMs));
      const report = data.repository.fullName.endsWith('alice') ? passing : flawed;
      const m = meta({
        jobId: job.id!,
        deliveryId: data.deliveryId,
        event: data.event,
        pushedAt: data.pushedAt,
        ...(data.student ? { student: data.student } : {}),
        ...(data.reason ? { reason: data.reason } : {}),
        ...(data.lab ? { lab: { id: data.lab.id, title: data.lab.title } } : {}),
        ...(data.requestedBy ? { requestedBy: data.requestedBy } : {}),
      });
      await store.save(
        {
          repository: data.repository.fullName,
          commit: data.commit,
          rubricId: data.rubricId,
          labId: data.lab?.id ?? data.rubricId,
        },
        report,
        m,
      );
      await publisher.publish(report, { ...ctx, meta: m, retriesExhausted: false });
      graded.push(job.id!);
      return { outcome: 'graded', status: 'graded', points: report.score.points };
    },
    { connection: workerConnection, name: 'grade', prefix },
  );
  worker.on('error', () => {});

  const auth = createAuth({
    sessionSecret: SESSION_SECRET,
    adminToken: ADMIN_TOKEN,
    oauth: {
      clientId: github.oauthClientId,
      clientSecret: github.oauthClientSecret,
      webUrl: github.webUrl,
      apiUrl: github.apiUrl,
    },
    secureCookies: false,
    course,
  });
  const app = createDashboardApp({
    store,
    course,
    auth,
    logger: silentLogger,
    githubWebUrl: github.webUrl,
    regrader: createRegrader({
      producer,
      githubWebUrl: github.webUrl,
      onQueued: (g, result) =>
        live.record({
          v: 1,
          jobId: result.jobId,
          lab: g.labId,
          student: g.student,
          repository: g.repository,
          commit: g.commit,
          state: 'queued',
          at: new Date().toISOString(),
        }),
    }),
    live,
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    store,
    course,
    github,
    producer,
    live,
    reports: { passing, flawed },
    ids,
    graded,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.close();
      await live.close();
      await producer.close();
      await deleteKeys(connection, prefix);
      subscriber.disconnect();
      workerConnection.disconnect();
      connection.disconnect();
      await github.close();
      await store.dropSchema();
      await store.close();
    },
  };
}

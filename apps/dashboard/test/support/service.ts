/**
 * A dashboard on loopback over real services, for the API and browser tests:
 * PostgreSQL (a unique schema), Redis (a unique queue prefix), GitHub's OAuth
 * through the loopback double, and the real grading worker of apps/worker
 * (startGradeWorker with its real handler, pipeline, stages, store publisher
 * and progress publisher; the cluster stage off, as in every service test)
 * cloning bare git repositories on disk that hold the example labs. The lab is
 * filled by pushing those commits through the queue; regrades from the
 * dashboard are graded by the same worker.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { Redis } from 'ioredis';
import { QueueEvents } from 'bullmq';
import { silentLogger, type CommandRunner, type Report } from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import { gradeSource } from '@labgrader/pipeline';
import { parseCourseConfig, type CourseConfig } from '@labgrader/course';
import { createGradeProducer, queueKeys, type GradeJobRequest, type GradeProducer } from '@labgrader/queue';
import { createPostgresReportStore, type GradeMetadata, type PostgresReportStore } from '@labgrader/store';
import { createAuth, createDashboardApp, createLiveFeed, createRegrader, type LiveFeed } from '../../src/index.js';
import {
  createRubricProvider,
  noCredentials,
  startGradeWorker,
  storePublisher,
  type RunningGradeWorker,
} from '../../../worker/src/index.js';
import { progressPublisher } from '../../../worker/src/progress-publisher.js';
import {
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  deleteKeys,
  uniqueName,
  uniqueSchema,
} from '../../../../packages/queue/test/support/services.js';
import { makeBareRepo, tempDir, type BareRepo } from '../../../../test/support/git-fixtures.js';
import { startGithubDouble, type GithubDouble } from '../../../../test/support/github-double.js';
import { withDrills } from './drill-evidence.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
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
  /** The reports the worker stored for alice's two pushes (flawed, then passing). */
  reports: { passing: Report; flawed: Report };
  /** Gradings seeded, by name. */
  ids: Record<string, string>;
  /** Their commits, by the same names. */
  commits: Record<string, string>;
  /** Jobs the worker graded and published, in order. */
  graded: string[];
  /** Resolves with the job's result when the worker has finished it. */
  finished(jobId: string): Promise<unknown>;
  close(): Promise<void>;
}

const example = (name: string) => path.join(ROOT, 'examples', name);

/** The real runner; with `delayMs`, each git command waits that long first (so a browser sees the stages go by). */
function runner(delayMs: number): CommandRunner {
  const real = createExecaRunner();
  if (delayMs === 0) return real;
  return {
    async run(command, args, options) {
      if (command === 'git') await new Promise((resolve) => setTimeout(resolve, delayMs));
      return real.run(command, args, options);
    },
  };
}

export async function startDashboardService(options: { gitDelayMs?: number } = {}): Promise<DashboardService> {
  const course = parseCourseConfig(COURSE_YAML, 'test-course.yaml');
  const store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema('dashboard') });
  await store.migrate();

  // The students' repositories, laid out as a git host does: <root>/<owner>/<name>.git.
  const reposRoot = tempDir('labgrader-dashboard-repos-');
  const repos: BareRepo[] = [];
  const repo = (student: string, exampleName: string) => {
    const r = makeBareRepo(example(exampleName), { under: reposRoot, fullName: `course-org/lab-85-${student}` });
    repos.push(r);
    return r;
  };
  const commits: Record<string, string> = {};
  const alice = repo('alice', 'lab-85-flawed-probes');
  commits.alice1 = alice.commit('first try');
  for (const entry of readdirSync(alice.workDir)) {
    if (entry !== '.git') rmSync(path.join(alice.workDir, entry), { recursive: true, force: true });
  }
  cpSync(example('lab-85-passing'), alice.workDir, { recursive: true });
  commits.alice2 = alice.commit('probes fixed');
  commits.bob1 = repo('bob', 'lab-85-flawed-probes').commit('submission');
  commits.carol1 = repo('carol', 'lab-85-passing').commit('submission');

  const github = await startGithubDouble();
  const connection = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
  const subscriber = connection.duplicate();
  const workerConnection = connection.duplicate();
  const prefix = uniqueName('dash');
  const producer = await createGradeProducer({ connection, name: 'grade', prefix });
  const keys = queueKeys(producer.queue);
  const live = await createLiveFeed({ subscriber, queue: producer.queue, keys, by: 'student' });
  const eventsConnection = connection.duplicate();
  const events = new QueueEvents('grade', { connection: eventsConnection, prefix });
  events.on('error', () => {});
  await events.waitUntilReady();
  const graded: string[] = [];
  // The real worker: apps/worker's handler with its real dependencies; only the cluster stage is off.
  const worker: RunningGradeWorker = startGradeWorker({
    connection: workerConnection,
    queueName: 'grade',
    prefix,
    logger: silentLogger,
    shutdownGraceMs: 5_000,
    deps: {
      runner: runner(options.gitDelayMs ?? 0),
      stages: builtinStages,
      rubrics: createRubricProvider(),
      credentials: noCredentials,
      store,
      labs: { lab: (id) => course.labs.find((l) => l.id === id) },
      publishers: [
        storePublisher(store),
        progressPublisher(connection, keys, { minIntervalMs: 0 }),
        { name: 'test: graded jobs', publish: async (_report, grade) => void graded.push(grade.jobId) },
      ],
      cloneUrlAllow: [`file://${reposRoot}/`],
      skip: { cluster: 'no cluster in the dashboard tests' },
    },
  });

  const finished = async (jobId: string) => {
    const job = await producer.queue.getJob(jobId);
    if (!job) throw new Error(`no job ${jobId}`);
    return job.waitUntilFinished(events, 60_000);
  };
  // The lab: each push graded by the worker through the queue, as the api would queue it.
  const push = async (student: string, commit: string, pushedAt: string): Promise<string> => {
    const request: GradeJobRequest = {
      repository: {
        fullName: `course-org/lab-85-${student}`,
        cloneUrl: `file://${reposRoot}/course-org/lab-85-${student}.git`,
      },
      commit,
      ref: 'refs/heads/main',
      event: 'push',
      deliveryId: uniqueName('delivery'),
      author: student,
      requestedBy: student,
      pushedAt,
      rubricId: 'lab-85',
      lab: { id: 'lab-85', title: 'Lab 85: production Kubernetes' },
      student,
    };
    const { jobId } = await producer.enqueue(request);
    await finished(jobId);
    const stored = await store.get({
      repository: request.repository.fullName,
      commit,
      rubricId: 'lab-85',
      labId: 'lab-85',
    });
    return stored!.id;
  };
  const ids: Record<string, string> = {};
  ids.alice1 = await push('alice', commits.alice1, '2026-03-01T09:10:00Z');
  ids.alice2 = await push('alice', commits.alice2, '2026-03-01T20:40:00Z');
  ids.bob1 = await push('bob', commits.bob1, '2026-03-02T05:00:00Z');
  // Carol's grading as a cluster run would have stored it (the cluster stage's drill evidence: these tests
  // have no cluster), and as gradings before store migration 4 were: without source excerpts.
  const rubric = await loadRubric('lab-85', ROOT);
  const carolReport = withDrills(
    await gradeSource(
      { kind: 'directory', path: example('lab-85-passing') },
      { rubric, skip: { cluster: 'no cluster in the dashboard tests' } },
      { runner: createExecaRunner(), stages: builtinStages },
    ),
  );
  const carolMeta: GradeMetadata = {
    jobId: uniqueName('carol-job'),
    deliveryId: uniqueName('carol-delivery'),
    event: 'push',
    ref: 'refs/heads/main',
    pushedAt: '2026-03-01T23:30:00.000Z',
    attempt: 1,
    author: 'carol',
    student: 'carol',
    lab: { id: 'lab-85', title: 'Lab 85: production Kubernetes' },
    deadline: { status: 'on-time', deadline: '2026-03-02T00:00:00.000Z' },
  };
  ids.carol1 = (
    await store.save(
      { repository: 'course-org/lab-85-carol', commit: commits.carol1, rubricId: 'lab-85', labId: 'lab-85' },
      carolReport,
      carolMeta,
    )
  ).id;
  const reports = {
    flawed: (await store.getById(ids.alice1))!.report,
    passing: (await store.getById(ids.alice2))!.report,
  };

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
      // Where the worker clones from: the bare repositories (github.com in production).
      githubWebUrl: `file://${reposRoot}`,
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
    reports,
    ids,
    commits,
    graded,
    finished,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await worker.close();
      await events.close();
      eventsConnection.disconnect();
      await live.close();
      await producer.close();
      await deleteKeys(connection, prefix);
      subscriber.disconnect();
      workerConnection.disconnect();
      connection.disconnect();
      await github.close();
      await store.dropSchema();
      await store.close();
      for (const r of repos) r.cleanup();
    },
  };
}

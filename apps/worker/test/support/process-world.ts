/**
 * What a test of real `labgrader-worker` processes needs around them: a queue
 * under a unique prefix on the machine's Redis, a report store in a unique
 * PostgreSQL schema, bare repositories on disk that the workers may clone
 * (and nothing else), the environment every worker gets, jobs enqueued as the
 * API does, and cleanup that kills what is still running and checks that no
 * Redis key is left.
 *
 * Worker tests inside the test process use world.ts instead.
 */
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { expect } from '@jest/globals';
import type { Redis } from 'ioredis';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  type GradeJobRequest,
  type GradeProducer,
} from '@labgrader/queue';
import { createPostgresReportStore, type PostgresReportStore } from '@labgrader/store';
import { makeBareRepo, tempDir, type BareRepo } from '../../../../test/support/git-fixtures.js';
import {
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  countKeys,
  deleteKeys,
  uniqueName,
  uniqueSchema,
} from '../../../../packages/queue/test/support/services.js';
import { example } from './world.js';
import { spawnWorkerProcess, type WorkerProcess } from './worker-process.js';

export interface Submission {
  repo: BareRepo;
  sha: string;
}

export interface ProcessWorld {
  prefix: string;
  schema: string;
  /** The workers' only CLONE_URL_ALLOW root. */
  reposRoot: string;
  /** Scratch space removed by cleanup() (work trees, workspaces, marker files). */
  scratch: string;
  producer: GradeProducer;
  store: PostgresReportStore;
  /** Every worker process started, for the test's own assertions. */
  workers: WorkerProcess[];
  /**
   * A bare repository `course-org/<unique name>` holding a copy of
   * `examples/<example>` (default lab-85-passing), changed by `edit`, committed.
   */
  submission(name: string, options?: { example?: string; edit?: (dir: string) => void }): Submission;
  /** A push job for the submission, as the API enqueues it; resolves with the job's id. */
  enqueue(sub: Submission, overrides?: Partial<GradeJobRequest>): Promise<string>;
  /** Polls (every `everyMs`) until each job is completed or failed, or `timeoutMs` passed; returns each state. */
  settle(
    jobIds: readonly string[],
    options: { timeoutMs: number; everyMs?: number; onPoll?: () => void },
  ): Promise<string[]>;
  /** Starts `labgrader-worker` with the world's environment, `env` over it (its workspaces under scratch by default). */
  startWorker(name: string, env?: Record<string, string>): WorkerProcess;
  cleanup(): Promise<void>;
}

export async function createProcessWorld(label: string): Promise<ProcessWorld> {
  const prefix = uniqueName(label);
  const schema = uniqueSchema(label);
  const reposRoot = tempDir(`labgrader-${label}-repos-`);
  const scratch = tempDir(`labgrader-${label}-work-`);
  const connection: Redis = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
  const producer = await createGradeProducer({ connection, name: 'grade', prefix });
  const store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema });
  await store.migrate();
  const repos: BareRepo[] = [];
  const children: ChildProcess[] = [];
  const workers: WorkerProcess[] = [];

  return {
    prefix,
    schema,
    reposRoot,
    scratch,
    producer,
    store,
    workers,

    submission(name, options = {}) {
      const dir = path.join(scratch, uniqueName(name));
      cpSync(example(options.example ?? 'lab-85-passing'), dir, { recursive: true });
      options.edit?.(dir);
      const repo = makeBareRepo(dir, { under: reposRoot, fullName: `course-org/${uniqueName(name)}` });
      repos.push(repo);
      return { repo, sha: repo.commit(`${name} submission`) };
    },

    async enqueue({ repo, sha }, overrides = {}) {
      const { jobId } = await producer.enqueue({
        repository: { fullName: repo.fullName!, cloneUrl: repo.url },
        commit: sha,
        ref: 'refs/heads/main',
        event: 'push',
        deliveryId: uniqueName('delivery'),
        author: 'student',
        pushedAt: '2026-03-01T10:00:00.000Z',
        rubricId: 'lab-85',
        ...overrides,
      });
      return jobId;
    },

    async settle(jobIds, { timeoutMs, everyMs = 1_000, onPoll }) {
      let states: string[] = [];
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
        onPoll?.();
        states = await Promise.all(
          jobIds.map(async (id) => (await (await producer.queue.getJob(id))?.getState()) ?? 'missing'),
        );
        if (states.every((s) => s === 'completed' || s === 'failed')) break;
        await new Promise((r) => setTimeout(r, everyMs));
      }
      return states;
    },

    startWorker(name, env = {}) {
      const workspaces = path.join(scratch, `workspaces-${name}`);
      mkdirSync(workspaces, { recursive: true });
      const worker = spawnWorkerProcess(
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: process.env.HOME ?? '/root',
          DATABASE_URL: TEST_DATABASE_URL,
          STORE_SCHEMA: schema,
          REDIS_URL: TEST_REDIS_URL,
          GRADE_QUEUE_NAME: 'grade',
          GRADE_QUEUE_PREFIX: prefix,
          CLONE_URL_ALLOW: `file://${reposRoot}/`,
          WORKSPACE_ROOT: workspaces,
          HEALTH_PORT: '0',
          HEALTH_HOST: '127.0.0.1',
          LOG_LEVEL: 'info',
          ...env,
        },
        children,
      );
      workers.push(worker);
      return worker;
    },

    async cleanup() {
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await producer.queue.obliterate({ force: true }).catch(() => {});
      await producer.close();
      await deleteKeys(connection, prefix);
      expect(await countKeys(connection, prefix)).toBe(0);
      await closeRedis(connection);
      await store.dropSchema();
      await store.close();
      for (const repo of repos) repo.cleanup();
      for (const dir of [reposRoot, scratch]) rmSync(dir, { recursive: true, force: true });
    },
  };
}

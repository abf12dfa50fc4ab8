/**
 * Everything a worker test needs, real: a queue on the machine's Redis under
 * a unique prefix, a report store in a unique PostgreSQL schema, git
 * repositories on disk holding the example labs, captured logs; and cleanup
 * that removes all of it and checks nothing is left.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  AbortedError,
  InfrastructureError,
  type CommandOptions,
  type CommandRunner,
  type Logger,
} from '@labgrader/core';
import { builtinStages, loadRubric } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  createServiceLogger,
  startSupersedeWatcher,
  type GradeJobRequest,
  type GradeProducer,
  type SupersedeWatcher,
} from '@labgrader/queue';
import { createPostgresReportStore, type PostgresReportStore } from '@labgrader/store';
import {
  createRubricProvider,
  noCredentials,
  startGradeWorker,
  storePublisher,
  type CredentialsProvider,
  type GradeDeps,
  type RunningGradeWorker,
} from '../../src/index.js';
import { makeBareRepo, tempDir, type BareRepo } from '../../../../test/support/git-fixtures.js';
import {
  LogCapture,
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  countKeys,
  deleteKeys,
  uniqueName,
  uniqueSchema,
} from '../../../../packages/queue/test/support/services.js';

export const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
export const example = (name: string) => path.join(ROOT, 'examples', name);

/**
 * Full marks for examples/lab-85-passing with the cluster stage skipped (as in
 * every service test): lab-85's points minus its cluster criteria's, which
 * the report leaves out of the total rather than counting as zero.
 */
export async function lab85FullMarks(): Promise<{ points: number; rubricMaxPoints: number }> {
  const rubric = await loadRubric('lab-85', ROOT);
  const sum = (stage?: string) =>
    rubric.criteria.filter((c) => stage === undefined || c.stage !== stage).reduce((total, c) => total + c.points, 0);
  return { points: sum('cluster'), rubricMaxPoints: sum() };
}

/** Fast retries for tests: 3 attempts, 20 ms → 40 ms apart. */
export const TEST_JOB_OPTIONS = { attempts: 3, backoff: { type: 'exponential' as const, delay: 20 } };

export interface World {
  prefix: string;
  redisUrl: string;
  producer: GradeProducer;
  producerConnection: Redis;
  events: QueueEvents;
  store: PostgresReportStore;
  logs: LogCapture;
  /** The workers' logger (writes to `logs`). */
  logger: Logger;
  repos: BareRepo[];
  /** Where the bare repositories live, as `<owner>/<name>.git`; the workers' only CLONE_URL_ALLOW root. */
  reposRoot: string;
  /**
   * A bare repository holding a copy of `examples/<name>`, committed, at
   * `<reposRoot>/<fullName>.git` (default `course-org/<unique name>`); returns it and its SHA.
   */
  repo(exampleName: string, options?: { fullName?: string; under?: string }): { repo: BareRepo; sha: string };
  /** A push job for that repository and commit. */
  pushJob(repo: BareRepo, sha: string, overrides?: Partial<GradeJobRequest>): GradeJobRequest;
  /** Starts a worker; stopped by cleanup() if the test did not. */
  startWorker(
    overrides?: Partial<GradeDeps> & { shutdownGraceMs?: number; connection?: Redis; supersede?: boolean },
  ): RunningGradeWorker;
  /** Gracefully stops every worker started so far. */
  stopWorkers(): Promise<void>;
  /** Resolves with the return value when the job completes; rejects with its failure. */
  finished(jobId: string): Promise<unknown>;
  cleanup(): Promise<void>;
}

export async function createWorld(label: string, options: { redisUrl?: string } = {}): Promise<World> {
  const redisUrl = options.redisUrl ?? TEST_REDIS_URL;
  const prefix = uniqueName(label);
  const producerConnection = createRedisConnection(redisUrl, {
    role: 'producer',
    overrides: { disconnectTimeout: 100 },
  });
  producerConnection.on('error', () => {});
  const producer = await createGradeProducer({
    connection: producerConnection,
    name: 'grade',
    prefix,
    jobOptions: TEST_JOB_OPTIONS,
  });
  const url = new URL(redisUrl);
  const events = new QueueEvents('grade', {
    connection: { host: url.hostname, port: Number(url.port || 6379), disconnectTimeout: 100 },
    prefix,
  });
  events.on('error', () => {});
  await events.waitUntilReady();
  const store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema: uniqueSchema(label) });
  await store.migrate();
  const logs = new LogCapture();
  const logger = createServiceLogger({ name: 'labgrader-worker', destination: logs, level: 'debug' });
  const repos: BareRepo[] = [];
  const reposRoot = tempDir('labgrader-repos-');
  const workers: Array<{ running: RunningGradeWorker; connection: Redis; supersede?: SupersedeWatcher }> = [];

  const world: World = {
    prefix,
    redisUrl,
    producer,
    producerConnection,
    events,
    store,
    logs,
    logger,
    repos,
    reposRoot,
    repo(exampleName, options = {}) {
      const fullName = options.fullName ?? `course-org/${uniqueName(exampleName)}`;
      const repo = makeBareRepo(example(exampleName), { under: options.under ?? reposRoot, fullName });
      repos.push(repo);
      return { repo, sha: repo.commit(`${exampleName} submission`) };
    },
    pushJob(repo, sha, overrides = {}) {
      if (!repo.fullName) throw new Error('pushJob needs a repository made by world.repo()');
      return {
        repository: { fullName: repo.fullName, cloneUrl: repo.url },
        commit: sha,
        ref: 'refs/heads/main',
        event: 'push',
        deliveryId: uniqueName('delivery'),
        author: 'student-a',
        requestedBy: 'student-a',
        pushedAt: '2026-03-01T10:00:00.000Z',
        rubricId: 'lab-85',
        ...overrides,
      };
    },
    startWorker(overrides = {}) {
      const { shutdownGraceMs, connection: given, supersede: watch, ...deps } = overrides;
      const connection =
        given ?? createRedisConnection(redisUrl, { role: 'worker', overrides: { disconnectTimeout: 100 } });
      connection.on('error', () => {});
      const supersede = watch
        ? startSupersedeWatcher({ connection, keys: { prefix, queueName: 'grade' }, pollIntervalMs: 200 })
        : undefined;
      const running = startGradeWorker({
        ...(supersede ? { supersede } : {}),
        connection,
        queueName: 'grade',
        prefix,
        shutdownGraceMs: shutdownGraceMs ?? 5_000,
        logger,
        deps: {
          runner: createExecaRunner(),
          stages: builtinStages,
          rubrics: createRubricProvider(),
          credentials: noCredentials,
          store,
          publishers: [storePublisher(store)],
          cloneUrlAllow: [`file://${reposRoot}/`],
          skip: { cluster: 'no cluster in the service tests' },
          ...deps,
        },
      });
      workers.push({ running, connection, ...(supersede ? { supersede } : {}) });
      return running;
    },
    async finished(jobId) {
      const job = await producer.queue.getJob(jobId);
      if (!job) throw new Error(`no job ${jobId}`);
      return job.waitUntilFinished(events);
    },
    async stopWorkers() {
      for (const { running, connection, supersede } of workers.splice(0)) {
        await running.close();
        await supersede?.close();
        await closeRedis(connection);
      }
    },
    async cleanup() {
      await world.stopWorkers();
      await producer.queue.obliterate({ force: true }).catch(() => {});
      await producer.close();
      await events.close();
      if (producerConnection.status === 'ready') {
        await deleteKeys(producerConnection, prefix);
        const left = await countKeys(producerConnection, prefix);
        if (left !== 0) throw new Error(`${left} Redis keys left under ${prefix}`);
      }
      await closeRedis(producerConnection);
      await store.dropSchema();
      await store.close();
      for (const repo of repos) repo.cleanup();
    },
  };
  return world;
}

export interface RecordedCall {
  command: string;
  args: readonly string[];
  env: Record<string, string | undefined>;
}

/** The real runner, recording every call (to check what git was given). */
export function recordingRunner(): CommandRunner & { calls: RecordedCall[] } {
  const real = createExecaRunner();
  const calls: RecordedCall[] = [];
  return {
    calls,
    run(command, args, options: CommandOptions = {}) {
      calls.push({ command, args, env: { ...options.env } });
      return real.run(command, args, options);
    },
  };
}

/** The real runner, except that the first `failures` commands fail as if the machine had a problem. */
export function flakyRunner(failures: number): CommandRunner & { failed: number } {
  const real = createExecaRunner();
  const runner = {
    failed: 0,
    run(command: string, args: readonly string[], options?: CommandOptions) {
      if (runner.failed < failures) {
        runner.failed += 1;
        return Promise.reject(
          new InfrastructureError(`simulated infrastructure failure #${runner.failed} running ${command}`),
        );
      }
      return real.run(command, args, options);
    },
  };
  return runner;
}

/**
 * The real runner, except that `git fetch` waits for `release()` (or for the
 * job's signal, honoured like execa does). `started` resolves when a fetch is waiting.
 */
export function gatedRunner(): CommandRunner & { started: Promise<void>; release(): void; waiting: number } {
  const real = createExecaRunner();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let markStarted!: () => void;
  const started = new Promise<void>((resolve) => (markStarted = resolve));
  const runner = {
    started,
    release,
    waiting: 0,
    async run(command: string, args: readonly string[], options: CommandOptions = {}) {
      if (command === 'git' && args.includes('fetch')) {
        runner.waiting += 1;
        markStarted();
        const signal = options.signal;
        try {
          await new Promise<void>((resolve, reject) => {
            if (signal?.aborted) return reject(new AbortedError(`'git' was cancelled`));
            signal?.addEventListener('abort', () => reject(new AbortedError(`'git' was cancelled`)), { once: true });
            void gate.then(resolve);
          });
        } finally {
          runner.waiting -= 1;
        }
      }
      return real.run(command, args, options);
    },
  };
  return runner;
}

export const tokenCredentials = (token: string): CredentialsProvider => ({
  async tokenFor() {
    return token;
  },
});

#!/usr/bin/env node
/**
 * labgrader-worker: grades the jobs the API queued.
 * Configuration: environment variables (see apps/worker/README.md).
 */
import os from 'node:os';
import { createBuiltinStages, limitYoungGeneration } from '@labgrader/builtin';
import { createKindClusterPool, type ClusterPool } from '@labgrader/cluster';
import { loadCourseFile, showClusterDetails, type CourseConfig } from '@labgrader/course';
import { createExecaRunner } from '@labgrader/exec';
import { createGithubApp, loadGithubAppConfig } from '@labgrader/github';
import {
  closeRedis,
  createRedisConnection,
  createServiceLogger,
  createServiceMetrics,
  createGradeQueue,
  describeRedisUrl,
  observeGithubRequests,
  pullRequestsKey,
  redisReachable,
  runService,
  startSupersedeWatcher,
  urlPassword,
} from '@labgrader/queue';
import { createPostgresReportStore } from '@labgrader/store';
import { clusterPlanner, warmClusterShapes } from './cluster.js';
import {
  createRedisClusterSlots,
  dockerEngineId,
  sweepOrphanClusters,
  type RedisClusterSlots,
} from './cluster-slots.js';
import { loadWorkerConfig, type WorkerConfig } from './config.js';
import { startHealthServer } from './health.js';
import { createJanitor } from './janitor.js';
import { noCredentials, storePublisher, type ReportPublisher } from './ports.js';
import { checkRunPublisher, pullRequestCommentPublisher } from './publishers.js';
import { progressPublisher } from './progress-publisher.js';
import { startRedeliverySweep, type RunningRedelivery } from './redelivery.js';
import { createRubricProvider } from './rubrics.js';
import { startGradeWorker } from './worker.js';

async function main(): Promise<void> {
  limitYoungGeneration();
  const config: WorkerConfig = loadWorkerConfig(process.env);
  const githubConfig = loadGithubAppConfig(process.env);
  const logger = createServiceLogger({
    name: 'labgrader-worker',
    level: config.logLevel,
    secrets: [urlPassword(config.redisUrl), urlPassword(config.databaseUrl), githubConfig?.privateKey],
  });
  const metrics = createServiceMetrics({ service: 'labgrader-worker' });
  const course: CourseConfig | undefined = config.courseFile ? await loadCourseFile(config.courseFile) : undefined;

  const store = createPostgresReportStore({
    connectionString: config.databaseUrl,
    schema: config.storeSchema,
    applicationName: 'labgrader-worker',
  });
  if (config.migrate) {
    const { applied } = await store.migrate();
    logger.info('report store ready', { schema: config.storeSchema, migrationsApplied: applied });
  }

  // What a killed predecessor left behind goes first, then every JANITOR_INTERVAL_SECONDS.
  const janitor = await createJanitor({ root: config.workspaceRoot, logger, metrics });
  await janitor.sweep();
  janitor.start(config.janitorIntervalMs);

  const connection = createRedisConnection(config.redisUrl, { role: 'worker', name: 'labgrader-worker' });
  connection.on('error', (err) => logger.warn('redis connection error', { error: err.message }));
  const keys = { prefix: config.queuePrefix, queueName: config.queueName };
  const github = githubConfig
    ? createGithubApp(githubConfig, { logger, onRequest: observeGithubRequests(metrics) })
    : undefined;
  const showDetails = (job: { lab?: { id: string } }) => {
    const lab = job.lab ? course?.labs.find((l) => l.id === job.lab!.id) : undefined;
    return lab ? showClusterDetails(lab, new Date()) : true;
  };
  const publishers: ReportPublisher[] = [storePublisher(store)];
  if (github) {
    publishers.push(
      checkRunPublisher(github.checks, {
        progressIntervalMs: config.checkProgressIntervalMs,
        showClusterDetails: showDetails,
      }),
      pullRequestCommentPublisher(github.comments, {
        pullRequestsOf: async (jobId) =>
          (await connection.smembers(pullRequestsKey(keys, jobId))).map(Number).filter(Number.isInteger),
        showClusterDetails: showDetails,
      }),
    );
  }
  // Live progress for the dashboard (Redis pub/sub; never fails a job), after the store has the report.
  publishers.push(progressPublisher(connection, keys));
  logger.info('starting', {
    redis: describeRedisUrl(config.redisUrl),
    queue: config.queueName,
    concurrency: config.concurrency,
    cluster: config.clusterStage,
    course: course ? course.id : '(none)',
    github: github ? 'App: installation tokens, check runs, PR comments' : 'not configured (public repositories only)',
    workspaces: janitor.ownDir,
  });

  // The per-host cap on kind clusters, shared through Redis by every worker of this Docker engine, and the
  // janitor of the clusters a dead worker left (on record, lease expired).
  const runner = createExecaRunner();
  const rubrics = createRubricProvider(config.rubricsDir ? { directory: config.rubricsDir } : {});
  const planStages = clusterPlanner(config.clusterStage, {
    runner,
    env: process.env,
    kubeContext: config.clusterKubeContext,
  });
  let clusterSlots: RedisClusterSlots | undefined;
  let clusterSweep: NodeJS.Timeout | undefined;
  if (config.clusterStage === 'auto' || config.clusterStage === 'kind') {
    const docker = process.env.LABGRADER_DOCKER || 'docker';
    const engine = await dockerEngineId(runner, docker).catch((err: unknown) => {
      logger.warn(
        'no Docker engine: kind clusters are not capped here (the cluster stage will say why it cannot run)',
        {
          error: err instanceof Error ? err.message : String(err),
        },
      );
      return undefined;
    });
    if (engine) {
      const slots = createRedisClusterSlots({
        redis: connection,
        prefix: config.queuePrefix,
        engine,
        capacity: config.clusterMaxPerHost,
        leaseMs: config.clusterSlotLeaseMs,
        worker: `${os.hostname()}/${process.pid}`,
        logger,
      });
      clusterSlots = slots;
      const sweepClusters = () =>
        sweepOrphanClusters({ slots, runner, kind: process.env.LABGRADER_KIND || 'kind', docker, logger }).catch(
          (err: unknown) => logger.warn('cluster janitor failed', { error: String(err) }),
        );
      await sweepClusters();
      clusterSweep = setInterval(() => void sweepClusters(), Math.min(config.janitorIntervalMs, 120_000));
      clusterSweep.unref();
      logger.info('kind clusters capped on this host', { engine, max: config.clusterMaxPerHost });
    }
  }
  // Warm kind clusters: each job grades in namespaces of its own in one made before it (packages/cluster/src/pool.ts).
  let clusterPool: ClusterPool | undefined;
  if ((config.clusterStage === 'kind' || config.clusterStage === 'auto') && config.clusterWarmPool > 0) {
    clusterPool = createKindClusterPool({
      size: config.clusterWarmPool,
      maxJobsPerCluster: config.clusterWarmMaxJobs,
      runner,
      logger,
      ...(clusterSlots ? { slots: clusterSlots } : {}),
      onEvent: (event) => metrics.clusterPoolEvents.inc({ event: event.type }),
    });
    metrics.observeClusterPool(() => clusterPool!.stats());
    const rubricIds = course ? course.labs.map((l) => l.rubric.id) : [process.env.LABGRADER_RUBRIC || 'lab-85'];
    const shapes = await warmClusterShapes(rubricIds, {
      rubrics,
      planStages,
      env: process.env,
    }).catch((err: unknown) => {
      logger.warn('the warm cluster pool cannot tell which clusters to make; it fills as jobs come', {
        error: String(err),
      });
      return [];
    });
    for (const shape of shapes) clusterPool.prewarm(shape);
    logger.info('warm kind clusters', {
      perShape: config.clusterWarmPool,
      maxJobsPerCluster: config.clusterWarmMaxJobs,
      prewarming: shapes.length,
    });
  }

  const supersede = startSupersedeWatcher({
    connection,
    keys,
    onError: (err) => logger.warn('supersede watcher error', { error: err }),
  });
  const running = startGradeWorker({
    connection,
    queueName: config.queueName,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDurationMs: config.lockDurationMs,
    shutdownGraceMs: config.shutdownGraceMs,
    logger,
    metrics,
    supersede,
    janitor,
    deps: {
      runner,
      stages: createBuiltinStages({
        env: process.env,
        // Jobs that make a cluster of their own take the cap through the pool: an idle warm cluster yields its slot.
        ...(clusterSlots ? { clusterSlots: clusterPool?.slots() ?? clusterSlots } : {}),
        ...(clusterPool ? { clusterPool } : {}),
      }),
      rubrics,
      credentials: github?.tokens ?? noCredentials,
      store,
      ...(course ? { labs: { lab: (id: string) => course.labs.find((l) => l.id === id) } } : {}),
      publishers,
      cloneUrlAllow: config.cloneUrlAllow,
      planStages,
    },
  });
  // The queue's depth and age for /metrics (read-only use of the same connection).
  const queue = createGradeQueue({ connection, name: config.queueName, prefix: config.queuePrefix });
  queue.on('error', () => {});
  metrics.observeQueue(queue);

  let redelivery: RunningRedelivery | undefined;
  if (github && config.redeliveryIntervalMs > 0) {
    redelivery = await startRedeliverySweep({
      deliveries: github.deliveries,
      connection,
      prefix: config.queuePrefix,
      queueName: `${config.queueName}-maintenance`,
      intervalMs: config.redeliveryIntervalMs,
      lookbackMs: config.redeliveryLookbackMs,
      logger,
      metrics,
    });
  }

  let stopping = false;
  const health = await startHealthServer({
    port: config.healthPort,
    host: config.healthHost,
    live: () => !stopping,
    ready: async () => ({ redis: await redisReachable(connection), postgres: await store.ping() }),
    metrics,
  });
  logger.info('health and metrics', { port: health.port });

  const stop = async (signal: string) => {
    if (stopping) {
      logger.info('already shutting down', { signal });
      return;
    }
    stopping = true;
    logger.info('shutting down', { signal, jobsInFlight: running.active });
    try {
      await running.close();
      await redelivery?.close();
      await supersede.close();
      await queue.close();
      // After the jobs: the warm clusters go with the worker (a killed worker's go to the cluster janitor).
      await clusterPool?.close();
    } finally {
      janitor.stop();
      if (clusterSweep) clearInterval(clusterSweep);
      await closeRedis(connection);
      await store.close();
      await health.close();
      logger.info('stopped');
    }
    process.exit(0);
  };
  // `on`, not `once`: with `once` our listener is gone by the time execa's signal-exit handler runs;
  // seeing no other listener, it re-raises the signal and the default action kills the worker at once,
  // mid-job. Kept registered, a second SIGTERM is only logged.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

runService('labgrader-worker', main);

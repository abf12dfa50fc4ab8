#!/usr/bin/env node
/**
 * labgrader-worker: grades the jobs the API queued.
 * Configuration: environment variables (see apps/worker/README.md).
 */
import { createBuiltinStages, limitYoungGeneration } from '@labgrader/builtin';
import { createExecaRunner } from '@labgrader/exec';
import {
  closeRedis,
  createRedisConnection,
  createServiceLogger,
  describeRedisUrl,
  runService,
  urlPassword,
} from '@labgrader/queue';
import { createPostgresReportStore } from '@labgrader/store';
import { clusterPlanner } from './cluster.js';
import { loadWorkerConfig, type WorkerConfig } from './config.js';
import { noCredentials, storePublisher } from './ports.js';
import { createRubricProvider } from './rubrics.js';
import { startGradeWorker } from './worker.js';

async function main(): Promise<void> {
  limitYoungGeneration();
  const config: WorkerConfig = loadWorkerConfig(process.env);
  const logger = createServiceLogger({
    name: 'labgrader-worker',
    level: config.logLevel,
    secrets: [urlPassword(config.redisUrl), urlPassword(config.databaseUrl)],
  });

  const store = createPostgresReportStore({
    connectionString: config.databaseUrl,
    schema: config.storeSchema,
    applicationName: 'labgrader-worker',
  });
  if (config.migrate) {
    const { applied } = await store.migrate();
    logger.info('report store ready', { schema: config.storeSchema, migrationsApplied: applied });
  }

  const connection = createRedisConnection(config.redisUrl, { role: 'worker', name: 'labgrader-worker' });
  connection.on('error', (err) => logger.warn('redis connection error', { error: err.message }));
  logger.info('starting', {
    redis: describeRedisUrl(config.redisUrl),
    queue: config.queueName,
    concurrency: config.concurrency,
    cluster: config.clusterStage,
  });

  const runner = createExecaRunner();
  const running = startGradeWorker({
    connection,
    queueName: config.queueName,
    prefix: config.queuePrefix,
    concurrency: config.concurrency,
    lockDurationMs: config.lockDurationMs,
    shutdownGraceMs: config.shutdownGraceMs,
    logger,
    deps: {
      runner,
      stages: createBuiltinStages({ env: process.env }),
      rubrics: createRubricProvider(config.rubricsDir ? { directory: config.rubricsDir } : {}),
      credentials: noCredentials,
      store,
      publishers: [storePublisher(store)],
      cloneUrlAllow: config.cloneUrlAllow,
      planStages: clusterPlanner(config.clusterStage, { runner, env: process.env }),
    },
  });

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    try {
      await running.close();
    } finally {
      await closeRedis(connection);
      await store.close();
      logger.info('stopped');
    }
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

runService('labgrader-worker', main);

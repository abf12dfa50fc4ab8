#!/usr/bin/env node
/**
 * labgrader-api: receives GitHub webhooks and enqueues grading jobs.
 * Configuration: environment variables (see apps/api/README.md).
 */
import { createServer, type Server } from 'node:http';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  createServiceLogger,
  createServiceMetrics,
  describeRedisUrl,
  runService,
  urlPassword,
  type GradeProducer,
} from '@labgrader/queue';
import { createRequestListener } from './app.js';
import { loadApiConfig, type ApiConfig } from './config.js';
import { courseRouter, loadCourse } from './course.js';
import { githubEdge } from './github-app.js';

async function main(): Promise<void> {
  const config: ApiConfig = loadApiConfig(process.env);
  const github = await githubEdge(process.env);
  const logger = createServiceLogger({
    name: 'labgrader-api',
    level: config.logLevel,
    secrets: [config.webhookSecret, ...config.previousWebhookSecrets, urlPassword(config.redisUrl), ...github.secrets],
  });
  const course = await loadCourse(
    config.courseFile ? { file: config.courseFile, rubricId: config.rubricId } : { rubricId: config.rubricId },
  );
  const metrics = createServiceMetrics({ service: 'labgrader-api' });
  const connection = createRedisConnection(config.redisUrl, { role: 'producer', name: 'labgrader-api' });
  connection.on('error', (err) => logger.warn('redis connection error', { error: err.message }));

  const state: { server?: Server; producer?: GradeProducer; stopping: boolean } = { stopping: false };
  const abort = new AbortController();
  const stop = async (signal: string) => {
    if (state.stopping) return;
    state.stopping = true;
    logger.info('shutting down', { signal });
    abort.abort();
    setTimeout(() => process.exit(1), 10_000).unref();
    // Stop accepting connections; requests in flight (a few ms each) complete.
    await new Promise<void>((resolve) => (state.server ? state.server.close(() => resolve()) : resolve()));
    await checks?.drain();
    await state.producer?.close().catch(() => {});
    await closeRedis(connection);
    logger.info('stopped');
    process.exit(0);
  };
  // `on`, not `once`: a listener must stay registered, or a library's signal handler (execa's
  // signal-exit) sees none left and re-raises the signal, killing the process mid-shutdown.
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const app = github.create({ logger, metrics });
  const checks = app?.queuedCheckRuns;
  logger.info('waiting for Redis', { redis: describeRedisUrl(config.redisUrl) });
  try {
    state.producer = await createGradeProducer({
      connection,
      name: config.queueName,
      prefix: config.queuePrefix,
      signal: abort.signal,
    });
  } catch (err) {
    if (state.stopping) return;
    throw err;
  }
  metrics.observeQueue(state.producer.queue);
  const listener = createRequestListener({
    config,
    producer: state.producer,
    logger,
    course: courseRouter(course),
    metrics,
    ...(checks ? { checks } : {}),
  });
  const server = createServer(listener).listen(config.port, config.host, () => {
    const address = server.address();
    logger.info('listening', {
      port: typeof address === 'object' && address ? address.port : config.port,
      queue: config.queueName,
      course: course.configured ? course.id : `(none: every repository, rubric ${config.rubricId})`,
      labs: course.labs.map((l) => l.id),
      github: checks ? 'check runs' : 'not configured (nothing is reported back)',
    });
  });
  // Slow clients cannot hold sockets: GitHub itself gives up after 10 s.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  state.server = server;
}

runService('labgrader-api', main);

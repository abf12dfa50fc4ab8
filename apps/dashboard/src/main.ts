#!/usr/bin/env node
/**
 * labgrader-dashboard: the grade dashboard and its read API.
 * Configuration: environment variables (apps/dashboard/README.md).
 */
import type { Server } from 'node:http';
import {
  closeRedis,
  createGradeProducer,
  createRedisConnection,
  createServiceLogger,
  describeRedisUrl,
  queueKeys,
  runService,
  urlPassword,
  type GradeProducer,
} from '@labgrader/queue';
import { defaultCourse, loadCourseFile } from '@labgrader/course';
import { createPostgresReportStore } from '@labgrader/store';
import { createDashboardApp } from './app.js';
import { createAuth } from './auth.js';
import { loadDashboardConfig } from './config.js';
import { createLiveFeed, type LiveFeed } from './live.js';
import { createRegrader } from './regrade.js';

async function main(): Promise<void> {
  const config = loadDashboardConfig(process.env);
  const logger = createServiceLogger({
    name: 'labgrader-dashboard',
    level: config.logLevel,
    secrets: [
      config.sessionSecret,
      config.adminToken,
      config.oauth?.clientSecret,
      urlPassword(config.redisUrl),
      urlPassword(config.databaseUrl),
    ].filter((s): s is string => Boolean(s)),
  });
  const course = config.courseFile ? await loadCourseFile(config.courseFile) : defaultCourse(config.rubricId);
  const store = createPostgresReportStore({
    connectionString: config.databaseUrl,
    schema: config.storeSchema,
    applicationName: 'labgrader-dashboard',
  });
  const connection = createRedisConnection(config.redisUrl, { role: 'producer', name: 'labgrader-dashboard' });
  connection.on('error', (err) => logger.warn('redis connection error', { error: err.message }));
  const subscriber = connection.duplicate();
  subscriber.on('error', () => {});

  logger.info('waiting for Redis', { redis: describeRedisUrl(config.redisUrl) });
  const producer: GradeProducer = await createGradeProducer({
    connection,
    name: config.queueName,
    prefix: config.queuePrefix,
  });
  const keys = queueKeys(producer.queue);
  const by = course.configured ? 'student' : 'owner';
  const live: LiveFeed = await createLiveFeed({ subscriber, queue: producer.queue, keys, by });
  const regrader = createRegrader({
    producer,
    githubWebUrl: config.githubWebUrl,
    onQueued: (grading, result) =>
      live.record({
        v: 1,
        jobId: result.jobId,
        lab: grading.labId,
        ...(grading.meta.student ? { student: grading.meta.student.toLowerCase() } : {}),
        repository: grading.repository,
        commit: grading.commit,
        state: 'queued',
        at: new Date().toISOString(),
      }),
  });

  const auth = createAuth({
    sessionSecret: config.sessionSecret,
    ...(config.adminToken ? { adminToken: config.adminToken } : {}),
    ...(config.oauth ? { oauth: config.oauth } : {}),
    secureCookies: config.publicUrl?.startsWith('https://') ?? false,
    course,
  });
  const app = createDashboardApp({
    store,
    course,
    auth,
    logger,
    githubWebUrl: config.githubWebUrl,
    ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}),
    regrader,
    live,
  });
  const server: Server = app.listen(config.port, config.host, () => {
    logger.info('listening', {
      port: config.port,
      course: course.configured ? course.id : `(none: each rubric a lab, each owner a student)`,
      signIn: [config.oauth ? 'github' : undefined, config.adminToken ? 'admin token' : undefined].filter(Boolean),
    });
  });
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    setTimeout(() => process.exit(1), 10_000).unref();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await live.close();
    await producer.close().catch(() => {});
    await closeRedis(subscriber);
    await closeRedis(connection);
    await store.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

runService('labgrader-dashboard', main);

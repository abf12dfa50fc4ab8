import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@labgrader/core';
import { createExecaRunner } from '@labgrader/exec';
import {
  clusterPlanner,
  createGradeHandler,
  createRubricProvider,
  loadWorkerConfig,
  type GradeDeps,
} from '../src/index.js';
import { ROOT } from './support/world.js';

describe('worker configuration', () => {
  it('needs only the database URL', () => {
    expect(loadWorkerConfig({ DATABASE_URL: 'postgres://labgrader:pw@db:5432/labgrader' })).toEqual({
      redisUrl: 'redis://127.0.0.1:6379',
      databaseUrl: 'postgres://labgrader:pw@db:5432/labgrader',
      storeSchema: 'labgrader',
      migrate: true,
      queueName: 'labgrader-grade',
      queuePrefix: 'labgrader',
      concurrency: 1,
      shutdownGraceMs: 30_000,
      lockDurationMs: 60_000,
      cloneUrlAllow: ['https://github.com/'],
      clusterStage: 'auto',
      clusterMaxPerHost: 2,
      clusterSlotLeaseMs: 60_000,
      clusterWarmPool: 0,
      clusterWarmMaxJobs: 25,
      logLevel: 'info',
      workspaceRoot: path.join(os.tmpdir(), 'labgrader-worker'),
      janitorIntervalMs: 300_000,
      healthPort: 3001,
      healthHost: '0.0.0.0',
      redeliveryIntervalMs: 600_000,
      redeliveryLookbackMs: 24 * 3600_000,
      checkProgressIntervalMs: 10_000,
    });
  });

  it('reads the course file, the workspace root and the sweep intervals', () => {
    expect(
      loadWorkerConfig({
        DATABASE_URL: 'postgres://labgrader:pw@db:5432/labgrader',
        LABGRADER_COURSE: '/etc/labgrader/course.yaml',
        WORKSPACE_ROOT: '/var/lib/labgrader/workspaces',
        REDELIVERY_INTERVAL_SECONDS: '0',
        CHECK_PROGRESS_INTERVAL_SECONDS: '2.5',
      }),
    ).toMatchObject({
      courseFile: '/etc/labgrader/course.yaml',
      workspaceRoot: '/var/lib/labgrader/workspaces',
      redeliveryIntervalMs: 0,
      checkProgressIntervalMs: 2_500,
    });
    expect(() => loadWorkerConfig({ DATABASE_URL: 'postgres://x@y/z', WORKSPACE_ROOT: 'relative/dir' })).toThrow(
      /WORKSPACE_ROOT: must be an absolute path/,
    );
  });

  it('names each bad variable and never echoes a value', () => {
    let error: unknown;
    try {
      loadWorkerConfig({
        DATABASE_URL: 'mysql://root:hunter2@db/x',
        WORKER_CONCURRENCY: '0',
        SHUTDOWN_GRACE_SECONDS: 'soon',
        CLONE_URL_ALLOW: 'https://github.com/, ssh://git@example.com/',
        CLUSTER_STAGE: 'always',
        STORE_MIGRATE: 'perhaps',
        STORE_SCHEMA: 'Robert"); DROP',
      });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    expect(text).toMatch(/^DATABASE_URL: must be a postgres:\/\/ URL$/m);
    expect(text).toMatch(/^WORKER_CONCURRENCY: /m);
    expect(text).toMatch(/^SHUTDOWN_GRACE_SECONDS: /m);
    expect(text).toMatch(/^CLONE_URL_ALLOW\.1: each entry must start with https:\/\/, http:\/\/ or file:\/\/$/m);
    expect(text).toMatch(/^CLUSTER_STAGE: /m);
    expect(text).toMatch(/^STORE_MIGRATE: must be true or false$/m);
    expect(text).toMatch(/^STORE_SCHEMA: must be a lowercase PostgreSQL schema name$/m);
    for (const value of ['hunter2', 'soon', 'ssh://git', 'always', 'perhaps', 'Robert'])
      expect(text).not.toContain(value);
    expect(() => loadWorkerConfig({})).toThrow(/DATABASE_URL: is required/);
  });
});

describe('CLONE_URL_ALLOW', () => {
  const allow = (value: string) =>
    loadWorkerConfig({ DATABASE_URL: 'postgres://db/x', CLONE_URL_ALLOW: value }).cloneUrlAllow;

  it('is a list of roots, normalised', () => {
    expect(allow(' https://github.com , HTTPS://GHE.example.com/Course-Org, file:///srv/repos')).toEqual([
      'https://github.com/',
      'https://ghe.example.com/Course-Org/',
      'file:///srv/repos/',
    ]);
  });

  it('refuses entries a root cannot be, naming the entry and never echoing it', () => {
    let error: unknown;
    try {
      allow('https://github.com/,https://bot:hunter2@github.com/,file:///srv/../etc/,https://github.com/?x=1');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = (error as ConfigError).problems.join('\n');
    expect(text).toMatch(/^CLONE_URL_ALLOW\.1: each entry must not contain credentials$/m);
    expect(text).toMatch(/^CLONE_URL_ALLOW\.2: each entry must not contain '\.' or '\.\.' segments$/m);
    expect(text).toMatch(/^CLONE_URL_ALLOW\.3: each entry must not have a query or a fragment$/m);
    expect(text).not.toMatch(/hunter2|srv|x=1/);
  });

  it('the grade handler refuses an allow-list it cannot use, at start-up', () => {
    const deps = { cloneUrlAllow: ['ssh://git@example.com/'] } as unknown as GradeDeps;
    expect(() => createGradeHandler(deps)).toThrow(ConfigError);
    expect(() => createGradeHandler({ ...deps, cloneUrlAllow: [] })).toThrow(/invalid clone URL allow-list/);
  });
});

describe('rubrics by id', () => {
  it('loads bundled rubrics, a course directory first, and refuses unknown ids and paths', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'labgrader-rubrics-'));
    try {
      const own = readFileSync(path.join(ROOT, 'rubrics/production-readiness.yaml'), 'utf8').replace(
        /^id: production-readiness$/m,
        'id: course-checklist',
      );
      writeFileSync(path.join(dir, 'course-checklist.yaml'), own);
      const rubrics = createRubricProvider({ directory: dir });
      expect((await rubrics.load('lab-85')).id).toBe('lab-85');
      expect((await rubrics.load('course-checklist')).id).toBe('course-checklist');
      await expect(rubrics.load('no-such-rubric')).rejects.toThrow(/rubric 'no-such-rubric' not found/);
      await expect(rubrics.load('../rubrics/lab-85')).rejects.toThrow(ConfigError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('cluster stage planning', () => {
  it('none skips it; auto skips it with the reason when the machine cannot run it; kind keeps the rubric workers; rubrics without it are untouched', async () => {
    const rubrics = createRubricProvider();
    const lab85 = await rubrics.load('lab-85');
    const checklist = await rubrics.load('production-readiness');
    const runner = createExecaRunner();
    const env = { ...process.env, LABGRADER_KUBECTL: '/nonexistent/kubectl' };

    expect((await clusterPlanner('none', { runner, env })(lab85)).skip).toEqual({
      cluster: 'disabled on this worker (CLUSTER_STAGE=none)',
    });
    const auto = await clusterPlanner('auto', { runner, env })(lab85);
    expect(auto.skip.cluster).toMatch(
      /^CLUSTER_STAGE=auto: .*kubectl is not installed; Install kubectl or set LABGRADER_KUBECTL\.$/,
    );
    const kind = await clusterPlanner('kind', { runner, env })(lab85);
    expect(kind.skip).toEqual({});
    expect((kind.rubric.stages.cluster.settings as { target: { type: string } }).target.type).toBe('kind');
    // The checklist drains and stops nodes: CLUSTER_STAGE=kind keeps its two workers.
    const checklistKind = await clusterPlanner('kind', { runner, env })(checklist);
    expect(checklistKind.rubric.stages.cluster.settings).toMatchObject({ target: { type: 'kind', workers: 2 } });
    // A rubric without a cluster stage is left as it is, whatever the mode.
    const staticOnly = { ...lab85, stages: { ...lab85.stages, cluster: { ...lab85.stages.cluster, enabled: false } } };
    for (const mode of ['auto', 'kind', 'none'] as const) {
      expect(await clusterPlanner(mode, { runner, env })(staticOnly)).toEqual({ rubric: staticOnly, skip: {} });
    }
  });
});

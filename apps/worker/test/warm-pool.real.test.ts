/**
 * Warm clusters as an operator runs them (apps/worker/README.md, "Warm
 * clusters"): a real `labgrader-worker` with CLUSTER_WARM_POOL=1 makes a kind
 * cluster at start-up and grades two submissions in it, one after the other,
 * each in namespaces of its own; killed with SIGKILL it leaves the cluster
 * behind, and the next worker's cluster janitor deletes it once its slot has
 * expired; stopped with SIGTERM a worker deletes its own warm cluster.
 *
 * Real Redis, PostgreSQL, git (bare repositories on disk), kind and Docker
 * (the offline node image of test/kind-offline/). Runs only where the node
 * image and a Docker engine are present; otherwise it says so loudly (NOT
 * RUN) and is skipped. Durations are printed, never asserted.
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { closeRedis, createGradeProducer, createRedisConnection, type GradeProducer } from '@labgrader/queue';
import { createPostgresReportStore, type PostgresReportStore } from '@labgrader/store';
import {
  KIND,
  KIND_ENV,
  evidence,
  kindClusterContainers,
  real,
  run,
  work,
} from '../../../packages/cluster/test/helpers/real-cluster.js';
import { makeBareRepo, tempDir, type BareRepo } from '../../../test/support/git-fixtures.js';
import {
  TEST_DATABASE_URL,
  TEST_REDIS_URL,
  countKeys,
  deleteKeys,
  uniqueName,
  uniqueSchema,
} from '../../../packages/queue/test/support/services.js';
import { example } from './support/world.js';
import { spawnWorkerProcess, type WorkerProcess } from './support/worker-process.js';

const clusters = () =>
  run(KIND, ['get', 'clusters'])
    .stdout.split('\n')
    .filter((c) => c.startsWith('labgrader-warm-'));

real('a worker with warm kind clusters (CLUSTER_WARM_POOL=1)', () => {
  const prefix = uniqueName('warm');
  const schema = uniqueSchema('warm');
  const reposRoot = tempDir('labgrader-warm-repos-');
  let connection: Redis | undefined;
  let producer: GradeProducer | undefined;
  let store: PostgresReportStore | undefined;
  const repos: BareRepo[] = [];
  const children: ChildProcess[] = [];
  let before: string[] = [];

  beforeAll(async () => {
    before = clusters();
    connection = createRedisConnection(TEST_REDIS_URL, { role: 'producer' });
    producer = await createGradeProducer({ connection, name: 'grade', prefix });
    store = createPostgresReportStore({ connectionString: TEST_DATABASE_URL, schema });
    await store.migrate();
  }, 120_000);

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // Whatever this test's workers made and did not delete (a failed assertion above) goes too.
    for (const name of clusters().filter((c) => !before.includes(c))) run(KIND, ['delete', 'cluster', '--name', name]);
    if (producer) {
      await producer.queue.obliterate({ force: true }).catch(() => {});
      await producer.close();
    }
    if (connection) {
      await deleteKeys(connection, prefix);
      expect(await countKeys(connection, prefix)).toBe(0);
      await closeRedis(connection);
    }
    if (store) {
      await store.dropSchema();
      await store.close();
    }
    for (const repo of repos) repo.cleanup();
    rmSync(reposRoot, { recursive: true, force: true });
  }, 300_000);

  function submission(name: string): { repo: BareRepo; sha: string } {
    const dir = path.join(work, name);
    cpSync(example('lab-85-passing'), dir, { recursive: true });
    const repo = makeBareRepo(dir, { under: reposRoot, fullName: `course-org/${uniqueName(name)}` });
    repos.push(repo);
    return { repo, sha: repo.commit(`${name} submission`) };
  }

  function startWorker(name: string): WorkerProcess {
    const workspaces = path.join(work, `workspaces-${name}`);
    mkdirSync(workspaces, { recursive: true });
    return spawnWorkerProcess(
      {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/root',
        DATABASE_URL: TEST_DATABASE_URL,
        STORE_SCHEMA: schema,
        REDIS_URL: TEST_REDIS_URL,
        GRADE_QUEUE_NAME: 'grade',
        GRADE_QUEUE_PREFIX: prefix,
        CLONE_URL_ALLOW: `file://${reposRoot}/`,
        ...KIND_ENV,
        CLUSTER_STAGE: 'kind',
        CLUSTER_WARM_POOL: '1',
        CLUSTER_MAX_PER_HOST: '4',
        // A killed worker's slots expire quickly here, so that the next worker's janitor may delete its cluster.
        CLUSTER_SLOT_LEASE_SECONDS: '10',
        WORKSPACE_ROOT: workspaces,
        HEALTH_PORT: '0',
        HEALTH_HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
      },
      children,
    );
  }

  async function grade(sub: { repo: BareRepo; sha: string }): Promise<string> {
    const { jobId } = await producer!.enqueue({
      repository: { fullName: sub.repo.fullName!, cloneUrl: sub.repo.url },
      commit: sub.sha,
      ref: 'refs/heads/main',
      event: 'push',
      deliveryId: uniqueName('delivery'),
      author: 'student',
      pushedAt: '2026-03-01T10:00:00.000Z',
      rubricId: 'lab-85',
    });
    let state = 'waiting';
    for (const deadline = Date.now() + 600_000; Date.now() < deadline;) {
      state = (await (await producer!.queue.getJob(jobId))?.getState()) ?? 'missing';
      if (state === 'completed' || state === 'failed') break;
      await new Promise((r) => setTimeout(r, 1_000));
    }
    expect(state).toBe('completed');
    const stored = await store!.get({ repository: sub.repo.fullName!, commit: sub.sha, rubricId: 'lab-85' });
    expect(stored?.status).toBe('graded');
    expect(stored!.report.score).toMatchObject({ points: 100, maxPoints: 100 });
    const target = evidence(stored!.report, 'target')[0] ?? '';
    const stage = stored!.report.stages.find((s) => s.name === 'cluster');
    console.log(
      `graded ${sub.repo.fullName}: cluster stage ${((stage?.durationMs ?? 0) / 1000).toFixed(1)} s; ${target}`,
    );
    return target;
  }

  it('grades in a warm cluster made at start-up; a killed worker’s cluster goes to the janitor, a stopped one’s with it', async () => {
    const t0 = Date.now();
    const a = startWorker('a');
    const ready = await a.waitFor('a warm cluster is ready', 300_000);
    const warm = String(ready.cluster);
    console.log(`worker a: warm cluster ${warm} ready ${((Date.now() - t0) / 1000).toFixed(1)} s after start`);
    expect(a.lines.find((l) => l.msg === 'warm kind clusters')).toMatchObject({ perShape: 1, prewarming: 1 });

    // Two submissions, one after the other, in the same warm cluster, each in namespaces of its own.
    const first = await grade(submission('warm-1'));
    const second = await grade(submission('warm-2'));
    const pattern = new RegExp(
      `^namespaces lg-([0-9a-f]{6})-\\* in the warm kind cluster ${warm} \\(job (\\d) of at most 25`,
    );
    const [, ns1, job1] = pattern.exec(first) ?? [];
    const [, ns2, job2] = pattern.exec(second) ?? [];
    expect([job1, job2]).toEqual(['1', '2']);
    expect(ns1).not.toBe(ns2);
    // No kind cluster was made for either job: the worker made exactly one, at start-up.
    expect(a.lines.filter((l) => l.msg === 'a warm cluster is ready')).toHaveLength(1);

    // A worker killed outright cannot delete anything: its warm cluster is left, on record in Redis.
    a.child.kill('SIGKILL');
    expect(await a.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(clusters()).toContain(warm);

    // The next worker's cluster janitor deletes it once the dead worker's slot has expired (10 s here).
    await new Promise((r) => setTimeout(r, 12_000));
    const b = startWorker('b');
    const swept = await b.waitFor('deleted a kind cluster a dead worker left behind', 180_000);
    expect(swept).toMatchObject({ cluster: warm });
    expect(clusters()).not.toContain(warm);
    expect(kindClusterContainers()).not.toContain(warm);

    // Stopped with SIGTERM, a worker deletes its own warm cluster before it exits.
    const mine = String((await b.waitFor('a warm cluster is ready', 300_000)).cluster);
    expect(mine).not.toBe(warm);
    b.child.kill('SIGTERM');
    expect(await b.exited).toEqual({ code: 0, signal: null });
    expect(clusters()).not.toContain(mine);
    expect(kindClusterContainers()).not.toContain(mine);
  }, 1_500_000);
});

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
import {
  KIND,
  KIND_ENV,
  evidence,
  kindClusterContainers,
  real,
  run,
} from '../../../packages/cluster/test/helpers/real-cluster.js';
import { createProcessWorld, type ProcessWorld, type Submission } from './support/process-world.js';
import type { WorkerProcess } from './support/worker-process.js';

const clusters = () =>
  run(KIND, ['get', 'clusters'])
    .stdout.split('\n')
    .filter((c) => c.startsWith('labgrader-warm-'));

real('a worker with warm kind clusters (CLUSTER_WARM_POOL=1)', () => {
  let world: ProcessWorld | undefined;
  let before: string[] = [];

  beforeAll(async () => {
    before = clusters();
    world = await createProcessWorld('warm');
  }, 120_000);

  afterAll(async () => {
    try {
      await world?.cleanup();
    } finally {
      // Whatever this test's workers made and did not delete (a failed assertion below) goes too.
      for (const name of clusters().filter((c) => !before.includes(c)))
        run(KIND, ['delete', 'cluster', '--name', name]);
    }
  }, 300_000);

  const startWorker = (name: string): WorkerProcess =>
    world!.startWorker(name, {
      ...KIND_ENV,
      CLUSTER_STAGE: 'kind',
      CLUSTER_WARM_POOL: '1',
      CLUSTER_MAX_PER_HOST: '4',
      // A killed worker's slots expire quickly here, so that the next worker's janitor may delete its cluster.
      CLUSTER_SLOT_LEASE_SECONDS: '10',
    });

  async function grade(sub: Submission): Promise<string> {
    const jobId = await world!.enqueue(sub);
    expect(await world!.settle([jobId], { timeoutMs: 600_000 })).toEqual(['completed']);
    const stored = await world!.store.get({ repository: sub.repo.fullName!, commit: sub.sha, rubricId: 'lab-85' });
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
    const first = await grade(world!.submission('warm-1'));
    const second = await grade(world!.submission('warm-2'));
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

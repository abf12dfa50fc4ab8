/**
 * The warm cluster pool against scripted kind, kubectl and docker: a job
 * grades in namespaces of its own in a cluster made before it (no `kind
 * create` on its way), the cluster grades again once the job's namespaces are
 * proven gone, and it is deleted and replaced instead after maxJobsPerCluster
 * jobs, when the namespaces do not go, when it fails its health check, when a
 * node drill ran in it or when its job was stopped half-way. An empty pool
 * means a cluster of the job's own, as without a pool. The real clusters are
 * in pool.real.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AbortedError, silentLogger } from '@labgrader/core';
import { createKindClusterPool, prepareCluster, resolveClusterConfig, clusterSettingsSchema } from '../src/index.js';
import type { ClusterSlots } from '../src/index.js';
import { NAMESPACE_GONE_WITHIN_MS, type KindConfig } from '../src/pool.js';
import { EXAMPLES, FakeClock, FakeRunner, repoOf, stageInput } from './helpers/fake.js';
import { scriptIsolation, scriptKindCluster } from './helpers/scripted-cluster.js';

const passing = path.join(EXAMPLES, 'lab-85-passing');
const SETTINGS = { target: { type: 'kind', nodeImage: 'kindest/node:v1.34.4' } };
const CHECKS = [{ id: 'cluster/pod-kill-recovery', options: {} }];
const READY_NODES = JSON.stringify({
  items: [
    {
      metadata: { name: 'labgrader-warm-control-plane' },
      spec: { podCIDR: '10.244.0.0/24' },
      status: { conditions: [{ type: 'Ready', status: 'True' }] },
    },
  ],
});

function kindConfig(settings: Record<string, unknown> = SETTINGS): KindConfig {
  return resolveClusterConfig(clusterSettingsSchema.parse(settings), {}) as KindConfig;
}

/** A scripted cluster that holds one Deployment; scripted again for each job (a new lab in new namespaces). */
function setup(options: { namespacesGo?: boolean; podsStop?: boolean } = {}) {
  const clock = new FakeClock();
  const runner = new FakeRunner(clock);
  runner.commandMs = 0;
  /** Namespaces given back (deleted without waiting). */
  const given: string[] = [];
  /** What containerd holds on the nodes, by reference: the manifest digest (kind load writes one). */
  const nodeImages = new Map<string, string>();
  let loads = 0;
  const script = () => {
    scriptKindCluster(runner, clock, {
      replicas: 3,
      readyAfterMs: 3_000,
      podKill: { readyAfterMs: 2_600, goneAfterMs: 3_000 },
      containerKill: { readyAfterMs: 1_000 },
      rollout: { minReady: 2, undoReadyAfterMs: 1_000 },
      probeOutputs: ['0 0 200\n500 0 200\n1000 0 200\n'],
      baselineCode: '200',
    });
    scriptIsolation(runner);
    runner
      .on(/^kind load docker-image /, (c) => {
        loads += 1;
        for (const ref of c.args.slice(2, -2)) nodeImages.set(ref, `sha256:${String(loads).repeat(64).slice(0, 64)}`);
        return { stdout: '' };
      })
      .on(/^docker exec \S+ ctr -n k8s\.io images ls name==\S+$/, (c) => {
        const ref = c.args[c.args.length - 1]!.slice('name=='.length);
        const digest = nodeImages.get(ref);
        return {
          stdout:
            'REF TYPE DIGEST SIZE PLATFORMS LABELS\n' +
            (digest
              ? `${ref} application/vnd.docker.distribution.manifest.v2+json ${digest} 3.9 MiB linux/amd64 io.cri-containerd.image=managed\n`
              : ''),
        };
      })
      .on(/ get nodes -o json$/, { stdout: READY_NODES })
      .on(/ get --raw \/readyz/, { stdout: 'ok' })
      .on(/ delete namespace /, (c) => {
        if (c.args.includes('--wait=false')) given.push(...c.args.filter((a) => a.startsWith('lg-')));
        return { stdout: 'namespace deleted\n' };
      })
      .on(/ delete pods --all -n lg-[0-9a-f]{6}-lab85 --grace-period=1 /, { stdout: 'pod "web-1" deleted\n' })
      .on(/ get pods --all-namespaces -o jsonpath=/, () => ({
        stdout: options.podsStop === false ? given.map((ns) => `${ns}\n`).join('') : '',
      }))
      // The namespaces of earlier jobs: going in the background, or stuck (a finalizer nobody removes).
      .on(/ get namespaces -l labgrader\.dev\/job -o name$/, () => ({
        stdout: options.namespacesGo === false ? given.map((ns) => `namespace/${ns}\n`).join('') : '',
      }));
  };
  script();
  let n = 0;
  const deps = {
    env: {},
    clock,
    sleep: clock.sleep,
    randomBytes: (size: number) => new Uint8Array(size).map(() => (n++ * 13 + 7) % 256),
    makeTempDir: async () => mkdtempSync(path.join(tmpdir(), 'labgrader-pool-test-')),
  };
  const held: string[] = [];
  const slots: ClusterSlots = {
    acquire: async ({ cluster }) => {
      held.push(cluster);
      return { release: async () => void held.splice(held.indexOf(cluster), 1) };
    },
  };
  const pool = (o: { size?: number; maxJobsPerCluster?: number; waitForPendingMs?: number } = {}) =>
    createKindClusterPool({
      size: o.size ?? 1,
      maxJobsPerCluster: o.maxJobsPerCluster ?? 10,
      runner,
      logger: silentLogger,
      slots,
      clock,
      waitForPendingMs: o.waitForPendingMs ?? 5_000,
      makeTempDir: deps.makeTempDir,
    });
  const created = () =>
    runner
      .lines()
      .filter((l) => l.startsWith('kind create cluster'))
      .map((l) => l.split(' ')[4]!);
  const deleted = () =>
    runner
      .lines()
      .filter((l) => l.startsWith('kind delete cluster'))
      .map((l) => l.split(' ')[4]!);
  return { clock, runner, deps, pool, script, created, deleted, held, nodeImages };
}

describe('the warm cluster pool (scripted kind, kubectl, docker)', () => {
  it('grades a job in namespaces of its own in a cluster made before it, then grades the next one there too', async () => {
    const { runner, deps, pool: makePool, script, created, deleted, held } = setup();
    const pool = makePool();
    pool.prewarm(kindConfig());
    await pool.idle();
    const [warm] = created();
    expect(warm).toMatch(/^labgrader-warm-[0-9a-f]{6}$/);
    // Made once for every job it will grade: the admission policies and the egress guard.
    const setUpLines = runner.lines();
    expect(setUpLines.some((l) => /--kubeconfig \S+ apply -f -$/.test(l))).toBe(true);
    expect(setUpLines.filter((l) => /^docker exec \S+ sh -c set -e\niptables/.test(l))).toHaveLength(1);
    expect(held).toEqual([warm]);
    expect(pool.stats()).toMatchObject({ ready: 1, busy: 0, created: 1 });

    const before = runner.calls.length;
    const first = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks: CHECKS }), {
      ...deps,
      clusterPool: pool,
    });
    const job1 = runner.lines().slice(before);
    // No cluster was made for the job; its objects went to lg-<job>-lab85, in the warm cluster.
    expect(job1.filter((l) => l.startsWith('kind create'))).toEqual([]);
    expect(first.context.target).toMatch(
      new RegExp(`^namespaces lg-[0-9a-f]{6}-\\* in the warm kind cluster ${warm} \\(job 1 of at most 10`),
    );
    const ns = /(lg-[0-9a-f]{6}-lab85)/.exec(job1.join('\n'))![1]!;
    expect(job1).toContain(`kind load docker-image ghcr.io/labgrader-examples/lab85-web:1.0.0 --name ${warm}`);
    // The policies are checked, not installed again; the guard made with the cluster is reported.
    expect(job1.some((l) => / get validatingadmissionpolicybindings /.test(l))).toBe(true);
    expect(job1.some((l) => /^docker exec \S+ sh -c set -e\niptables/.test(l))).toBe(false);
    expect(first.evidence?.find((e) => e.label === 'egress-guard')?.detail).toMatch(
      /installed when the cluster was made/,
    );
    expect(first.context.drills['pod-kill']).toMatchObject({ status: 'completed' });
    expect(first.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
      new RegExp(`^gave warm cluster ${warm} back \\(job 1 of at most 10\\); namespaces ${ns} are deleted`),
    );

    // Back in the pool once the job's pods are stopped and proven gone; its namespaces go in the background.
    await pool.idle();
    const cleanup = runner.lines().slice(before);
    const at = (pattern: RegExp) => cleanup.findIndex((l) => pattern.test(l));
    const steps = [
      at(new RegExp(` delete namespace ${ns} --ignore-not-found --wait=false$`)),
      at(new RegExp(` delete pods --all -n ${ns} --grace-period=1 --ignore-not-found --wait=true --timeout=120s$`)),
      at(/ get pods --all-namespaces -o jsonpath=/),
    ];
    expect(steps.every((i) => i >= 0)).toBe(true);
    expect([...steps].sort((a, b) => a - b)).toEqual(steps);
    expect(cleanup.some((l) => / delete namespace .*--wait=true/.test(l))).toBe(false);
    expect(pool.stats()).toMatchObject({ ready: 1, busy: 0, hits: 1, created: 1 });

    script();
    const second = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks: CHECKS }), {
      ...deps,
      clusterPool: pool,
    });
    expect(second.context.target).toMatch(new RegExp(`in the warm kind cluster ${warm} \\(job 2 of at most 10`));
    expect(second.context.drills['pod-kill']).toMatchObject({ status: 'completed' });
    // The image job 1 loaded is still there, the same manifest under the same name: not copied again.
    const job2 = runner.lines().slice(before + job1.length);
    expect(job2.filter((l) => l.startsWith('kind load'))).toEqual([]);
    expect(job2).toContain(
      `docker exec ${warm}-control-plane ctr -n k8s.io images ls name==ghcr.io/labgrader-examples/lab85-web:1.0.0`,
    );
    await pool.idle();
    expect(created()).toEqual([warm]);
    expect(deleted()).toEqual([]);

    await pool.close();
    expect(deleted()).toEqual([warm]);
    expect(held).toEqual([]);
  });

  it('loads an image again when the node holds another manifest under its name, or none (a pull, image GC)', async () => {
    const { runner, deps, pool: makePool, script, nodeImages } = setup();
    const pool = makePool();
    pool.prewarm(kindConfig());
    await pool.idle();
    const ref = 'ghcr.io/labgrader-examples/lab85-web:1.0.0';
    const job = async () => {
      const before = runner.calls.length;
      script();
      const progress: string[] = [];
      await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks: CHECKS, progress }), {
        ...deps,
        clusterPool: pool,
      });
      await pool.idle();
      return {
        loads: runner
          .lines()
          .slice(before)
          .filter((l) => l.startsWith('kind load')).length,
        progress,
      };
    };
    expect((await job()).loads).toBe(1);
    const reused = await job();
    expect(reused.loads).toBe(0);
    expect(reused.progress).toContain(
      'reusing 1 image an earlier job loaded into this warm cluster (same image ID, same digest on every node)',
    );
    // A job pulled another image under the same name.
    nodeImages.set(ref, `sha256:${'f'.repeat(64)}`);
    expect((await job()).loads).toBe(1);
    expect((await job()).loads).toBe(0);
    // The kubelet's image garbage collection removed it.
    nodeImages.delete(ref);
    expect((await job()).loads).toBe(1);
    await pool.close();
  });

  it('deletes and replaces a cluster after maxJobsPerCluster jobs', async () => {
    const { runner, deps, pool: makePool, created, deleted } = setup();
    const pool = makePool({ maxJobsPerCluster: 1 });
    pool.prewarm(kindConfig());
    await pool.idle();
    const [warm] = created();
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks: CHECKS }), {
      ...deps,
      clusterPool: pool,
    });
    expect(prep.evidence?.find((e) => e.label === 'cleanup')?.detail).toMatch(
      /it is deleted and replaced because it graded 1 jobs \(maxJobsPerCluster\)/,
    );
    await pool.idle();
    expect(deleted()).toEqual([warm]);
    expect(created()).toHaveLength(2);
    expect(created()[1]).not.toBe(warm);
    expect(pool.stats()).toMatchObject({ ready: 1, recycled: 1, created: 2 });
    await pool.close();
  });

  it('deletes a cluster whose job was stopped half-way, whose job’s pods do not stop, or whose earlier namespaces do not go', async () => {
    const stopped = setup();
    let pool = stopped.pool();
    pool.prewarm(kindConfig());
    await pool.idle();
    const controller = new AbortController();
    // Stopped while the workloads start: whatever the job did is not trusted to have been undone.
    stopped.runner.on(/ get deployments\.apps\/web -o json$/, () => {
      controller.abort(new AbortedError('superseded'));
      return undefined;
    });
    await expect(
      prepareCluster(
        stageInput(await repoOf(passing), stopped.runner, SETTINGS, { checks: CHECKS, signal: controller.signal }),
        { ...stopped.deps, clusterPool: pool },
      ),
    ).rejects.toBeInstanceOf(AbortedError);
    await pool.idle();
    expect(stopped.deleted()).toEqual([stopped.created()[0]]);
    expect(stopped.created()).toHaveLength(2);
    await pool.close();

    const running = setup({ podsStop: false });
    pool = running.pool();
    pool.prewarm(kindConfig());
    await pool.idle();
    await prepareCluster(stageInput(await repoOf(passing), running.runner, SETTINGS, { checks: CHECKS }), {
      ...running.deps,
      clusterPool: pool,
    });
    await pool.idle();
    expect(running.deleted()).toEqual([running.created()[0]]);
    expect(pool.stats()).toMatchObject({ ready: 1, recycled: 1 });
    await pool.close();

    // A namespace that is still terminating does not hold the cluster back; one stuck for 2 minutes retires it.
    const stuck = setup({ namespacesGo: false });
    pool = stuck.pool();
    pool.prewarm(kindConfig());
    await pool.idle();
    await prepareCluster(stageInput(await repoOf(passing), stuck.runner, SETTINGS, { checks: CHECKS }), {
      ...stuck.deps,
      clusterPool: pool,
    });
    await pool.idle();
    expect(stuck.deleted()).toEqual([]);
    expect(pool.stats()).toMatchObject({ ready: 1, recycled: 0 });
    stuck.clock.t += NAMESPACE_GONE_WITHIN_MS + 1_000;
    stuck.script();
    const second = await prepareCluster(stageInput(await repoOf(passing), stuck.runner, SETTINGS, { checks: CHECKS }), {
      ...stuck.deps,
      clusterPool: pool,
    });
    // The stuck cluster failed its health check when the job came: deleted; the job made a cluster of its own.
    expect(stuck.deleted()[0]).toBe(stuck.created()[0]);
    expect(second.context.target).not.toMatch(new RegExp(`warm kind cluster ${stuck.created()[0]}`));
    await pool.idle();
    await pool.close();
  });

  it('gives back a cluster a node drill ran in as dirty: deleted, not reused', async () => {
    const { runner, pool: makePool, created, deleted } = setup();
    const pool = makePool();
    const config = kindConfig();
    pool.prewarm(config);
    await pool.idle();
    const lease = await pool.take(config, { signal: new AbortController().signal, progress: () => {} });
    expect(lease).toBeDefined();
    expect(
      lease!.release({
        job: 'abc123',
        namespaces: ['lg-abc123-lab85'],
        dirty: ['a node drill stopped a node'],
        keep: false,
      }),
    ).toMatch(/deleted and replaced because a node drill stopped a node/);
    await pool.idle();
    expect(deleted()).toEqual([created()[0]]);
    // Not even its namespaces were worth deleting one by one: the cluster went as a whole.
    expect(runner.lines().some((l) => / delete namespace lg-abc123-lab85/.test(l))).toBe(false);
    await pool.close();
  });

  it('replaces a cluster that fails its health check, and makes a job wait for one that is being prepared', async () => {
    const { runner, pool: makePool, created, deleted } = setup();
    const pool = makePool();
    const config = kindConfig();
    pool.prewarm(config);
    await pool.idle();
    const [sick] = created();
    runner.on(new RegExp(`--kubeconfig \\S+ get --raw /readyz`), (c) =>
      c.args[1]!.includes(path.sep) && deleted().length === 0
        ? { exitCode: 1, stderr: 'The connection to the server 127.0.0.1:40123 was refused' }
        : undefined,
    );
    const progress: string[] = [];
    const lease = await pool.take(config, { signal: new AbortController().signal, progress: (m) => progress.push(m) });
    // The sick one went; the job waited for its replacement rather than making a cluster of its own.
    expect(deleted()).toEqual([sick]);
    expect(progress).toContain('waiting for a warm cluster that is being prepared');
    expect(lease?.name).toBe(created()[1]);
    lease!.release({ job: 'abc123', namespaces: [], dirty: [], keep: false });
    await pool.close();
  });

  it('without a ready cluster, the job makes a cluster of its own while the pool fills', async () => {
    const { runner, deps, pool: makePool, created, deleted } = setup();
    // Nothing warm yet, and nothing being prepared that the job could wait for: the pool is empty (size 0).
    const empty = makePool({ size: 0 });
    const prep = await prepareCluster(stageInput(await repoOf(passing), runner, SETTINGS, { checks: CHECKS }), {
      ...deps,
      clusterPool: empty,
    });
    expect(prep.context.target).toMatch(/^kind cluster labgrader-[0-9a-f]{6} \(node image kindest\/node:v1\.34\.4\)$/);
    expect(created()).toEqual([expect.stringMatching(/^labgrader-[0-9a-f]{6}$/)]);
    expect(deleted()).toEqual(created());
    expect(empty.stats()).toMatchObject({ hits: 0, ready: 0 });
  });

  it('a cluster that cannot be made leaves the waiting job to make its own, and is not left behind', async () => {
    const { runner, pool: makePool, created, deleted, held } = setup();
    runner.on(/^kind create cluster --name labgrader-warm-/, {
      exitCode: 1,
      stderr:
        'ERROR: failed to create cluster: could not find a log line that matches "Reached target .*Multi-User System.*"',
    });
    const pool = makePool();
    const config = kindConfig();
    const lease = await pool.take(config, { signal: new AbortController().signal, progress: () => {} });
    expect(lease).toBeUndefined();
    await pool.idle();
    expect(created()).toHaveLength(1);
    expect(deleted()).toEqual(created());
    expect(held).toEqual([]);
    expect(pool.stats()).toMatchObject({ ready: 0, misses: 1 });
    await pool.close();
  });
});

/** A per-host cap of `capacity` slots (what the worker keeps in Redis): acquire waits, and says so once. */
function cappedSlots(capacity: number) {
  const held: string[] = [];
  const waiting: (() => void)[] = [];
  const slots: ClusterSlots = {
    async acquire({ cluster, progress }) {
      if (held.length >= capacity) {
        progress(`waiting for a cluster slot (${held.length} of ${capacity} in use)`);
        while (held.length >= capacity) await new Promise<void>((resolve) => waiting.push(resolve));
      }
      held.push(cluster);
      return {
        release: async () => {
          held.splice(held.indexOf(cluster), 1);
          waiting.splice(0).forEach((wake) => wake());
        },
      };
    },
  };
  return { slots, held };
}

describe('the warm cluster pool and the per-host cap', () => {
  const threeNodes = () => kindConfig({ target: { type: 'kind', nodeImage: 'kindest/node:v1.34.4', workers: 2 } });
  /** A scripted pool of one cluster per shape under a cap of `capacity` slots (multi-node clusters come up too). */
  const cappedPool = (capacity: number) => {
    const world = setup();
    world.runner.on(/ wait --for=condition=Ready nodes --all/, { stdout: 'node/x condition met\n' });
    const { slots, held } = cappedSlots(capacity);
    const pool = createKindClusterPool({
      size: 1,
      maxJobsPerCluster: 10,
      runner: world.runner,
      logger: silentLogger,
      slots,
    });
    return { ...world, pool, held };
  };

  it('keeps idle clusters of every shape while slots are to spare', async () => {
    const { pool, held, created, deleted } = cappedPool(3);
    pool.prewarm(kindConfig());
    pool.prewarm(threeNodes());
    await pool.idle();
    expect(held).toHaveLength(2);
    const job = await pool
      .slots()!
      .acquire({ cluster: 'labgrader-job1', signal: new AbortController().signal, progress: () => {} });
    expect(deleted()).toEqual([]);
    expect(created()).toHaveLength(2);
    await job.release({ leftBehind: false });
    await pool.close();
  });

  it('gives up an idle cluster of another shape when a job waits for a slot to make a cluster of its own', async () => {
    const { pool, held, created, deleted } = cappedPool(1);
    pool.prewarm(kindConfig());
    await pool.idle();
    const [idle] = created();
    expect(held).toEqual([idle]);
    // Every slot is held by an idle one-node cluster; a job of a three-node rubric must make its own.
    const progress: string[] = [];
    const job = await pool.slots()!.acquire({
      cluster: 'labgrader-job1',
      signal: new AbortController().signal,
      progress: (m) => progress.push(m),
    });
    expect(progress).toEqual(['waiting for a cluster slot (1 of 1 in use)']);
    expect(deleted()).toEqual([idle]);
    expect(held).toEqual(['labgrader-job1']);
    await job.release({ leftBehind: false });
    await pool.close();
  });

  it('a warm cluster of a new shape waiting for a slot takes it from an idle one of another shape', async () => {
    const { pool, held, created, deleted } = cappedPool(1);
    pool.prewarm(kindConfig());
    await pool.idle();
    const [oneNode] = created();
    pool.prewarm(threeNodes());
    await pool.idle();
    expect(deleted()).toEqual([oneNode]);
    expect(created()).toHaveLength(2);
    expect(held).toEqual([created()[1]]);
    await pool.close();
    expect(held).toEqual([]);
  });
});

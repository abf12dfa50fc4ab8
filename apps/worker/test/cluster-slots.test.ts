/**
 * The per-host cap on kind clusters and the cluster janitor, on real Redis.
 * Docker and kind are a scripted runner here (what they were asked is
 * checked); the cap around a real `kind create cluster` is exercised by the
 * cluster stage's real tests and the compose test.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Redis } from 'ioredis';
import { silentLogger, type CommandOptions, type CommandResult, type CommandRunner } from '@labgrader/core';
import { closeRedis, createRedisConnection } from '@labgrader/queue';
import { clusterSlotKeys, createRedisClusterSlots, dockerEngineId, sweepOrphanClusters } from '../src/cluster-slots.js';
import { TEST_REDIS_URL, countKeys, deleteKeys, uniqueName } from '../../../packages/queue/test/support/services.js';

const prefix = uniqueName('slots');
let redis: Redis;
const logger = silentLogger;

beforeAll(() => {
  redis = createRedisConnection(TEST_REDIS_URL, { role: 'worker' });
});
afterAll(async () => {
  await deleteKeys(redis, prefix);
  expect(await countKeys(redis, prefix)).toBe(0);
  await closeRedis(redis);
});

function slotsFor(engine: string, over: Partial<Parameters<typeof createRedisClusterSlots>[0]> = {}) {
  return createRedisClusterSlots({
    redis,
    prefix,
    engine,
    capacity: 2,
    leaseMs: 60_000,
    pollMs: 20,
    worker: 'test/1',
    logger,
    ...over,
  });
}
const request = (cluster: string, signal = new AbortController().signal, progress: string[] = []) => ({
  cluster,
  signal,
  progress: (m: string) => progress.push(m),
});

describe('the per-host cluster cap', () => {
  it('lets two clusters run, makes the third wait until one is released, and says so once', async () => {
    const slots = slotsFor('engine-a');
    const a = await slots.acquire(request('labgrader-aaaaaa'));
    await slots.acquire(request('labgrader-bbbbbb'));
    const progress: string[] = [];
    let third = false;
    const waiting = slots.acquire(request('labgrader-cccccc', undefined, progress)).then((s) => {
      third = true;
      return s;
    });
    await new Promise((r) => setTimeout(r, 150));
    expect(third).toBe(false);
    expect(progress).toEqual(['waiting for a cluster slot: 2 of 2 kind clusters run on this host']);
    await a.release({ leftBehind: false });
    const c = await waiting;
    expect(third).toBe(true);
    expect((await slots.held()).sort()).toEqual(['labgrader-bbbbbb', 'labgrader-cccccc']);
    // Released and deleted: off the record too; nothing is an orphan.
    expect(await slots.orphans()).toEqual([]);
    await c.release({ leftBehind: false });
  });

  it('the cap is per Docker engine: another engine has its own', async () => {
    const other = slotsFor('engine-b', { capacity: 1 });
    const slot = await other.acquire(request('labgrader-dddddd'));
    expect(await other.held()).toEqual(['labgrader-dddddd']);
    expect(await slotsFor('engine-a').held()).not.toContain('labgrader-dddddd');
    await slot.release({ leftBehind: false });
  });

  it('a job aborted while it waits stops waiting, with its own reason', async () => {
    const slots = slotsFor('engine-c', { capacity: 1 });
    const held = await slots.acquire(request('labgrader-eeeeee'));
    const controller = new AbortController();
    const waiting = slots.acquire(request('labgrader-ffffff', controller.signal));
    controller.abort(new Error('superseded by a newer push'));
    await expect(waiting).rejects.toThrow('superseded by a newer push');
    expect(await slots.held()).toEqual(['labgrader-eeeeee']);
    await held.release({ leftBehind: false });
  });

  it("a dead worker's lease expires by itself: its slot comes back and its cluster is an orphan", async () => {
    let clock = 1_000_000;
    const slots = slotsFor('engine-d', { capacity: 1, leaseMs: 10_000, now: () => clock });
    await slots.acquire(request('labgrader-deadbe')); // never released: the worker died
    clock += 11_000;
    const next = await slots.acquire(request('labgrader-a11ve0'));
    expect(await slots.held()).toEqual(['labgrader-a11ve0']);
    expect(await slots.orphans()).toEqual(['labgrader-deadbe']);
    await next.release({ leftBehind: false });
  });

  it('a live job renews its lease, so it never expires while the job runs', async () => {
    const slots = slotsFor('engine-e', { capacity: 1, leaseMs: 600 });
    const slot = await slots.acquire(request('labgrader-renew0'));
    await new Promise((r) => setTimeout(r, 1_500));
    expect(await slots.held()).toEqual(['labgrader-renew0']);
    await slot.release({ leftBehind: false });
    expect(await slots.held()).toEqual([]);
  });

  it('a cluster that could not be deleted frees its slot but stays on record for the janitor', async () => {
    const slots = slotsFor('engine-f', { capacity: 1 });
    const slot = await slots.acquire(request('labgrader-stuck0'));
    await slot.release({ leftBehind: true });
    expect(await slots.held()).toEqual([]);
    expect(await slots.orphans()).toEqual(['labgrader-stuck0']);
    const { record } = clusterSlotKeys(prefix, 'engine-f');
    expect(JSON.parse((await redis.hget(record, 'labgrader-stuck0'))!)).toMatchObject({ worker: 'test/1' });
  });
});

/** docker and kind as a script: the containers of each cluster, deleted by `kind delete cluster`. */
function scriptedDocker(clusters: Record<string, string[]>, options: { deleteLeaves?: string[] } = {}) {
  const calls: string[] = [];
  const runner: CommandRunner = {
    async run(command: string, args: readonly string[], _options?: CommandOptions): Promise<CommandResult> {
      calls.push([command, ...args].join(' '));
      const ok = (stdout = ''): CommandResult => ({ exitCode: 0, stdout, stderr: '' }) as CommandResult;
      if (command === 'docker' && args[0] === 'info') return ok('ABCD:EFGH:1234\n');
      if (command === 'docker' && args[0] === 'ps') {
        const name = /label=io\.x-k8s\.kind\.cluster=(.+)$/.exec(args.at(-1)!)![1]!;
        return ok((clusters[name] ?? []).join('\n'));
      }
      if (command === 'kind' && args[0] === 'delete') {
        const name = args[args.indexOf('--name') + 1]!;
        clusters[name] = (clusters[name] ?? []).filter((c) => options.deleteLeaves?.includes(c));
        return ok();
      }
      if (command === 'docker' && args[0] === 'rm') {
        for (const name of Object.keys(clusters)) clusters[name] = clusters[name]!.filter((c) => !args.includes(c));
        return ok();
      }
      throw new Error(`unexpected command ${command} ${args.join(' ')}`);
    },
  };
  return { runner, calls };
}

describe('the cluster janitor', () => {
  it("deletes the clusters of dead workers (and their leftover containers), forgets them, and never touches a live job's or one not on record", async () => {
    let clock = 5_000_000;
    const slots = slotsFor('engine-g', { capacity: 3, leaseMs: 10_000, now: () => clock });
    await slots.acquire(request('labgrader-dead01')); // dies
    await slots.acquire(request('labgrader-dead02')); // dies; its cluster is already gone
    clock += 20_000;
    const live = await slots.acquire(request('labgrader-live01'));
    const clusters: Record<string, string[]> = {
      'labgrader-dead01': ['c1', 'c2', 'c3'],
      'labgrader-live01': ['c4'],
      'labgrader-byhand': ['c5'], // `labgrader grade` run by hand: not on record
    };
    const { runner, calls } = scriptedDocker(clusters, { deleteLeaves: ['c3'] });
    const result = await sweepOrphanClusters({ slots, runner, logger });
    expect(result).toEqual({ deleted: ['labgrader-dead01'], failed: [] });
    expect(clusters).toEqual({ 'labgrader-dead01': [], 'labgrader-live01': ['c4'], 'labgrader-byhand': ['c5'] });
    expect(calls).toContain('kind delete cluster --name labgrader-dead01 --kubeconfig /dev/null');
    expect(calls).toContain('docker rm -f -v c3');
    expect(calls.some((c) => c.includes('labgrader-live01') || c.includes('labgrader-byhand'))).toBe(false);
    expect(await slots.orphans()).toEqual([]);
    await live.release({ leftBehind: false });
  });

  it('keeps a cluster it could not delete on record, and says so', async () => {
    let clock = 9_000_000;
    const slots = slotsFor('engine-h', { capacity: 1, leaseMs: 10_000, now: () => clock });
    await slots.acquire(request('labgrader-stuck1'));
    clock += 20_000;
    const clusters = { 'labgrader-stuck1': ['c1'] };
    const stubborn: CommandRunner = {
      run: async (command, args, options) =>
        command === 'docker' && args[0] === 'rm'
          ? ({ exitCode: 1, stdout: '', stderr: 'device busy' } as CommandResult)
          : scriptedDocker(clusters, { deleteLeaves: ['c1'] }).runner.run(command, args, options),
    };
    const result = await sweepOrphanClusters({ slots, runner: stubborn, logger });
    expect(result.deleted).toEqual([]);
    expect(result.failed).toEqual([{ cluster: 'labgrader-stuck1', error: 'its containers are still there' }]);
    expect(await slots.orphans()).toEqual(['labgrader-stuck1']);
  });

  it("keys the cap by the Docker engine's ID", async () => {
    const { runner } = scriptedDocker({});
    expect(await dockerEngineId(runner)).toBe('ABCDEFGH1234');
    const broken: CommandRunner = {
      run: async () => ({ exitCode: 1, stdout: '', stderr: 'Cannot connect to the Docker daemon\n' }) as CommandResult,
    };
    await expect(dockerEngineId(broken)).rejects.toThrow(
      "cannot read the Docker engine's ID (docker info: Cannot connect to the Docker daemon)",
    );
  });
});

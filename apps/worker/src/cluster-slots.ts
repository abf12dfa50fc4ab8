/**
 * The per-host cap on kind clusters, and the record the cluster janitor reads.
 *
 * Every worker that talks to one Docker engine (all the worker containers of
 * a docker compose host share the host's engine) shares one cap, kept in
 * Redis under the engine's ID:
 *
 *   <prefix>:clusters:<engine>:leases   ZSET  cluster name → lease expiry (ms)
 *   <prefix>:clusters:<engine>:record   HASH  cluster name → {"worker","createdAt"}
 *
 * A job takes a lease before `kind create cluster` (waiting while the cap is
 * reached) and renews it while it runs; a worker that dies stops renewing, so
 * its lease expires and its slot comes back by itself. The record outlives
 * the lease: a cluster whose lease expired but which is still on record was
 * left by a dead worker (or could not be deleted), and the janitor deletes
 * it. Clusters that are not on record (a `labgrader grade` run by hand on the
 * same host) are never touched.
 */
import type { ClusterSlot, ClusterSlotRequest, ClusterSlots } from '@labgrader/cluster';
import type { CommandRunner, Logger } from '@labgrader/core';
import type { Redis } from 'ioredis';

/** Drops expired leases, then takes one when fewer than the cap are held. Returns [taken, heldAfter]. */
const ACQUIRE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local held = redis.call('ZCARD', KEYS[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) then return {1, held} end
if held >= tonumber(ARGV[4]) then return {0, held} end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[2], ARGV[3], ARGV[5])
return {1, held + 1}
`;

export interface RedisClusterSlotsOptions {
  redis: Redis;
  /** The queue prefix (keys live beside the queue's). */
  prefix: string;
  /** The Docker engine's ID (`docker info --format {{.ID}}`): the cap is per engine. */
  engine: string;
  /** Concurrent kind clusters on this engine. */
  capacity: number;
  /** A lease not renewed for this long is a dead worker's. */
  leaseMs?: number;
  /** How often a waiting job asks again. */
  pollMs?: number;
  /** This worker, for the record. */
  worker: string;
  logger: Logger;
  now?: () => number;
}

export interface RedisClusterSlots extends ClusterSlots {
  /** Leases held now (expired ones dropped). */
  held(): Promise<string[]>;
  /** Clusters on record whose lease has expired: left by a dead worker, or not deleted. */
  orphans(): Promise<string[]>;
  /** Forgets a cluster the janitor deleted. */
  forget(cluster: string): Promise<void>;
  readonly capacity: number;
}

export function clusterSlotKeys(prefix: string, engine: string): { leases: string; record: string } {
  const base = `${prefix}:clusters:${engine}`;
  return { leases: `${base}:leases`, record: `${base}:record` };
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted while waiting for a cluster slot');
}

export function createRedisClusterSlots(options: RedisClusterSlotsOptions): RedisClusterSlots {
  const { redis, capacity, worker, logger } = options;
  const leaseMs = options.leaseMs ?? 60_000;
  const pollMs = options.pollMs ?? 1_000;
  const now = options.now ?? Date.now;
  const keys = clusterSlotKeys(options.prefix, options.engine);

  const tryAcquire = async (cluster: string): Promise<{ taken: boolean; held: number }> => {
    const t = now();
    const record = JSON.stringify({ worker, createdAt: new Date(t).toISOString() });
    const [taken, held] = (await redis.eval(
      ACQUIRE,
      2,
      keys.leases,
      keys.record,
      String(t),
      String(t + leaseMs),
      cluster,
      String(capacity),
      record,
    )) as [number, number];
    return { taken: taken === 1, held };
  };

  const wait = (ms: number, signal: AbortSignal) =>
    new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      const onAbort = () => {
        clearTimeout(timer);
        reject(abortError(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });

  return {
    capacity,
    async acquire({ cluster, signal, progress }: ClusterSlotRequest): Promise<ClusterSlot> {
      let said = false;
      for (;;) {
        if (signal.aborted) throw abortError(signal);
        const { taken, held } = await tryAcquire(cluster);
        if (taken) break;
        if (!said) {
          said = true;
          progress(`waiting for a cluster slot: ${held} of ${capacity} kind clusters run on this host`);
        }
        await wait(pollMs, signal);
      }
      // Renewed well before it expires; a renewal that finds the lease gone (Redis restarted) puts it back.
      const renew = setInterval(
        () => {
          redis.zadd(keys.leases, String(now() + leaseMs), cluster).catch((err: unknown) => {
            logger.warn('renewing the cluster slot failed', { cluster, error: String(err) });
          });
        },
        Math.max(250, Math.floor(leaseMs / 3)),
      );
      renew.unref();
      let released = false;
      return {
        async release({ leftBehind }) {
          if (released) return;
          released = true;
          clearInterval(renew);
          const tx = redis.multi().zrem(keys.leases, cluster);
          if (!leftBehind) tx.hdel(keys.record, cluster);
          await tx.exec();
        },
      };
    },
    async held() {
      await redis.zremrangebyscore(keys.leases, '-inf', String(now()));
      return redis.zrange(keys.leases, '0', '-1');
    },
    async orphans() {
      const [recorded, live] = await Promise.all([redis.hkeys(keys.record), this.held()]);
      const holding = new Set(live);
      return recorded.filter((c) => !holding.has(c)).sort();
    },
    async forget(cluster) {
      await redis.hdel(keys.record, cluster);
    },
  };
}

/** The Docker engine's ID, the key of the per-host cap. */
export async function dockerEngineId(runner: CommandRunner, docker = 'docker'): Promise<string> {
  const info = await runner.run(docker, ['info', '--format', '{{.ID}}'], { timeoutMs: 30_000 });
  const id = info.stdout.trim();
  if (info.exitCode !== 0 || !/^[A-Za-z0-9:_-]{1,200}$/.test(id)) {
    throw new Error(
      `cannot read the Docker engine's ID (docker info: ${info.stderr.trim().split('\n')[0] || `exit ${info.exitCode}`}); the cluster stage needs a Docker engine`,
    );
  }
  return id.replace(/:/g, '');
}

export interface ClusterJanitorResult {
  deleted: string[];
  failed: { cluster: string; error: string }[];
}

/**
 * Deletes the kind clusters a dead worker left (on record, lease expired),
 * then forgets them. A cluster that is already gone is just forgotten.
 */
export async function sweepOrphanClusters(deps: {
  slots: RedisClusterSlots;
  runner: CommandRunner;
  kind?: string;
  docker?: string;
  logger: Logger;
}): Promise<ClusterJanitorResult> {
  const kind = deps.kind ?? 'kind';
  const docker = deps.docker ?? 'docker';
  const result: ClusterJanitorResult = { deleted: [], failed: [] };
  for (const cluster of await deps.slots.orphans()) {
    try {
      const listArgs = ['ps', '-aq', '--filter', `label=io.x-k8s.kind.cluster=${cluster}`];
      const before = await deps.runner.run(docker, listArgs, { timeoutMs: 60_000 });
      if (before.exitCode !== 0) throw new Error(`docker ps failed: ${before.stderr.trim().split('\n')[0]}`);
      if (before.stdout.trim()) {
        await deps.runner.run(kind, ['delete', 'cluster', '--name', cluster, '--kubeconfig', '/dev/null'], {
          timeoutMs: 180_000,
        });
        const left = (await deps.runner.run(docker, listArgs, { timeoutMs: 60_000 })).stdout
          .split(/\s+/)
          .filter(Boolean);
        if (left.length > 0) await deps.runner.run(docker, ['rm', '-f', '-v', ...left], { timeoutMs: 60_000 });
        const after = await deps.runner.run(docker, listArgs, { timeoutMs: 60_000 });
        if (after.exitCode !== 0 || after.stdout.trim()) throw new Error('its containers are still there');
        result.deleted.push(cluster);
        deps.logger.warn('deleted a kind cluster a dead worker left behind', { cluster });
      }
      await deps.slots.forget(cluster);
    } catch (err) {
      result.failed.push({ cluster, error: err instanceof Error ? err.message : String(err) });
      deps.logger.error('could not delete a leftover kind cluster', { cluster, error: String(err) });
    }
  }
  return result;
}

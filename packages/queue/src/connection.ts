/**
 * Redis connections for the two sides of the queue. BullMQ reuses an ioredis
 * instance we pass in (and duplicates it for a worker's blocking connection);
 * we create and close them ourselves.
 *
 *  - producer (the API): fail fast. With no offline queue a command issued
 *    while Redis is down rejects at once, so a webhook gets a 503 (GitHub
 *    marks the delivery failed and it can be redelivered) instead of hanging.
 *  - worker: wait forever. `maxRetriesPerRequest: null` is what BullMQ
 *    requires for workers: commands wait for ioredis to reconnect after a Redis
 *    restart instead of failing the job.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { redactSecrets } from '@labgrader/core';

export type RedisRole = 'producer' | 'worker';

export interface RedisConnectionOptions {
  role: RedisRole;
  /** CLIENT SETNAME, visible in `CLIENT LIST`. */
  name?: string;
  /** Extra ioredis options (tests: shorter reconnect delays). */
  overrides?: RedisOptions;
}

const ROLE_OPTIONS: Record<RedisRole, RedisOptions> = {
  // No auto-pipelining: the adds are batched already (queue.ts), and each auto-pipeline builds an
  // ioredis Pipeline, which copies every script BullMQ defined on the connection (64: ~65 µs each).
  producer: { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 5_000 },
  worker: { maxRetriesPerRequest: null, enableReadyCheck: true },
};

/** Reconnect quickly at first, then every 2 s at most, forever. */
function retryStrategy(times: number): number {
  return Math.min(100 * 2 ** Math.min(times, 5), 2_000);
}

export function createRedisConnection(url: string, options: RedisConnectionOptions): Redis {
  return new Redis(url, {
    retryStrategy,
    ...ROLE_OPTIONS[options.role],
    ...(options.name ? { connectionName: options.name } : {}),
    ...options.overrides,
  });
}

/** The URL without its password, for logs. */
export function describeRedisUrl(url: string): string {
  return redactSecrets(url);
}

/** True when Redis answers PING within `timeoutMs`. Never throws. */
export async function redisReachable(connection: Redis, timeoutMs = 1_000): Promise<boolean> {
  if (connection.status !== 'ready') return false;
  let timer: NodeJS.Timeout | undefined;
  try {
    const pong = await Promise.race([
      connection.ping(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
      }),
    ]);
    return pong === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection: QUIT when connected, otherwise just stop reconnecting. */
export async function closeRedis(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  if (connection.status === 'ready') {
    try {
      await connection.quit();
      return;
    } catch {
      /* fall through */
    }
  }
  connection.disconnect();
}

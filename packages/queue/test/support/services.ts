/**
 * Real services for the service tests: the machine's Redis and PostgreSQL,
 * with names unique to each test run so parallel runs never collide, and
 * helpers that remove everything a test created.
 */
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';

export const TEST_REDIS_URL = process.env.LABGRADER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const TEST_DATABASE_URL = process.env.LABGRADER_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export function uniqueName(label: string): string {
  return `lgtest-${label}-${randomBytes(4).toString('hex')}`;
}

/** A schema name PostgreSQL accepts unquoted. */
export function uniqueSchema(label: string): string {
  return `lgtest_${label}_${randomBytes(4).toString('hex')}`;
}

/** Deletes every key under `prefix:` (SCAN, not KEYS); returns how many were deleted. */
export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

export async function countKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let count = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
    cursor = next;
    count += keys.length;
  } while (cursor !== '0');
  return count;
}

/** A log destination that keeps every JSON line, for asserting what was (and was not) logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, callback: () => void): void {
    for (const line of chunk.toString().split('\n')) if (line.trim()) this.lines.push(line);
    callback();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  entries(): Array<Record<string, unknown>> {
    return this.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  }
  find(msg: string): Array<Record<string, unknown>> {
    return this.entries().filter((e) => e.msg === msg);
  }
}

/** Resolves with the first event matching `predicate` (event-driven waits, no sleeping). */
export function nextEvent<A extends unknown[]>(
  emitter: {
    on(event: string, fn: (...args: A) => void): unknown;
    off(event: string, fn: (...args: A) => void): unknown;
  },
  event: string,
  predicate: (...args: A) => boolean = () => true,
): Promise<A> {
  return new Promise((resolve) => {
    const listener = (...args: A) => {
      if (!predicate(...args)) return;
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

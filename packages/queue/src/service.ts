/**
 * What every labgrader service process (api, worker) does the same way:
 * read its environment through a schema, and report a fatal error.
 */
import { z } from 'zod';
import { ConfigError, isLabgraderError } from '@labgrader/core';
import { describeIssues } from './issues.js';
import { LOG_LEVELS } from './logging.js';
import { DEFAULT_QUEUE_NAME, DEFAULT_QUEUE_PREFIX } from './queue.js';

const queueNamePart = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'letters, digits, _ . - only');

/** The variables every service on the grade queue reads: spread into its env schema. */
export const queueServiceEnv = {
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL')
    .default('redis://127.0.0.1:6379'),
  GRADE_QUEUE_NAME: queueNamePart.default(DEFAULT_QUEUE_NAME),
  GRADE_QUEUE_PREFIX: queueNamePart.default(DEFAULT_QUEUE_PREFIX),
  LOG_LEVEL: z.enum(LOG_LEVELS).default('info'),
};

/**
 * Validates the environment with `schema`. Empty variables (`FOO=` in a compose
 * file) mean "not set", so defaults apply. Throws a ConfigError that names every
 * bad variable and never echoes a value (it may be a secret).
 */
export function parseServiceEnv<S extends z.ZodType>(schema: S, env: Record<string, string | undefined>): z.output<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = schema.safeParse(present);
  if (!parsed.success) {
    const problems = describeIssues(parsed.error);
    throw new ConfigError(`invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
  return parsed.data;
}

/** The password inside a connection URL, so the logger can redact it; undefined when there is none. */
export function urlPassword(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs a service's `main`: a configuration error exits 2 with the message,
 * any other failure exits 1 (with the stack when it is not one of ours).
 */
export function runService(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    const configError = err instanceof ConfigError;
    const text = isLabgraderError(err) ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    process.stderr.write(`${name}: ${text}\n`);
    process.exit(configError ? 2 : 1);
  });
}

/**
 * The dashboard's configuration, from the environment, validated at startup.
 * Messages name the variable and never echo its value (tokens, secrets).
 */
import { z } from 'zod';
import { ConfigError } from '@labgrader/core';
import { RUBRIC_ID_PATTERN, parseServiceEnv, queueServiceEnv, type LogLevel } from '@labgrader/queue';
import { DEFAULT_STORE_SCHEMA } from '@labgrader/store';

const httpUrl = z.string().regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, 'must be an http(s) URL');

const envSchema = z.object({
  DATABASE_URL: z
    .string({ error: 'is required (postgres://user:password@host:5432/database)' })
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL'),
  STORE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL schema name')
    .default(DEFAULT_STORE_SCHEMA),
  REDIS_URL: queueServiceEnv.REDIS_URL,
  GRADE_QUEUE_NAME: queueServiceEnv.GRADE_QUEUE_NAME,
  GRADE_QUEUE_PREFIX: queueServiceEnv.GRADE_QUEUE_PREFIX,
  LOG_LEVEL: queueServiceEnv.LOG_LEVEL,
  PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  HOST: z.string().min(1).default('0.0.0.0'),
  /** Where browsers reach the dashboard (the OAuth callback is built from it). */
  DASHBOARD_PUBLIC_URL: httpUrl.optional(),
  /** Signs session cookies; at least 32 characters. */
  DASHBOARD_SESSION_SECRET: z
    .string({ error: 'is required (a long random value, e.g. `openssl rand -hex 32`)' })
    .min(32, 'must be at least 32 characters'),
  /** Grants instructor access (Bearer on the API, or the sign-in form). */
  LABGRADER_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  GITHUB_CLIENT_ID: z.string().min(1).optional(),
  GITHUB_CLIENT_SECRET: z.string().min(1).optional(),
  GITHUB_URL: httpUrl.default('https://github.com'),
  GITHUB_API_URL: httpUrl.default('https://api.github.com'),
  LABGRADER_COURSE: z.string().min(1).optional(),
  LABGRADER_RUBRIC: z.string().regex(RUBRIC_ID_PATTERN, 'must be a rubric id such as lab-85').default('lab-85'),
});

export interface GithubOAuthConfig {
  clientId: string;
  clientSecret: string;
  /** github.com (authorize, access_token). */
  webUrl: string;
  /** api.github.com (GET /user). */
  apiUrl: string;
}

export interface DashboardConfig {
  databaseUrl: string;
  storeSchema: string;
  redisUrl: string;
  queueName: string;
  queuePrefix: string;
  logLevel: LogLevel;
  port: number;
  host: string;
  publicUrl?: string;
  sessionSecret: string;
  adminToken?: string;
  oauth?: GithubOAuthConfig;
  githubWebUrl: string;
  courseFile?: string;
  rubricId: string;
}

export function loadDashboardConfig(env: Record<string, string | undefined>): DashboardConfig {
  const e = parseServiceEnv(envSchema, env);
  if (Boolean(e.GITHUB_CLIENT_ID) !== Boolean(e.GITHUB_CLIENT_SECRET)) {
    throw new ConfigError('invalid configuration:\n  GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: set both or neither', {
      problems: ['GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET: set both or neither'],
    });
  }
  if (!e.LABGRADER_ADMIN_TOKEN && !e.GITHUB_CLIENT_ID) {
    throw new ConfigError(
      'invalid configuration:\n  nobody could sign in: set LABGRADER_ADMIN_TOKEN, or GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET',
      { problems: ['set LABGRADER_ADMIN_TOKEN, or GITHUB_CLIENT_ID and GITHUB_CLIENT_SECRET'] },
    );
  }
  return {
    databaseUrl: e.DATABASE_URL,
    storeSchema: e.STORE_SCHEMA,
    redisUrl: e.REDIS_URL,
    queueName: e.GRADE_QUEUE_NAME,
    queuePrefix: e.GRADE_QUEUE_PREFIX,
    logLevel: e.LOG_LEVEL,
    port: e.PORT,
    host: e.HOST,
    ...(e.DASHBOARD_PUBLIC_URL ? { publicUrl: e.DASHBOARD_PUBLIC_URL.replace(/\/+$/, '') } : {}),
    sessionSecret: e.DASHBOARD_SESSION_SECRET,
    ...(e.LABGRADER_ADMIN_TOKEN ? { adminToken: e.LABGRADER_ADMIN_TOKEN } : {}),
    ...(e.GITHUB_CLIENT_ID && e.GITHUB_CLIENT_SECRET
      ? {
          oauth: {
            clientId: e.GITHUB_CLIENT_ID,
            clientSecret: e.GITHUB_CLIENT_SECRET,
            webUrl: e.GITHUB_URL.replace(/\/+$/, ''),
            apiUrl: e.GITHUB_API_URL.replace(/\/+$/, ''),
          },
        }
      : {}),
    githubWebUrl: e.GITHUB_URL.replace(/\/+$/, ''),
    ...(e.LABGRADER_COURSE ? { courseFile: e.LABGRADER_COURSE } : {}),
    rubricId: e.LABGRADER_RUBRIC,
  };
}

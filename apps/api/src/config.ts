/**
 * The API's configuration, from the environment, validated at startup.
 * Messages name the variable and never echo its value (the secret!).
 */
import { z } from 'zod';
import { RUBRIC_ID_PATTERN, parseServiceEnv, queueServiceEnv, type LogLevel } from '@labgrader/queue';

const envSchema = z.object({
  GITHUB_WEBHOOK_SECRET: z
    .string({ error: 'is required (the secret set on the GitHub App or repository webhook)' })
    .min(16, 'must be at least 16 characters (use a long random value, e.g. `openssl rand -hex 32`)'),
  /** The previous secret while rotating: deliveries signed with either are accepted. */
  GITHUB_WEBHOOK_SECRET_PREVIOUS: z.string().min(16, 'must be at least 16 characters').optional(),
  REDIS_URL: queueServiceEnv.REDIS_URL,
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  GRADE_QUEUE_NAME: queueServiceEnv.GRADE_QUEUE_NAME,
  GRADE_QUEUE_PREFIX: queueServiceEnv.GRADE_QUEUE_PREFIX,
  /** The course configuration file (labs, repositories, deadlines); unset: every repository, LABGRADER_RUBRIC. */
  LABGRADER_COURSE: z.string().min(1).optional(),
  /** The rubric every submission is graded with when there is no course configuration. */
  LABGRADER_RUBRIC: z.string().regex(RUBRIC_ID_PATTERN, 'must be a rubric id such as lab-85').default('lab-85'),
  WEBHOOK_BODY_LIMIT: z
    .string()
    .regex(/^\d+(b|kb|mb)$/i, "must be a size such as '512kb' or '2mb'")
    .default('2mb'),
  LOG_LEVEL: queueServiceEnv.LOG_LEVEL,
});

export interface ApiConfig {
  webhookSecret: string;
  previousWebhookSecrets: string[];
  redisUrl: string;
  port: number;
  host: string;
  queueName: string;
  queuePrefix: string;
  rubricId: string;
  courseFile?: string;
  bodyLimit: string;
  logLevel: LogLevel;
}

export function loadApiConfig(env: Record<string, string | undefined>): ApiConfig {
  const e = parseServiceEnv(envSchema, env);
  return {
    webhookSecret: e.GITHUB_WEBHOOK_SECRET,
    previousWebhookSecrets: e.GITHUB_WEBHOOK_SECRET_PREVIOUS ? [e.GITHUB_WEBHOOK_SECRET_PREVIOUS] : [],
    redisUrl: e.REDIS_URL,
    port: e.PORT,
    host: e.HOST,
    queueName: e.GRADE_QUEUE_NAME,
    queuePrefix: e.GRADE_QUEUE_PREFIX,
    rubricId: e.LABGRADER_RUBRIC,
    ...(e.LABGRADER_COURSE ? { courseFile: e.LABGRADER_COURSE } : {}),
    bodyLimit: e.WEBHOOK_BODY_LIMIT,
    logLevel: e.LOG_LEVEL,
  };
}

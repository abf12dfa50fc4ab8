/**
 * The worker's configuration, from the environment, validated at startup.
 * Messages name the variable and never echo its value.
 */
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { parseCloneUrlRoot, parseServiceEnv, queueServiceEnv, type LogLevel } from '@labgrader/queue';
import { DEFAULT_STORE_SCHEMA } from '@labgrader/store';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'must be true or false' })
  .transform((v) => ['true', '1', 'yes'].includes(v));

const envSchema = z.object({
  REDIS_URL: queueServiceEnv.REDIS_URL,
  DATABASE_URL: z
    .string({ error: 'is required (postgres://user:password@host:5432/database)' })
    .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL'),
  STORE_SCHEMA: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a lowercase PostgreSQL schema name')
    .default(DEFAULT_STORE_SCHEMA),
  STORE_MIGRATE: bool.default(true),
  GRADE_QUEUE_NAME: queueServiceEnv.GRADE_QUEUE_NAME,
  GRADE_QUEUE_PREFIX: queueServiceEnv.GRADE_QUEUE_PREFIX,
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(32).default(1),
  SHUTDOWN_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(30),
  JOB_LOCK_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  /**
   * Comma-separated roots under which a job's repository must live:
   * `https://github.com/` admits `https://github.com/<owner>/<name>(.git)` for
   * the job's own owner/name; a root may also name the owner
   * (`https://github.com/course-org/`). Not string prefixes (see clone-url.ts).
   */
  CLONE_URL_ALLOW: z
    .string()
    .default('https://github.com/')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .pipe(
      z
        .array(
          z.string().transform((entry, ctx) => {
            const parsed = parseCloneUrlRoot(entry);
            if ('root' in parsed) return parsed.root.text;
            ctx.addIssue({ code: 'custom', message: `each entry ${parsed.problem}` });
            return z.NEVER;
          }),
        )
        .min(1),
    ),
  /** A directory of `<id>.yaml` rubrics, searched before the bundled ones. */
  RUBRICS_DIR: z.string().min(1).optional(),
  /**
   * How the cluster stage runs here: auto (when available), kind (always, a kind cluster per job), none (skip),
   * existing (always, in namespaces of each job's own in the existing cluster of KUBECONFIG: the shared cluster
   * of docs/shared-cluster.md; one that cannot be reached makes the submission not gradable).
   */
  CLUSTER_STAGE: z.enum(['auto', 'kind', 'none', 'existing']).default('auto'),
  /** With CLUSTER_STAGE=existing: the kubeconfig context of the shared cluster (default: its current context). */
  CLUSTER_KUBE_CONTEXT: z.string().trim().min(1).optional(),
  /**
   * At most this many kind clusters at once on this worker's Docker engine, across every worker that shares
   * it (a three-node cluster takes 1.5-2 GiB). Jobs beyond it wait for a slot.
   */
  CLUSTER_MAX_PER_HOST: z.coerce.number().int().min(1).max(64).default(2),
  /** A cluster slot not renewed for this long belongs to a dead worker: freed, and its cluster deleted. */
  CLUSTER_SLOT_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(60),
  /**
   * Warm kind clusters this worker keeps per cluster shape, busy ones included (0: every job creates its own).
   * Each grades one job at a time in namespaces of its own; set it to the worker's CONCURRENCY. Every warm
   * cluster holds one of CLUSTER_MAX_PER_HOST's slots while it exists.
   */
  CLUSTER_WARM_POOL: z.coerce.number().int().min(0).max(16).default(0),
  /** A warm cluster is deleted and replaced after this many jobs. */
  CLUSTER_WARM_MAX_JOBS: z.coerce.number().int().min(1).max(1000).default(25),
  LOG_LEVEL: queueServiceEnv.LOG_LEVEL,
  /** The course configuration (the API's too): cluster budget and deadlines per lab. */
  LABGRADER_COURSE: z.string().min(1).optional(),
  /** Where workspaces live: one directory per worker process, removed by the janitor when its process is gone. */
  WORKSPACE_ROOT: z.string().regex(/^\//, 'must be an absolute path').optional(),
  JANITOR_INTERVAL_SECONDS: z.coerce.number().int().min(10).max(86_400).default(300),
  /** Liveness, readiness and /metrics; 0 picks a free port. */
  HEALTH_PORT: z.coerce.number().int().min(0).max(65535).default(3001),
  HEALTH_HOST: z.string().min(1).default('0.0.0.0'),
  /** Between two sweeps for failed webhook deliveries (GitHub App only); 0: no sweep. */
  REDELIVERY_INTERVAL_SECONDS: z.coerce.number().int().min(0).max(86_400).default(600),
  REDELIVERY_LOOKBACK_HOURS: z.coerce.number().min(1).max(72).default(24),
  /** At most one check run progress update per job this often. */
  CHECK_PROGRESS_INTERVAL_SECONDS: z.coerce.number().min(1).max(600).default(10),
});

/** Settings that only make sense together. */
const workerEnvSchema = envSchema.superRefine((e, ctx) => {
  if (e.CLUSTER_KUBE_CONTEXT !== undefined && e.CLUSTER_STAGE !== 'existing') {
    ctx.addIssue({
      code: 'custom',
      path: ['CLUSTER_KUBE_CONTEXT'],
      message: `is read only with CLUSTER_STAGE=existing (it is ${e.CLUSTER_STAGE})`,
    });
  }
});

export interface WorkerConfig {
  redisUrl: string;
  databaseUrl: string;
  storeSchema: string;
  migrate: boolean;
  queueName: string;
  queuePrefix: string;
  concurrency: number;
  shutdownGraceMs: number;
  lockDurationMs: number;
  cloneUrlAllow: string[];
  rubricsDir?: string;
  clusterStage: 'auto' | 'kind' | 'none' | 'existing';
  /** With clusterStage existing: the kubeconfig context (default: the current context of KUBECONFIG). */
  clusterKubeContext?: string;
  clusterMaxPerHost: number;
  clusterWarmPool: number;
  clusterWarmMaxJobs: number;
  clusterSlotLeaseMs: number;
  logLevel: LogLevel;
  courseFile?: string;
  workspaceRoot: string;
  janitorIntervalMs: number;
  healthPort: number;
  healthHost: string;
  redeliveryIntervalMs: number;
  redeliveryLookbackMs: number;
  checkProgressIntervalMs: number;
}

export function loadWorkerConfig(env: Record<string, string | undefined>): WorkerConfig {
  const e = parseServiceEnv(workerEnvSchema, env);
  return {
    redisUrl: e.REDIS_URL,
    databaseUrl: e.DATABASE_URL,
    storeSchema: e.STORE_SCHEMA,
    migrate: e.STORE_MIGRATE,
    queueName: e.GRADE_QUEUE_NAME,
    queuePrefix: e.GRADE_QUEUE_PREFIX,
    concurrency: e.WORKER_CONCURRENCY,
    shutdownGraceMs: Math.round(e.SHUTDOWN_GRACE_SECONDS * 1000),
    lockDurationMs: e.JOB_LOCK_SECONDS * 1000,
    cloneUrlAllow: e.CLONE_URL_ALLOW,
    ...(e.RUBRICS_DIR ? { rubricsDir: e.RUBRICS_DIR } : {}),
    clusterStage: e.CLUSTER_STAGE,
    ...(e.CLUSTER_KUBE_CONTEXT ? { clusterKubeContext: e.CLUSTER_KUBE_CONTEXT } : {}),
    clusterMaxPerHost: e.CLUSTER_MAX_PER_HOST,
    clusterWarmPool: e.CLUSTER_WARM_POOL,
    clusterWarmMaxJobs: e.CLUSTER_WARM_MAX_JOBS,
    clusterSlotLeaseMs: e.CLUSTER_SLOT_LEASE_SECONDS * 1000,
    logLevel: e.LOG_LEVEL,
    ...(e.LABGRADER_COURSE ? { courseFile: e.LABGRADER_COURSE } : {}),
    workspaceRoot: e.WORKSPACE_ROOT ?? path.join(os.tmpdir(), 'labgrader-worker'),
    janitorIntervalMs: e.JANITOR_INTERVAL_SECONDS * 1000,
    healthPort: e.HEALTH_PORT,
    healthHost: e.HEALTH_HOST,
    redeliveryIntervalMs: e.REDELIVERY_INTERVAL_SECONDS * 1000,
    redeliveryLookbackMs: e.REDELIVERY_LOOKBACK_HOURS * 3600_000,
    checkProgressIntervalMs: Math.round(e.CHECK_PROGRESS_INTERVAL_SECONDS * 1000),
  };
}

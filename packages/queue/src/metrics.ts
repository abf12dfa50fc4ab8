/**
 * Prometheus metrics of the service processes (prom-client), defined once so
 * the api and the worker name them alike. Each process makes one registry
 * (tests make their own); `/metrics` serves `registry.metrics()`.
 *
 *   labgrader_webhook_deliveries_total{event,outcome}      api: every delivery, by how it ended
 *   labgrader_webhook_duration_seconds{outcome}            api: time to answer
 *   labgrader_queue_jobs{state}                            both: jobs waiting / active / delayed / failed…
 *   labgrader_queue_oldest_waiting_seconds                 both: age of the oldest waiting job (0 when none)
 *   labgrader_grading_stage_duration_seconds{stage,status} worker: per pipeline stage
 *   labgrader_grading_duration_seconds{outcome}            worker: whole job
 *   labgrader_gradings_total{outcome}                      worker: graded / not-gradable / superseded / …
 *   labgrader_github_api_calls_total{method,route,status}  both: calls to GitHub's REST API
 *   labgrader_github_rate_limit_remaining{resource}        both: x-ratelimit-remaining of the latest answer
 *   labgrader_errors_total{component,kind}                 both: errors handled without crashing
 *   labgrader_cluster_pool_events_total{event}             worker: warm clusters taken (hit), missed, created, recycled…
 *   labgrader_cluster_pool_clusters{state}                 worker: warm clusters ready / busy / pending
 *
 * plus prom-client's process and Node.js metrics (`labgrader_process_…`, `labgrader_nodejs_…`).
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { GradeQueue } from './queue.js';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly deliveries: Counter<'event' | 'outcome'>;
  readonly webhookDuration: Histogram<'outcome'>;
  readonly stageDuration: Histogram<'stage' | 'status'>;
  readonly gradingDuration: Histogram<'outcome'>;
  readonly gradings: Counter<'outcome'>;
  readonly githubCalls: Counter<'method' | 'route' | 'status'>;
  readonly githubRateLimitRemaining: Gauge<'resource'>;
  readonly errors: Counter<'component' | 'kind'>;
  readonly clusterPoolEvents: Counter<'event'>;
  /** Reports the warm cluster pool's clusters by state on every scrape. */
  observeClusterPool(stats: () => { ready: number; busy: number; pending: number }): void;
  /** Reports this queue's depth and oldest waiting job on every scrape. */
  observeQueue(queue: GradeQueue): void;
  /** The text exposition format, and its content type. */
  render(): Promise<{ contentType: string; body: string }>;
}

const QUEUE_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'waiting-children',
  'failed',
  'completed',
] as const;

export function createServiceMetrics(options: { service: string; defaultMetrics?: boolean }): ServiceMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: options.service });
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'labgrader_' });
  const registers = [registry];
  const queues: GradeQueue[] = [];
  let poolStats: (() => { ready: number; busy: number; pending: number }) | undefined;
  new Gauge({
    name: 'labgrader_cluster_pool_clusters',
    help: 'Warm kind clusters of this worker, by state (ready, busy, pending: being created or cleaned)',
    labelNames: ['state'] as const,
    registers,
    collect() {
      if (!poolStats) return;
      const s = poolStats();
      for (const state of ['ready', 'busy', 'pending'] as const) this.set({ state }, s[state]);
    },
  });

  const queueJobs = new Gauge({
    name: 'labgrader_queue_jobs',
    help: 'Jobs in the grading queue, by state',
    labelNames: ['state'] as const,
    registers,
    async collect() {
      for (const queue of queues) {
        try {
          const counts = await queue.getJobCounts(...QUEUE_STATES);
          for (const state of QUEUE_STATES) this.set({ state }, counts[state] ?? 0);
        } catch {
          /* Redis unreachable: keep the last values; readiness reports the outage */
        }
      }
    },
  });
  void queueJobs;
  const oldest = new Gauge({
    name: 'labgrader_queue_oldest_waiting_seconds',
    help: 'Age of the oldest job waiting to be graded (0 when none waits)',
    registers,
    async collect() {
      for (const queue of queues) {
        try {
          const [job] = await queue.getJobs(['wait', 'prioritized'], 0, 0, true);
          this.set(job ? Math.max(0, (Date.now() - job.timestamp) / 1000) : 0);
        } catch {
          /* as above */
        }
      }
    },
  });
  void oldest;

  const metrics: ServiceMetrics = {
    registry,
    deliveries: new Counter({
      name: 'labgrader_webhook_deliveries_total',
      help: 'GitHub webhook deliveries, by event and outcome (queued, duplicate, requeued, ignored, bad-signature…)',
      labelNames: ['event', 'outcome'] as const,
      registers,
    }),
    webhookDuration: new Histogram({
      name: 'labgrader_webhook_duration_seconds',
      help: 'Time from a delivery arriving to its answer',
      labelNames: ['outcome'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    }),
    stageDuration: new Histogram({
      name: 'labgrader_grading_stage_duration_seconds',
      help: 'Duration of each pipeline stage (fetch, lint, docs, cluster, score), by its status',
      labelNames: ['stage', 'status'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
      registers,
    }),
    gradingDuration: new Histogram({
      name: 'labgrader_grading_duration_seconds',
      help: 'Duration of a grading job, by outcome',
      labelNames: ['outcome'] as const,
      buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200],
      registers,
    }),
    gradings: new Counter({
      name: 'labgrader_gradings_total',
      help: 'Grading jobs finished, by outcome (graded, not-gradable, already-graded, superseded, retry, failed, requeued)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    githubCalls: new Counter({
      name: 'labgrader_github_api_calls_total',
      help: "Calls to GitHub's REST API, by method, route template and HTTP status",
      labelNames: ['method', 'route', 'status'] as const,
      registers,
    }),
    githubRateLimitRemaining: new Gauge({
      name: 'labgrader_github_rate_limit_remaining',
      help: 'x-ratelimit-remaining of the latest GitHub API answer, by x-ratelimit-resource',
      labelNames: ['resource'] as const,
      registers,
    }),
    errors: new Counter({
      name: 'labgrader_errors_total',
      help: 'Errors handled without stopping the process, by component and kind',
      labelNames: ['component', 'kind'] as const,
      registers,
    }),
    clusterPoolEvents: new Counter({
      name: 'labgrader_cluster_pool_events_total',
      help: 'Warm cluster pool events: hit (a job took a warm cluster), miss (it made its own), created, reused, recycled, create-failed',
      labelNames: ['event'] as const,
      registers,
    }),
    observeClusterPool(stats) {
      poolStats = stats;
    },
    observeQueue(queue) {
      if (!queues.includes(queue)) queues.push(queue);
    },
    async render() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
  return metrics;
}

/** What the GitHub edge reports after each API call (`GithubAppDeps.onRequest`; never a token). */
export interface GithubRequestObservation {
  method: string;
  /** A route template (`POST /repos/{owner}/{repo}/check-runs`): bounded label values. */
  route: string;
  /** 0 when GitHub did not answer. */
  status: number;
  remaining?: number;
  limit?: number;
  durationMs: number;
}

/** Counts GitHub API calls and records the remaining rate limit: pass it as `onRequest` to the GitHub edge. */
export function observeGithubRequests(metrics: ServiceMetrics): (event: GithubRequestObservation) => void {
  return (event) => {
    const route = event.route.replace(/^[A-Z]+ /, '').slice(0, 120);
    metrics.githubCalls.inc({
      method: event.method,
      route,
      status: event.status === 0 ? 'error' : String(event.status),
    });
    if (event.status === 0 || event.status >= 500) metrics.errors.inc({ component: 'github', kind: 'unavailable' });
    if (event.remaining !== undefined && Number.isFinite(event.remaining)) {
      metrics.githubRateLimitRemaining.set({ resource: 'core' }, event.remaining);
    }
  };
}

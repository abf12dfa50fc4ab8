/**
 * The redelivery sweep. GitHub never redelivers a failed webhook delivery by
 * itself (a 503 while Redis was down, a timeout during a deploy); its docs
 * suggest a periodic script that lists the App hook's recent deliveries and
 * redelivers the failed ones. This is that script, as a periodic job:
 *
 *  - a BullMQ job scheduler on a small maintenance queue makes one sweep job
 *    per interval for the whole fleet (whichever worker takes it runs it);
 *  - a sweep asks the GitHub edge for the deliveries that failed since the
 *    previous sweep (minus an overlap; at most `lookbackMs` back, GitHub keeps
 *    them 3 days), each GUID once, and redelivers each;
 *  - each GUID is redelivered at most `maxAttempts` times (a Redis hash,
 *    expiring after a week): a delivery that keeps failing (a payload the API
 *    rejects for good) is not redelivered forever; it is logged instead.
 */
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '@labgrader/core';
import type { WebhookDeliveries } from '@labgrader/github';
import type { ServiceMetrics } from '@labgrader/queue';

export interface RedeliveryOptions {
  deliveries: WebhookDeliveries;
  /** A worker-role connection. */
  connection: Redis;
  prefix: string;
  /** The maintenance queue (default `labgrader-maintenance`). */
  queueName?: string;
  /** Between sweeps (default 10 minutes). */
  intervalMs?: number;
  /** How far back the first sweep looks (default 24 hours). */
  lookbackMs?: number;
  /** Re-read this much before the previous sweep (default 2 minutes): deliveries that failed while it ran. */
  overlapMs?: number;
  maxAttempts?: number;
  logger: Logger;
  metrics?: ServiceMetrics;
  now?: () => Date;
}

export interface SweepOutcome {
  since: string;
  redelivered: string[];
  gaveUp: string[];
  failed: string[];
}

const SCHEDULER = 'redeliver-failed-webhooks';

/** One sweep (what the scheduled job runs; tests call it directly). */
export async function sweepFailedDeliveries(options: RedeliveryOptions): Promise<SweepOutcome> {
  const now = options.now ?? (() => new Date());
  const queueName = options.queueName ?? 'labgrader-maintenance';
  const key = (name: string) => `${options.prefix}:${queueName}:lg-redeliver:${name}`;
  const log = options.logger.child({ component: 'redelivery' });
  const started = now();
  const last = await options.connection.get(key('last-sweep'));
  const floor = started.getTime() - (options.lookbackMs ?? 24 * 3600_000);
  const since = new Date(Math.max(floor, last ? Number(last) - (options.overlapMs ?? 2 * 60_000) : floor));
  const outcome: SweepOutcome = { since: since.toISOString(), redelivered: [], gaveUp: [], failed: [] };
  const failed = await options.deliveries.failedSince(since);
  const maxAttempts = options.maxAttempts ?? 3;
  for (const delivery of failed) {
    const attempts = await options.connection.hincrby(key('attempts'), delivery.guid, 1);
    await options.connection.expire(key('attempts'), 7 * 24 * 3600);
    if (attempts > maxAttempts) {
      if (attempts === maxAttempts + 1) {
        log.warn('delivery keeps failing; not redelivered again', {
          guid: delivery.guid,
          event: delivery.event,
          deliveredAt: delivery.deliveredAt,
          attempts: maxAttempts,
        });
      }
      outcome.gaveUp.push(delivery.guid);
      continue;
    }
    try {
      await options.deliveries.redeliver(delivery.id);
      outcome.redelivered.push(delivery.guid);
      options.metrics?.deliveries.inc({ event: delivery.event.slice(0, 40), outcome: 'redelivery-requested' });
    } catch (err) {
      outcome.failed.push(delivery.guid);
      options.metrics?.errors.inc({ component: 'redelivery', kind: 'github' });
      log.warn('could not ask GitHub to redeliver', { guid: delivery.guid, error: err });
    }
  }
  await options.connection.set(key('last-sweep'), String(started.getTime()), 'EX', 7 * 24 * 3600);
  if (failed.length > 0) log.info('redelivery sweep', { ...outcome });
  return outcome;
}

export interface RunningRedelivery {
  close(): Promise<void>;
}

/** Schedules the sweep every `intervalMs` on the maintenance queue and works on it. */
export async function startRedeliverySweep(options: RedeliveryOptions): Promise<RunningRedelivery> {
  const queueName = options.queueName ?? 'labgrader-maintenance';
  const queue = new Queue(queueName, { connection: options.connection, prefix: options.prefix });
  queue.on('error', () => {});
  await queue.upsertJobScheduler(
    SCHEDULER,
    { every: options.intervalMs ?? 10 * 60_000 },
    { name: 'redeliver', opts: { removeOnComplete: { count: 50 }, removeOnFail: { count: 50 }, attempts: 1 } },
  );
  const worker = new Worker(queueName, async () => sweepFailedDeliveries(options), {
    connection: options.connection,
    prefix: options.prefix,
    concurrency: 1,
    lockDuration: 120_000,
  });
  worker.on('error', (err) => options.logger.warn('maintenance queue error', { error: err.message }));
  worker.on('failed', (_job, err) => {
    options.metrics?.errors.inc({ component: 'redelivery', kind: 'sweep' });
    options.logger.warn('redelivery sweep failed', { error: err });
  });
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

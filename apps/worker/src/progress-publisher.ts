/**
 * Publishes each job's live progress on Redis pub/sub (@labgrader/queue's
 * progress channel) for the dashboard: started → `grading`, each stage →
 * `grading` with the stage (at most one message a second per job, the last
 * stage always sent before the end), the report → `graded`/`not-gradable`,
 * superseded → `superseded`. Losing a message is harmless; it never fails a job.
 */
import type { Redis } from 'ioredis';
import { labKey, publishProgress, type ProgressMessage, type ProgressState, type QueueKeys } from '@labgrader/queue';
import type { PublishContext, ReportPublisher } from './ports.js';

export function progressPublisher(
  redis: Redis,
  keys: QueueKeys,
  options: { minIntervalMs?: number; now?: () => number } = {},
): ReportPublisher {
  const interval = options.minIntervalMs ?? 1000;
  const now = options.now ?? (() => Date.now());
  const lastSent = new Map<string, number>();
  const send = (ctx: PublishContext, state: ProgressState, stage?: string): Promise<void> => {
    const { job } = ctx;
    const message: ProgressMessage = {
      v: 1,
      jobId: ctx.jobId,
      lab: labKey(job),
      ...(job.student ? { student: job.student.toLowerCase() } : {}),
      repository: job.repository.fullName,
      commit: job.commit,
      state,
      ...(stage ? { stage: stage.slice(0, 200) } : {}),
      at: new Date(now()).toISOString(),
    };
    return publishProgress(redis, keys, message).catch((err: unknown) =>
      ctx.logger.debug('progress not published to the dashboard', { error: err }),
    );
  };
  const finish = (ctx: PublishContext, state: ProgressState) => {
    lastSent.delete(ctx.jobId);
    return send(ctx, state);
  };
  return {
    name: 'dashboard progress',
    async started(ctx) {
      lastSent.set(ctx.jobId, now());
      await send(ctx, 'grading');
    },
    progress(ctx, stage) {
      const last = lastSent.get(ctx.jobId) ?? 0;
      if (now() - last < interval) return;
      lastSent.set(ctx.jobId, now());
      void send(ctx, 'grading', stage);
    },
    async cancelled(ctx) {
      await finish(ctx, 'superseded');
    },
    async abandoned(ctx) {
      lastSent.delete(ctx.jobId);
    },
    async publish(report, grade) {
      await finish(grade, report.status === 'graded' ? 'graded' : 'not-gradable');
    },
  };
}

/**
 * Creating the check run `queued` without delaying the webhook's answer: the
 * handler hands the job over and answers; a small pool calls GitHub in the
 * background, a few at a time. A failure is logged and counted
 * (`labgrader_errors_total{component="check-run-queued"}`) and not retried
 * here: the worker's "in progress" call finds or creates the same check run
 * (the reporter is idempotent, keyed by the job), so the check run appears at
 * the latest when grading starts. Past `maxPending` (GitHub slow or down
 * during a burst) announcements are dropped the same way, so memory stays bounded.
 */
import type { Logger } from '@labgrader/core';
import type { CheckRunReporter, ReportTarget } from '@labgrader/github';
import type { GradeJob, ServiceMetrics } from '@labgrader/queue';

export interface QueuedCheckRuns {
  /** Returns at once. */
  announce(job: GradeJob, jobId: string): void;
  /** Resolves when every announcement taken so far has been sent (or failed). */
  drain(): Promise<void>;
  readonly pending: number;
}

/** What the check run shows of a job: its lab's title and pass mark (none: anything graded passes). */
export function reportTarget(job: GradeJob): ReportTarget {
  return { job, labTitle: job.lab?.title ?? job.rubricId, passPercent: job.lab?.passPercent ?? 0 };
}

export function queuedCheckRuns(options: {
  checks: Pick<CheckRunReporter, 'queued'>;
  logger: Logger;
  metrics?: ServiceMetrics;
  concurrency?: number;
  maxPending?: number;
}): QueuedCheckRuns {
  const concurrency = options.concurrency ?? 8;
  const maxPending = options.maxPending ?? 10_000;
  // A FIFO with a moving head (Array#shift is O(n) on a long backlog).
  let waiting: Array<{ job: GradeJob; jobId: string }> = [];
  let head = 0;
  const backlog = () => waiting.length - head;
  let active = 0;
  let idle: Array<() => void> = [];
  const log = options.logger.child({ component: 'check-run-queued' });

  const failed = (jobId: string, kind: string, error?: unknown) => {
    options.metrics?.errors.inc({ component: 'check-run-queued', kind });
    log.warn('could not create the queued check run; the worker creates it when grading starts', {
      jobId,
      ...(error !== undefined ? { error } : { reason: kind }),
    });
  };
  // A full backlog is a burst: one line every 10 s with the count, not one per delivery.
  let dropped = 0;
  let droppedLoggedAt = 0;
  const drop = () => {
    options.metrics?.errors.inc({ component: 'check-run-queued', kind: 'backlog-full' });
    dropped += 1;
    const now = Date.now();
    if (now - droppedLoggedAt < 10_000) return;
    droppedLoggedAt = now;
    log.warn('check-run backlog full: queued check runs skipped; the workers create them when grading starts', {
      skipped: dropped,
      maxPending,
    });
    dropped = 0;
  };

  const pump = () => {
    while (active < concurrency && backlog() > 0) {
      const next = waiting[head]!;
      waiting[head] = undefined as never;
      head += 1;
      if (head > 1024 && head * 2 > waiting.length) {
        waiting = waiting.slice(head);
        head = 0;
      }
      active += 1;
      void options.checks
        .queued(reportTarget(next.job))
        .catch((err: unknown) => failed(next.jobId, 'github', err))
        .finally(() => {
          active -= 1;
          pump();
        });
    }
    if (active === 0 && backlog() === 0) {
      const resolve = idle;
      idle = [];
      for (const r of resolve) r();
    }
  };

  return {
    announce(job, jobId) {
      if (backlog() >= maxPending) return drop();
      waiting.push({ job, jobId });
      // After the answer is written: the handler's own work comes first.
      setImmediate(pump);
    },
    drain() {
      if (active === 0 && backlog() === 0) return Promise.resolve();
      return new Promise((resolve) => idle.push(resolve));
    },
    get pending() {
      return active + backlog();
    },
  };
}

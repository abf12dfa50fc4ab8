/**
 * GitHub at the edge: the check run and the PR comment are publishers beside
 * the store, on the interfaces of @labgrader/github (contracts.ts), so the
 * grading code never sees octokit.
 *
 *  - check run: `started` → in progress; stage progress → in progress with
 *    the stage in the summary, throttled (at most one update per
 *    `progressIntervalMs` per job, the latest stage wins; GitHub's secondary
 *    rate limits allow a few content writes a second per installation, and
 *    every update is two calls); `publish` → completed (after the last
 *    progress update has landed, never overtaken by it); `cancelled` →
 *    cancelled, pointing at the newer commit.
 *  - PR comment: for a job with a pull request, and for the pull requests
 *    whose events were deduplicated into a push job of the same commit
 *    (recorded beside the job by the API), the one comment per pull request
 *    is created or updated in place.
 *
 * Before the deadline of a lab with `showClusterDetails: after-deadline`,
 * what goes to GitHub leaves out the cluster stage's findings, evidence and
 * per-check summaries (the points stay); the store keeps the whole report.
 */
import { withoutClusterDetails } from '@labgrader/core';
import type { CheckRunReporter, PullRequestCommenter, ReportTarget } from '@labgrader/github';
import type { GradeJob } from '@labgrader/queue';
import type { PublishContext, ReportPublisher } from './ports.js';

export { withoutClusterDetails };

/** What GitHub shows of a job: its lab's title and pass mark (none: anything graded passes). */
export function reportTarget(job: GradeJob): ReportTarget {
  return { job, labTitle: job.lab?.title ?? job.rubricId, passPercent: job.lab?.passPercent ?? 0 };
}

/** Decides per job whether GitHub may show the cluster details now (the course's `showClusterDetails`). */
export type ClusterDetailsPolicy = (job: GradeJob) => boolean;

const always: ClusterDetailsPolicy = () => true;

interface ProgressState {
  /** The update in flight, if any. */
  sending?: Promise<void>;
  /** The latest stage not yet sent. */
  pending?: string;
  timer?: NodeJS.Timeout;
  lastSentAt: number;
  closed: boolean;
}

export function checkRunPublisher(
  checks: CheckRunReporter,
  options: { progressIntervalMs?: number; showClusterDetails?: ClusterDetailsPolicy; now?: () => number } = {},
): ReportPublisher {
  const interval = options.progressIntervalMs ?? 10_000;
  const now = options.now ?? (() => Date.now());
  const show = options.showClusterDetails ?? always;
  const states = new Map<string, ProgressState>();

  const send = (ctx: PublishContext, state: ProgressState) => {
    const stage = state.pending;
    if (stage === undefined || state.closed) return;
    state.pending = undefined;
    state.lastSentAt = now();
    state.sending = checks
      .inProgress(reportTarget(ctx.job), stage)
      .catch((err: unknown) => ctx.logger.warn('check run progress not updated', { error: err, stage }))
      .finally(() => {
        state.sending = undefined;
        schedule(ctx, state);
      });
  };
  const schedule = (ctx: PublishContext, state: ProgressState) => {
    if (state.pending === undefined || state.sending || state.timer || state.closed) return;
    const wait = Math.max(0, state.lastSentAt + interval - now());
    if (wait === 0) return send(ctx, state);
    state.timer = setTimeout(() => {
      state.timer = undefined;
      send(ctx, state);
    }, wait);
    state.timer.unref();
  };
  /** No more progress for this job: a pending update is dropped, one in flight is awaited. */
  const close = async (jobId: string) => {
    const state = states.get(jobId);
    if (!state) return;
    state.closed = true;
    if (state.timer) clearTimeout(state.timer);
    states.delete(jobId);
    await state.sending;
  };

  return {
    name: 'check-run',
    async started(ctx) {
      states.set(ctx.jobId, { lastSentAt: now(), closed: false });
      await checks.inProgress(reportTarget(ctx.job), 'starting');
    },
    progress(ctx, stage) {
      let state = states.get(ctx.jobId);
      if (!state) {
        state = { lastSentAt: 0, closed: false };
        states.set(ctx.jobId, state);
      }
      state.pending = stage;
      schedule(ctx, state);
    },
    async publish(report, grade) {
      await close(grade.jobId);
      await checks.completed(reportTarget(grade.job), show(grade.job) ? report : withoutClusterDetails(report), {
        retriesExhausted: grade.retriesExhausted,
      });
    },
    async cancelled(ctx, supersededBy) {
      await close(ctx.jobId);
      await checks.cancelled(reportTarget(ctx.job), supersededBy);
    },
    async abandoned(ctx) {
      await close(ctx.jobId);
    },
  };
}

export function pullRequestCommentPublisher(
  comments: PullRequestCommenter,
  options: {
    /** Pull requests whose events were deduplicated into this job (the API records them beside it). */
    pullRequestsOf?: (jobId: string) => Promise<number[]>;
    showClusterDetails?: ClusterDetailsPolicy;
  } = {},
): ReportPublisher {
  const show = options.showClusterDetails ?? always;
  return {
    name: 'pull-request-comment',
    async publish(report, grade) {
      const numbers = new Set<number>(grade.job.pullRequest ? [grade.job.pullRequest] : []);
      for (const n of (await options.pullRequestsOf?.(grade.jobId)) ?? []) numbers.add(n);
      if (numbers.size === 0) return;
      const shown = show(grade.job) ? report : withoutClusterDetails(report);
      for (const pullRequest of [...numbers].sort((a, b) => a - b)) {
        await comments.upsert({ ...reportTarget(grade.job), pullRequest }, shown);
      }
    },
  };
}

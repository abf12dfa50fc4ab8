/**
 * Grading one job: the worker's logic, independent of BullMQ.
 *
 * Outcomes and what the queue does with them:
 *  - graded, or not-gradable because of the submission (cannot be cloned, no
 *    manifests, a stage timed out): published, job completed;
 *  - already graded (same commit, same rubric digest, not a re-run): nothing
 *    to do, job completed;
 *  - an infrastructure failure (a stage or the fetch `failed`: git host
 *    unreachable, git missing, docker down; the store unavailable): a
 *    RetryableJobError, retried with backoff. On the last attempt the
 *    not-gradable report is published first, so the student sees "could not be
 *    graded, not your fault", then the job fails for operators to see;
 *  - a job that can never succeed (unknown rubric, invalid job data, a clone
 *    URL that is not the repository's own or not under CLONE_URL_ALLOW): a
 *    PermanentJobError, failed without retry, before anything is cloned;
 *  - superseded (a newer push to the same branch or pull request, found when
 *    the job is picked up or announced while it runs): the publishers are
 *    told (the check run completes `cancelled` with the newer commit), the
 *    job completes with outcome `superseded`; nothing is stored;
 *  - cancelled (shutdown): a JobCancelledError; nothing is published.
 *
 * With a course configuration, the job's lab decides two more things: the
 * cluster budget (the student's cluster runs in this lab, counted from the
 * store; beyond the budget the cluster stage is skipped with the reason and
 * when it runs next, lint and docs still run) and the deadline's judgement of
 * GitHub's push time, stored with the grading.
 */
import {
  ConfigError,
  InfrastructureError,
  UsageError,
  isLabgraderError,
  type AnyGradingStage,
  type CheckStage,
  type CommandRunner,
  type Logger,
  type Report,
  type SourceExcerpts,
} from '@labgrader/core';
import { clusterBudget, judgeSubmission, type Lab } from '@labgrader/course';
import { gradeSourceWithExcerpts, type PipelineEvent } from '@labgrader/pipeline';
import {
  InvalidGradeJobError,
  SupersededError,
  checkCloneUrl,
  parseCloneUrlRoot,
  parseGradeJob,
  type CloneUrlRoot,
  type GradeJob,
  type GradeJobResult,
  type ServiceMetrics,
  type StreamHead,
} from '@labgrader/queue';
import type { Rubric } from '@labgrader/rubric';
import type { DeadlineJudgement, GradeMetadata, ReportStore } from '@labgrader/store';
import type { StagePlanner } from './cluster.js';
import type { CredentialsProvider, PublishContext, ReportPublisher } from './ports.js';
import type { RubricProvider } from './rubrics.js';

/** The job cannot succeed however often it is tried. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

/** Worth trying again later. */
export class RetryableJobError extends InfrastructureError {}

/** The job's signal fired (shutdown); the work was abandoned, nothing published. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
}

export interface GradeDeps {
  runner: CommandRunner;
  stages: Partial<Record<CheckStage, AnyGradingStage>>;
  rubrics: RubricProvider;
  credentials: CredentialsProvider;
  /**
   * Read to skip commits already graded, to keep the first push time and to count the student's cluster
   * runs; written by the store publisher.
   */
  store: Pick<ReportStore, 'get'> & Partial<Pick<ReportStore, 'clusterRuns'>>;
  /** The course's labs by id (cluster budget, deadline); absent without a course configuration. */
  labs?: LabCatalog;
  metrics?: ServiceMetrics;
  publishers: readonly ReportPublisher[];
  /** Roots a job's repository must live directly under (CLONE_URL_ALLOW), e.g. `https://github.com/`. */
  cloneUrlAllow: readonly string[];
  /** Decides, per job, how the cluster stage runs on this worker (see cluster.ts). */
  planStages?: StagePlanner;
  /** Stages never to run on this worker although the rubric enables them, with the reason. */
  skip?: Partial<Record<CheckStage, string>>;
  /** Parent directory for workspaces (default: the OS temp dir). */
  tempRoot?: string;
}

export interface LabCatalog {
  lab(id: string): Lab | undefined;
}

export interface JobContext {
  jobId: string;
  /** 1-based attempt number. */
  attempt: number;
  maxAttempts: number;
  /** Aborted on shutdown, or with a SupersededError as its reason when a newer push replaces the job. */
  signal: AbortSignal;
  logger: Logger;
  /** Whether a newer push already replaced this job (checked before any work). */
  supersededNow?: () => Promise<StreamHead | undefined>;
  /** This job's own directory for workspaces (the janitor's); default `GradeDeps.tempRoot`. */
  tempRoot?: string;
}

/** The deadline's judgement as the store keeps it. */
function deadlineRecord(lab: Lab, pushedAt: string): DeadlineJudgement | undefined {
  if (!lab.deadline) return undefined;
  const j = judgeSubmission(lab, pushedAt);
  return {
    status: !j.late ? 'on-time' : j.accepted ? 'late' : 'not-accepted',
    deadline: lab.deadline.at.toISOString(),
    daysLate: j.daysLate,
    penaltyPercent: j.penaltyPercent,
    penaltyOf: j.penaltyOf,
    ...(j.reason ? { reason: j.reason } : {}),
  };
}

function progressText(event: PipelineEvent): string | undefined {
  if (event.type === 'stage-start') return event.stage;
  if (event.type === 'progress') return `${event.stage}: ${event.message}`;
  return undefined;
}

/** Why a report is an infrastructure failure (worth a retry), if it is one. */
export function infrastructureFailure(report: Report): string | undefined {
  // `failed` is what the pipeline records for errors that are not about the
  // submission (an InfrastructureError, or a labgrader bug); problems with the
  // submission end as `not-gradable`, budgets as `timed-out`.
  const failed = report.stages.find((s) => s.status === 'failed');
  return failed ? `the ${failed.name} stage failed: ${failed.message ?? 'no message'}` : undefined;
}

function earliest(a: string, b: string | undefined): string {
  return b !== undefined && Date.parse(b) < Date.parse(a) ? b : a;
}

function cloneUrlRoots(entries: readonly string[]): CloneUrlRoot[] {
  const problems: string[] = [];
  const roots = entries.flatMap((entry, i) => {
    const parsed = parseCloneUrlRoot(entry);
    if ('root' in parsed) return [parsed.root];
    problems.push(`cloneUrlAllow[${i}]: ${parsed.problem}`);
    return [];
  });
  if (problems.length > 0 || roots.length === 0) {
    throw new ConfigError('invalid clone URL allow-list', {
      problems: problems.length > 0 ? problems : ['cloneUrlAllow: at least one root is needed'],
      hint: 'Set CLONE_URL_ALLOW to roots such as https://github.com/.',
    });
  }
  return roots;
}

export function createGradeHandler(deps: GradeDeps): (data: unknown, ctx: JobContext) => Promise<GradeJobResult> {
  const roots = cloneUrlRoots(deps.cloneUrlAllow);
  return async (data, ctx) => {
    let job: GradeJob;
    try {
      job = parseGradeJob(data);
    } catch (err) {
      if (err instanceof InvalidGradeJobError) throw new PermanentJobError(err.message);
      throw err;
    }
    const log = ctx.logger;
    // The job contract already checked the URL's shape; the queue is a trust boundary, so check it all again.
    const clone = checkCloneUrl(job.repository.cloneUrl, job.repository.fullName, roots);
    if (!clone.allowed) throw new PermanentJobError(clone.problem);

    let rubric: Rubric;
    try {
      rubric = await deps.rubrics.load(job.rubricId);
    } catch (err) {
      if (err instanceof ConfigError || err instanceof UsageError) {
        throw new PermanentJobError(`${err.message}${err.hint ? ` (${err.hint})` : ''}`);
      }
      throw err;
    }

    const publishCtx: PublishContext = { job, jobId: ctx.jobId, attempt: ctx.attempt, logger: log };
    const supersede = async (by: StreamHead): Promise<GradeJobResult> => {
      log.info('superseded by a newer push; not graded', { supersededBy: by.jobId, newerCommit: by.commit });
      for (const publisher of deps.publishers) {
        try {
          if (publisher.cancelled) await publisher.cancelled(publishCtx, by);
          else await publisher.abandoned?.(publishCtx);
        } catch (err) {
          log.warn('publisher could not report the cancellation', { publisher: publisher.name, error: err });
        }
      }
      return { outcome: 'superseded', supersededBy: { jobId: by.jobId, commit: by.commit } };
    };
    const abandon = async () => {
      for (const publisher of deps.publishers) await publisher.abandoned?.(publishCtx).catch(() => {});
    };
    const newer = await ctx.supersededNow?.();
    if (newer) return supersede(newer);

    const lab = job.lab ? deps.labs?.lab(job.lab.id) : undefined;
    if (job.lab && deps.labs && !lab) {
      log.warn("the job's lab is not in this worker's course configuration: no cluster budget, no deadline", {
        lab: job.lab.id,
      });
    }
    const key = {
      repository: job.repository.fullName,
      commit: job.commit,
      rubricId: job.rubricId,
      ...(job.lab ? { labId: job.lab.id } : {}),
    };
    const previous = await deps.store.get(key);
    if (previous && previous.jobId === ctx.jobId && previous.rubricDigest === rubric.digest && ctx.attempt > 1) {
      // An earlier attempt of this very job graded and stored the report, then a later publisher (GitHub)
      // failed: publish the stored report again rather than grading again (publishers are idempotent).
      log.info('graded by an earlier attempt; publishing the stored report again', { gradedAt: previous.gradedAt });
      const retriesExhausted = infrastructureFailure(previous.report) !== undefined;
      for (const publisher of deps.publishers) {
        await publisher.publish(previous.report, { ...publishCtx, meta: previous.meta, retriesExhausted });
      }
      return {
        outcome: previous.status,
        status: previous.status,
        points: previous.points,
        maxPoints: previous.maxPoints,
        percent: previous.percent,
      };
    }
    if (!job.force && previous?.status === 'graded' && previous.rubricDigest === rubric.digest) {
      log.info('already graded; skipping', { gradedAt: previous.gradedAt, points: previous.points });
      return {
        outcome: 'already-graded',
        status: previous.status,
        points: previous.points,
        maxPoints: previous.maxPoints,
        percent: previous.percent,
      };
    }
    // A re-run or regrade does not know the student or when they pushed (its time is the
    // check suite's); the first grading did. Otherwise the earliest push counts.
    const author = job.author ?? previous?.author;
    const forced = job.event === 'rerun' || job.event === 'regrade';
    const pushedAt = forced && previous ? previous.pushedAt : earliest(job.pushedAt, previous?.pushedAt);

    for (const publisher of deps.publishers) {
      if (!publisher.started) continue;
      try {
        await publisher.started(publishCtx);
      } catch (err) {
        log.warn('publisher could not announce the start', { publisher: publisher.name, error: err });
      }
    }

    const planned = deps.planStages ? await deps.planStages(rubric) : { rubric, skip: {} };
    const skip: Partial<Record<CheckStage, string>> = { ...planned.skip, ...deps.skip };
    if (lab?.clusterBudget && planned.rubric.stages.cluster.enabled && !skip.cluster && deps.store.clusterRuns) {
      // The student's earlier cluster runs in this lab, all on GitHub's push times (queue delays move nothing).
      const since = new Date(Date.parse(pushedAt) - 8 * 24 * 3600_000).toISOString(); // the widest window: a week
      const runs = await deps.store.clusterRuns({
        labId: lab.id,
        student: job.student ?? job.repository.fullName,
        since,
      });
      const budget = clusterBudget(
        lab,
        runs.map((r) => r.pushedAt),
        pushedAt,
      );
      if (!budget.allowed) {
        skip.cluster = budget.reason;
        log.info('cluster budget used up; the cluster stage is skipped', {
          used: budget.used,
          limit: budget.limit,
          nextAt: budget.nextAt.toISOString(),
        });
      }
    }
    // The clone token is revoked as soon as the fetch stage is over (the rest of the grading, a cluster run
    // included, needs no access to the repository), and at the latest when grading ends.
    let cloneToken: string | undefined;
    const releaseCloneToken = () => {
      const token = cloneToken;
      cloneToken = undefined;
      if (token && deps.credentials.release) void deps.credentials.release(token);
    };
    const onEvent = (event: PipelineEvent) => {
      if (event.type === 'stage-end' && event.stage === 'fetch') releaseCloneToken();
      if (event.type === 'stage-end') {
        deps.metrics?.stageDuration.observe(
          { stage: event.stage, status: event.result.status },
          event.result.durationMs / 1000,
        );
      }
      const text = progressText(event);
      if (text === undefined) return;
      for (const publisher of deps.publishers) {
        try {
          publisher.progress?.(publishCtx, text);
        } catch (err) {
          log.debug('progress not published', { publisher: publisher.name, error: err });
        }
      }
    };
    let report: Report;
    // The lines around the findings, read before the workspace goes (kept by the store beside the report).
    let excerpts: SourceExcerpts | undefined;
    try {
      const token = await deps.credentials.tokenFor(job, ctx.signal);
      cloneToken = token;
      ({ report, excerpts } = await gradeSourceWithExcerpts(
        { kind: 'git', url: clone.url, ref: job.commit, ...(token ? { credentials: { token } } : {}) },
        {
          rubric: planned.rubric,
          skip,
          submission: {
            source: 'github',
            repository: job.repository.fullName,
            commit: job.commit,
            ref: job.ref,
            ...(author ? { author } : {}),
            submittedAt: pushedAt,
          },
        },
        {
          runner: deps.runner,
          stages: deps.stages,
          signal: ctx.signal,
          logger: log,
          onEvent,
          ...((ctx.tempRoot ?? deps.tempRoot) ? { workspace: { tempRoot: (ctx.tempRoot ?? deps.tempRoot)! } } : {}),
        },
      ));
    } catch (err) {
      releaseCloneToken();
      if (ctx.signal.reason instanceof SupersededError) return supersede(ctx.signal.reason.supersededBy);
      await abandon();
      if (ctx.signal.aborted) throw new JobCancelledError('grading was cancelled', { cause: err });
      if (err instanceof UsageError || err instanceof ConfigError) throw new PermanentJobError(err.message);
      if (isLabgraderError(err) && err.retryable) throw new RetryableJobError(err.message, { cause: err });
      throw err;
    }
    releaseCloneToken();
    // A report cut short by cancellation says nothing about the submission.
    if (ctx.signal.reason instanceof SupersededError) return supersede(ctx.signal.reason.supersededBy);
    if (ctx.signal.aborted) {
      await abandon();
      throw new JobCancelledError('grading was cancelled');
    }

    const failure = infrastructureFailure(report);
    const lastAttempt = ctx.attempt >= ctx.maxAttempts;
    if (failure && !lastAttempt) {
      await abandon();
      throw new RetryableJobError(`attempt ${ctx.attempt} of ${ctx.maxAttempts}: ${failure}`);
    }
    const deadline = lab ? deadlineRecord(lab, pushedAt) : undefined;

    const meta: GradeMetadata = {
      jobId: ctx.jobId,
      deliveryId: job.deliveryId,
      event: job.event,
      ref: job.ref,
      ...(author ? { author } : {}),
      ...(job.requestedBy ? { requestedBy: job.requestedBy } : {}),
      pushedAt,
      ...(job.installationId ? { installationId: job.installationId } : {}),
      ...(job.pullRequest ? { pullRequest: job.pullRequest } : {}),
      attempt: ctx.attempt,
      ...(job.lab ? { lab: { id: job.lab.id, title: job.lab.title } } : {}),
      ...(job.student ? { student: job.student } : {}),
      ...(job.reason ? { reason: job.reason } : {}),
      ...(deadline ? { deadline } : {}),
    };
    for (const publisher of deps.publishers) {
      await publisher.publish(report, {
        ...publishCtx,
        meta,
        retriesExhausted: failure !== undefined,
        ...(excerpts ? { excerpts } : {}),
      });
    }
    if (failure) throw new RetryableJobError(`gave up after ${ctx.attempt} attempts: ${failure}`);

    return {
      outcome: report.status,
      status: report.status,
      points: report.score.points,
      maxPoints: report.score.maxPoints,
      percent: report.score.percent,
      ...(report.notGradable ? { notGradableReason: report.notGradable.reason } : {}),
    };
  };
}

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
 *  - cancelled (shutdown): a JobCancelledError; nothing is published.
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
} from '@labgrader/core';
import { gradeSource } from '@labgrader/pipeline';
import {
  InvalidGradeJobError,
  checkCloneUrl,
  parseCloneUrlRoot,
  parseGradeJob,
  type CloneUrlRoot,
  type GradeJob,
  type GradeJobResult,
} from '@labgrader/queue';
import type { Rubric } from '@labgrader/rubric';
import type { GradeMetadata, ReportStore } from '@labgrader/store';
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
  /** Read to skip commits already graded and to keep the first push time; written by the store publisher. */
  store: Pick<ReportStore, 'get'>;
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

export interface JobContext {
  jobId: string;
  /** 1-based attempt number. */
  attempt: number;
  maxAttempts: number;
  signal: AbortSignal;
  logger: Logger;
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

    const key = { repository: job.repository.fullName, commit: job.commit, rubricId: job.rubricId };
    const previous = await deps.store.get(key);
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
    // A re-run does not know the student or when they pushed (its time is the
    // check suite's); the first grading did. Otherwise the earliest push counts.
    const author = job.author ?? previous?.author;
    const pushedAt = job.event === 'rerun' && previous ? previous.pushedAt : earliest(job.pushedAt, previous?.pushedAt);

    const publishCtx: PublishContext = { job, jobId: ctx.jobId, attempt: ctx.attempt, logger: log };
    for (const publisher of deps.publishers) {
      if (!publisher.started) continue;
      try {
        await publisher.started(publishCtx);
      } catch (err) {
        log.warn('publisher could not announce the start', { publisher: publisher.name, error: err });
      }
    }

    const planned = deps.planStages ? await deps.planStages(rubric) : { rubric, skip: {} };
    const skip = { ...planned.skip, ...deps.skip };
    const token = await deps.credentials.tokenFor(job, ctx.signal);
    let report: Report;
    try {
      report = await gradeSource(
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
          ...(deps.tempRoot ? { workspace: { tempRoot: deps.tempRoot } } : {}),
        },
      );
    } catch (err) {
      if (ctx.signal.aborted) throw new JobCancelledError('grading was cancelled', { cause: err });
      if (err instanceof UsageError || err instanceof ConfigError) throw new PermanentJobError(err.message);
      if (isLabgraderError(err) && err.retryable) throw new RetryableJobError(err.message, { cause: err });
      throw err;
    }
    // A report cut short by cancellation says nothing about the submission.
    if (ctx.signal.aborted) throw new JobCancelledError('grading was cancelled');

    const failure = infrastructureFailure(report);
    const lastAttempt = ctx.attempt >= ctx.maxAttempts;
    if (failure && !lastAttempt) {
      throw new RetryableJobError(`attempt ${ctx.attempt} of ${ctx.maxAttempts}: ${failure}`);
    }

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
    };
    for (const publisher of deps.publishers) {
      await publisher.publish(report, { ...publishCtx, meta, retriesExhausted: failure !== undefined });
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

/**
 * The worker's ports: how it gets clone credentials, and where finished
 * reports go. GitHub stays at the edge, behind them:
 *
 *  - `CredentialsProvider`: no credentials (public repositories, tests), or
 *    the GitHub App's installation tokens (@labgrader/github `CloneTokens`:
 *    scoped to the one repository, read-only `contents`);
 *  - `ReportPublisher`s: the store (the record), the check run and the PR
 *    comment (publishers.ts).
 */
import type { Logger, Report, SourceExcerpts } from '@labgrader/core';
import type { GradeJob } from '@labgrader/queue';
import type { GradeMetadata, ReportStore } from '@labgrader/store';

export interface CredentialsProvider {
  /**
   * A token git may use to clone this job's repository (sent as HTTP Basic
   * `x-access-token:<token>` through git's environment, never argv or URL),
   * or undefined when none is needed. Throwing an InfrastructureError retries the job.
   */
  tokenFor(job: GradeJob, signal: AbortSignal): Promise<string | undefined>;
  /** Called once the clone is done with the token `tokenFor` gave (the App revokes it). Must not throw. */
  release?(token: string): Promise<void>;
}

/** Clones without credentials: public repositories, or local ones in tests. */
export const noCredentials: CredentialsProvider = {
  async tokenFor() {
    return undefined;
  },
};

export interface PublishContext {
  job: GradeJob;
  jobId: string;
  /** 1-based. */
  attempt: number;
  logger: Logger;
}

export interface PublishedGrade extends PublishContext {
  meta: GradeMetadata;
  /**
   * Grading failed for an infrastructure reason on every attempt; the report
   * is `not-gradable` and says so. A check run would be neutral, asking to re-run.
   */
  retriesExhausted: boolean;
  /** The source lines around the findings, redacted (the store keeps them; GitHub gets the report only). */
  excerpts?: SourceExcerpts;
}

export interface ReportPublisher {
  readonly name: string;
  /** Grading started (a check run goes "in progress"). Optional; a failure is logged, never fatal. */
  started?(ctx: PublishContext): Promise<void>;
  /**
   * The pipeline moved on ("lint", "cluster: pod-kill drill"). Called often and
   * synchronously: a publisher throttles and sends in the background, and
   * never lets a progress update overtake `publish`/`cancelled`.
   */
  progress?(ctx: PublishContext, stage: string): void;
  /** A newer push superseded this job before it finished (a check run completes `cancelled`). Failures are logged. */
  cancelled?(ctx: PublishContext, supersededBy: { commit: string; jobId: string }): Promise<void>;
  /** The job stops without a result (shutdown, an error before grading ended): drop pending progress. */
  abandoned?(ctx: PublishContext): Promise<void>;
  /**
   * Publishes a finished report, graded or not-gradable. Must be idempotent
   * (keyed by repository, commit and rubric): a job whose later publisher
   * failed is retried and publishes again. Throw to retry the job.
   */
  publish(report: Report, grade: PublishedGrade): Promise<void>;
}

/** Stores every finished report: the record the dashboard and CSV export read. */
export function storePublisher(store: ReportStore): ReportPublisher {
  return {
    name: 'store',
    async publish(report, grade) {
      await store.save(
        { repository: grade.job.repository.fullName, commit: grade.job.commit, rubricId: grade.job.rubricId },
        report,
        grade.meta,
        grade.excerpts ? { excerpts: grade.excerpts } : {},
      );
    },
  };
}

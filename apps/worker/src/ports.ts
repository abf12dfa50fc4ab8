/**
 * The worker's ports: how it gets clone credentials, and where finished
 * reports go. Today: no credentials (public repositories, or a git host that
 * needs none) and the report store. GitHub reporting plugs in here without
 * touching the grading code:
 *
 *  - a `CredentialsProvider` that mints a GitHub App installation token for
 *    `job.installationId` (octokit's App auth), scoped to the one repository,
 *    read-only `contents`;
 *  - a `ReportPublisher` that creates a check run (`started`: in progress;
 *    `publish`: conclusion, summary, annotations from `report.findings`);
 *  - a `ReportPublisher` that writes the PR comment from `formatMarkdown` for
 *    jobs with `pullRequest` (or PRs found for the commit).
 */
import type { Logger, Report } from '@labgrader/core';
import type { GradeJob } from '@labgrader/queue';
import type { GradeMetadata, ReportStore } from '@labgrader/store';

export interface CredentialsProvider {
  /**
   * A token git may use to clone this job's repository (sent as HTTP Basic
   * `x-access-token:<token>` through git's environment, never argv or URL),
   * or undefined when none is needed. Throwing an InfrastructureError retries the job.
   */
  tokenFor(job: GradeJob, signal: AbortSignal): Promise<string | undefined>;
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
}

export interface ReportPublisher {
  readonly name: string;
  /** Grading started (a check run goes "in progress"). Optional; a failure is logged, never fatal. */
  started?(ctx: PublishContext): Promise<void>;
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
      );
    },
  };
}

/**
 * The ReportStore port: where graded reports live for the instructor
 * dashboard, CSV exports and the student's history. A report is keyed by
 * (repository, commit, rubric): grading the same commit with the same rubric
 * again (a re-run) replaces the report and counts the regrade.
 */
import type { Report } from '@labgrader/core';

export interface ReportKey {
  /** `owner/name`; compared case-insensitively, as GitHub does. */
  repository: string;
  /** Full commit SHA. */
  commit: string;
  rubricId: string;
}

/** Facts about the grading job that the report itself does not carry. */
export interface GradeMetadata {
  jobId: string;
  deliveryId: string;
  event: 'push' | 'pull_request' | 'rerun';
  ref: string;
  /** GitHub login of the student, when known. */
  author?: string;
  /** Who triggered this grade (pusher, or who asked for the re-run). */
  requestedBy?: string;
  /** When the student pushed, ISO 8601 (GitHub's clock). */
  pushedAt: string;
  installationId?: number;
  pullRequest?: number;
  /** Which attempt produced this report (1 = first). */
  attempt: number;
}

export interface StoredReportSummary {
  /** Store-assigned id, stable across regrades of the same key. */
  id: string;
  /** `owner/name` as last received. */
  repository: string;
  /** Lowercased owner: the course organisation. */
  owner: string;
  commit: string;
  rubricId: string;
  rubricDigest: string;
  status: Report['status'];
  notGradableReason?: string;
  points: number;
  maxPoints: number;
  percent: number;
  rubricMaxPoints: number;
  author?: string;
  /** The earliest push of this commit that was graded (deadlines use it), ISO 8601. */
  pushedAt: string;
  /** Metadata of the job that produced the current report. */
  meta: GradeMetadata;
  firstGradedAt: string;
  gradedAt: string;
  /** 1, plus one per regrade of the same key. */
  gradeCount: number;
}

export interface StoredReport extends StoredReportSummary {
  report: Report;
}

export interface ReportQuery {
  /** The course organisation (repository owner), case-insensitive. */
  owner?: string;
  repository?: string;
  rubricId?: string;
  status?: Report['status'];
  /** Only each repository's most recently pushed report (the dashboard's and the CSV export's view). */
  latestPerRepository?: boolean;
  /** 1..500, default 50. */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface ReportPage {
  /** Newest push first. */
  items: StoredReportSummary[];
  /** Present when there may be more. */
  nextCursor?: string;
}

export interface ReportStore {
  /** Inserts or replaces the report for `key`; returns what is stored now. */
  save(key: ReportKey, report: Report, meta: GradeMetadata): Promise<StoredReport>;
  get(key: ReportKey): Promise<StoredReport | undefined>;
  /** The most recently pushed report of a repository (optionally for one rubric). */
  latest(repository: string, options?: { rubricId?: string }): Promise<StoredReport | undefined>;
  list(query?: ReportQuery): Promise<ReportPage>;
  close(): Promise<void>;
}

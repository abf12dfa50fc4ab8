/**
 * The ReportStore port: where graded reports live for the instructor
 * dashboard, CSV exports and the student's history.
 *
 * History, not overwrite: every grading is a row of its own, keyed by the
 * grading job (a retried job replaces its own row, so publishing stays
 * idempotent). A regrade of a commit adds a row with its reason; the old and
 * new scores are both kept. What counts for a student and lab is the grading
 * of their latest push (GitHub's push time), and among that commit's
 * gradings the latest.
 */
import type { Report, SourceExcerpts } from '@labgrader/core';

export interface ReportKey {
  /** `owner/name`; compared case-insensitively, as GitHub does. */
  repository: string;
  /** Full commit SHA. */
  commit: string;
  rubricId: string;
  /** The course's lab; absent without a course configuration, when the rubric is the lab. */
  labId?: string;
}

/** How the deadline judged the push (the course's `judgeSubmission`), kept with the grading. */
export interface DeadlineJudgement {
  /** `on-time`, `late`, `closed`… as the course configuration says. */
  status: string;
  /** Extra facts (the deadline, a penalty) for the dashboard. */
  [key: string]: unknown;
}

/** Facts about the grading job that the report itself does not carry. */
export interface GradeMetadata {
  jobId: string;
  deliveryId: string;
  event: 'push' | 'pull_request' | 'rerun' | 'regrade';
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
  /** The lab (course configuration) and its title. */
  lab?: { id: string; title: string };
  /** Who the grading counts for; default: the repository. */
  student?: string;
  /** Why this grading happened again ("Regrade requested by ta-1"). */
  reason?: string;
  /** The deadline's judgement of the push time. */
  deadline?: DeadlineJudgement;
}

export interface StoredReportSummary {
  /** Store-assigned id of this grading. */
  id: string;
  /** The grading job that produced it. */
  jobId: string;
  event: GradeMetadata['event'];
  /** The lab (the rubric id without a course configuration). */
  labId: string;
  labTitle?: string;
  /** Lowercased; the repository when the course does not name one. */
  student: string;
  reason?: string;
  deadline?: DeadlineJudgement;
  /** The cluster stage ran (counts against the lab's cluster budget). */
  clusterRan: boolean;
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
  /** Metadata of the job that produced this report. */
  meta: GradeMetadata;
  /** When this commit was first graded as this lab. */
  firstGradedAt: string;
  gradedAt: string;
  /** How many gradings of this commit as this lab there were up to this one (1 = the first). */
  gradeCount: number;
}

export interface StoredReport extends StoredReportSummary {
  report: Report;
  /** The lines around the findings, redacted (kept since store migration 4; absent before, or when unreadable). */
  excerpts?: SourceExcerpts;
}

/** What a grading keeps beside its report. */
export interface SaveExtras {
  /** Source excerpts around the findings (core's extractExcerpts). */
  excerpts?: SourceExcerpts;
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

export interface LabQuery {
  labId: string;
  /** The course organisation (repository owner), case-insensitive. */
  owner?: string;
  /** 1..500, default 50. */
  limit?: number;
  cursor?: string;
}

export interface Page<T> {
  items: T[];
  nextCursor?: string;
}

export interface ClusterRun {
  /** GitHub's push time of the graded commit: the cluster budget's windows are judged on it. */
  pushedAt: string;
  gradedAt: string;
  commit: string;
  jobId: string;
}

/** How the dashboard groups gradings into students: the course's students, or (no course) repository owners. */
export type StudentKey = 'student' | 'owner';

/** One criterion's score in a grading (the `criterion_scores` column: a few bytes, not the report). */
export interface CriterionScore {
  id: string;
  points: number;
  maxPoints: number;
  status: string;
}

/** One student's row of a lab's overview. */
export interface LabOverviewRow {
  /** The student (lowercased login, or repository without a course), or the repository owner (`by: 'owner'`). */
  key: string;
  /** Their latest push's latest grading. */
  latest: StoredReportSummary & { criteria: CriterionScore[]; findingCount: number };
  /**
   * What counts: the latest grading whose push the deadline accepted; the latest itself when it was
   * accepted (or nothing was), absent when no push of theirs was accepted.
   */
  counting?: StoredReportSummary & { criteria: CriterionScore[]; findingCount: number };
  /** Distinct commits graded. */
  submissions: number;
  /** Gradings, regrades included. */
  gradings: number;
  firstPushedAt: string;
}

export interface LabOverviewQuery {
  labId: string;
  by?: StudentKey;
  /** The course organisation (repository owner), case-insensitive. */
  owner?: string;
}

/** Aggregates over a set of gradings (the counting grading of each student), for the charts. */
export interface LabStatistics {
  /** Per check: how many of the gradings examined something with it, and how many passed all they examined. */
  checks: { criterion: string; id: string; gradings: number; allPassed: number; examined: number; passed: number }[];
  /** Recovery times measured by the failure drills. */
  recoveries: { drill: string; seconds: number; gradingId: string }[];
}

/** Pushes per hour of a lab (distinct commits), with how many were late. */
export interface PushBucket {
  hour: string;
  pushes: number;
  late: number;
}

export interface LabInfo {
  labId: string;
  labTitle?: string;
  /** The rubric title of the lab's latest push (the title without a course configuration). */
  rubricTitle?: string;
  students: number;
  gradings: number;
  lastPushedAt: string;
}

export interface ReportStore {
  /**
   * Records a grading of `key` (a new row; the same job saving again replaces
   * its own row); returns it.
   */
  save(key: ReportKey, report: Report, meta: GradeMetadata, extras?: SaveExtras): Promise<StoredReport>;
  /** The latest grading of this commit as this lab (and rubric). */
  get(key: ReportKey): Promise<StoredReport | undefined>;
  /** What counts: each student's latest push in a lab, its latest grading; ordered by student. */
  latestPerStudent(query: LabQuery): Promise<Page<StoredReportSummary>>;
  /** Every grading of one student (in one lab, or all), newest push first, regrades with their reasons. */
  history(query: { student: string; labId?: string; limit?: number }): Promise<StoredReportSummary[]>;
  /** A lab's submissions: each commit's latest grading, newest push first. */
  labSubmissions(query: LabQuery): Promise<Page<StoredReportSummary>>;
  /** The gradings of a student in a lab that ran the cluster stage, newest push first; `since` a push time. */
  clusterRuns(query: { labId: string; student: string; since?: string }): Promise<ClusterRun[]>;
  /** The most recently pushed report of a repository (optionally for one rubric). */
  latest(repository: string, options?: { rubricId?: string }): Promise<StoredReport | undefined>;
  list(query?: ReportQuery): Promise<ReportPage>;
  close(): Promise<void>;
}

/** The dashboard's read queries (additive to ReportStore; the PostgreSQL store implements both). */
export interface DashboardStore {
  /** One grading by its store id. */
  getById(id: string): Promise<StoredReport | undefined>;
  /** Every lab with gradings, with counts (students counted by `by`, default the course's students). */
  labs(options?: { by?: StudentKey }): Promise<LabInfo[]>;
  /** Changes whenever a grading of the lab is added or replaced (for caches). */
  labVersion(labId: string): Promise<string>;
  /** Changes whenever any grading is added or replaced (for caches of the labs list). */
  labsVersion(): Promise<string>;
  /** Each student's latest and counting grading in a lab, with their criterion scores and submission counts; ordered by key. */
  labOverview(query: LabOverviewQuery): Promise<LabOverviewRow[]>;
  /** Check pass rates and drill recovery times over the given gradings. */
  labStatistics(gradingIds: readonly string[]): Promise<LabStatistics>;
  /** Distinct commits pushed per hour (GitHub's push time) in a lab. */
  pushTimeline(query: LabOverviewQuery): Promise<PushBucket[]>;
  /** A student's (or owner's) gradings, newest push first, with criterion scores. */
  gradingsOf(query: {
    key: string;
    by?: StudentKey;
    labId?: string;
    limit?: number;
  }): Promise<(StoredReportSummary & { criteria: CriterionScore[]; findingCount: number })[]>;
  /** Every grading of one commit as one lab, oldest first (the regrade history with old and new scores). */
  commitGradings(query: { repository: string; commit: string; labId: string }): Promise<StoredReportSummary[]>;
}

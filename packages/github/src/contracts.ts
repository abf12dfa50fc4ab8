/**
 * The GitHub edge as the rest of labgrader sees it. The api and the worker
 * depend on these interfaces only; `createGithubApp` (this package) is the
 * octokit implementation, and tests use the same interfaces with a GitHub
 * double on loopback. Without App credentials the service runs with
 * `undefined` in their place: public repositories only, nothing reported back.
 */
import type { Logger, Report } from '@labgrader/core';
import type { GradeJob } from '@labgrader/queue';

/** Validated from the environment (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or _FILE, GITHUB_API_URL, GITHUB_URL). */
export interface GithubAppConfig {
  appId: string;
  /** The PEM itself (never logged). */
  privateKey: string;
  /** REST API base, default https://api.github.com (GitHub Enterprise Server: https://host/api/v3). */
  apiUrl: string;
  /** Web and git host, default https://github.com. */
  webUrl: string;
  /** Where labgrader's own pages live (the full report), when the dashboard is served; for links. */
  publicUrl?: string;
}

/** What the check run and the PR comment are about: one grading job of one lab. */
export interface ReportTarget {
  job: GradeJob;
  /** Shown in the check run's name: "labgrader · Lab 85". */
  labTitle: string;
  /** At or above: `success`; below: `failure` (percent of the graded maximum). */
  passPercent: number;
  /** A link to the full report, when labgrader serves one. */
  reportUrl?: string;
}

/**
 * Check runs: one per graded commit and lab, found again before every change by its external id (the job's key,
 * `gradeJobId`; a forced regrade has its own), so every call is idempotent and a retried job never makes a second
 * one. Jobs without `installationId` are not reported (the calls return at once). Errors: GithubUnavailableError
 * (retryable) and GithubAccessError (not: uninstalled, a permission missing), each logged once by this package.
 */
export interface CheckRunReporter {
  /** As soon as the job is queued (the API calls it without delaying the webhook answer). A run that exists already is left as it is. */
  queued(target: ReportTarget): Promise<void>;
  /** Grading started or moved to another stage ("lint", "cluster: pod-kill drill"…); a completed run is not reopened. */
  inProgress(target: ReportTarget, stage: string): Promise<void>;
  /**
   * success / failure by the pass mark, neutral when not gradable or `retriesExhausted` (never a zero); every finding
   * with a file as an annotation (50 per request; a retry sends only the missing ones); the Regrade button.
   */
  completed(target: ReportTarget, report: Report, options: { retriesExhausted: boolean }): Promise<void>;
  /** A newer push to the same branch or pull request superseded this job (a completed run is left as it is). */
  cancelled(target: ReportTarget, supersededBy: { commit: string }): Promise<void>;
}

/**
 * The one PR comment per pull request (and rubric), found by a hidden marker among the comments this App wrote and
 * updated in place; a report of an older push never overwrites a newer one. Same errors as the check runs.
 */
export interface PullRequestCommenter {
  upsert(target: ReportTarget & { pullRequest: number }, report: Report): Promise<void>;
}

/**
 * Installation tokens for cloning: a new one per call, scoped to the job's one repository with `contents: read` only
 * (checks and comments use tokens of their own, see tokens.ts).
 */
export interface CloneTokens {
  /**
   * undefined when the job has no installation (a public repository, cloned anonymously) or when the installation
   * cannot give one (uninstalled, the repository not granted: logged as an error; a private clone then fails as not
   * gradable). Throws a GithubUnavailableError (retryable) when GitHub is down or rate-limited, and a ConfigError
   * when the job's clone URL is not on GITHUB_URL's host (the token would leave for another host).
   */
  tokenFor(job: GradeJob, signal: AbortSignal): Promise<string | undefined>;
  /** Revokes a token `tokenFor` gave, once the clone no longer needs it (`DELETE /installation/token`). Never throws. */
  release(token: string): Promise<void>;
}

/** One attempt at delivering a webhook, as the App hook's delivery list shows it. */
export interface WebhookDelivery {
  /** The attempt's id: what `redeliver` takes. */
  id: number;
  /** X-GitHub-Delivery: shared by the original attempt and every redelivery. */
  guid: string;
  event: string;
  action: string | null;
  /** When the first attempt seen (in the window) was made. */
  deliveredAt: string;
  /** `OK`, `failed to connect`, `Invalid HTTP Response: 503`… */
  status: string;
  /** The receiver's HTTP status; 0 when it never answered. */
  statusCode: number;
  redelivery: boolean;
  installationId: number | null;
  repositoryId: number | null;
}

/** GitHub never redelivers a failed delivery by itself: the sweep lists the App hook's failed deliveries and redelivers them. */
export interface WebhookDeliveries {
  /**
   * Deliveries of the App's hook since `since` that never succeeded: every attempt of the GUID within the window
   * failed (`status` not OK, `status_code` not 2xx, including 0 for "failed to connect" and time-outs). Oldest first,
   * each GUID once, as its latest attempt.
   */
  failedSince(since: Date): Promise<WebhookDelivery[]>;
  /** Asks GitHub to deliver that attempt again (POST /app/hook/deliveries/{id}/attempts). */
  redeliver(id: number): Promise<void>;
}

export interface GithubApp {
  /** With the private key: never log this object. */
  readonly config: GithubAppConfig;
  readonly tokens: CloneTokens;
  readonly checks: CheckRunReporter;
  readonly comments: PullRequestCommenter;
  readonly deliveries: WebhookDeliveries;
}

/** One GitHub API call, reported after it finished (retries included), for metrics. */
export interface GithubRequestEvent {
  method: string;
  /** The route template, low-cardinality: `POST /repos/{owner}/{repo}/check-runs`. */
  route: string;
  /** The HTTP status; 0 when GitHub did not answer. */
  status: number;
  /** `x-ratelimit-remaining` / `x-ratelimit-limit` of the answer, when GitHub sent them. */
  remaining?: number;
  limit?: number;
  durationMs: number;
}

export interface GithubAppDeps {
  /** Injected for tests (octokit accepts a `request.fetch`); default: global fetch. */
  fetch?: typeof fetch;
  logger?: Logger;
  /** The clock, for token expiry. */
  now?: () => Date;
  /** Called after every API call (never with a token): count calls, statuses and the remaining rate limit. */
  onRequest?: (event: GithubRequestEvent) => void;
  /** A cached installation token is re-minted when less than this is left (default 10 minutes). */
  tokenRefreshMarginMs?: number;
  /** Pause between two writes (POST, PATCH, DELETE), GitHub's advice against secondary rate limits (default 1000 ms). */
  writeIntervalMs?: number;
  /** In-process retries of a 5xx answer before the error reaches the caller (default 2). */
  retries?: number;
  /** Unit of the retry and rate-limit waits, in ms per second GitHub asks for (default 1000; tests shorten it). */
  retryUnitMs?: number;
  /** At most this many annotations per check run (default 1000); the summary says when some were left out. */
  maxAnnotations?: number;
}

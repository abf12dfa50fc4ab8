/**
 * What a failed GitHub call means for the caller:
 *
 *  - GithubUnavailableError (an InfrastructureError, retryable): GitHub
 *    answered 5xx or not at all, or a rate limit was hit (`retryAfterSeconds`
 *    when GitHub said). Try again later: BullMQ's backoff does.
 *  - GithubAccessError (a ConfigError, not retryable): GitHub refused for a
 *    reason another try will not fix: the App was uninstalled or suspended,
 *    the repository is not granted to the installation, a permission is
 *    missing, the App's key or id is wrong. Logged once, clearly; the
 *    operator has to act.
 *
 * Neither carries the request (its authorization header), the token or the
 * key: only the route template, the status and GitHub's own message.
 */
import { ConfigError, InfrastructureError } from '@labgrader/core';

export type GithubAccessReason =
  /** 401: the App's JWT was refused (wrong id or key, clock skew) or a token was revoked. */
  | 'unauthorized'
  /** 403: the installation lacks a permission, or is suspended. */
  | 'forbidden'
  /** 404: the App is not installed there (uninstalled), or the repository is not granted to it. */
  | 'not-found'
  /** 422 and other 4xx: GitHub rejected the request itself. */
  | 'rejected';

export class GithubAccessError extends ConfigError {
  /** (Not `status`: octokit's plugins read that field off any error passing through them.) */
  readonly httpStatus: number;
  /** `POST /repos/{owner}/{repo}/check-runs`: the template, never the expanded URL. */
  readonly route: string;
  readonly reason: GithubAccessReason;
  /** GitHub's message (`Resource not accessible by integration`). */
  readonly githubMessage: string;

  constructor(
    message: string,
    details: { httpStatus: number; route: string; reason: GithubAccessReason; githubMessage: string; hint?: string },
  ) {
    super(message, details.hint ? { hint: details.hint } : {});
    this.httpStatus = details.httpStatus;
    this.route = details.route;
    this.reason = details.reason;
    this.githubMessage = details.githubMessage;
  }
}

export class GithubUnavailableError extends InfrastructureError {
  /** 0 when GitHub did not answer. */
  readonly httpStatus: number;
  readonly route: string;
  readonly rateLimited: boolean;
  readonly retryAfterSeconds: number | undefined;

  constructor(
    message: string,
    details: { httpStatus: number; route: string; rateLimited: boolean; retryAfterSeconds?: number; hint?: string },
  ) {
    super(message, details.hint ? { hint: details.hint } : {});
    this.httpStatus = details.httpStatus;
    this.route = details.route;
    this.rateLimited = details.rateLimited;
    this.retryAfterSeconds = details.retryAfterSeconds;
  }
}

interface RequestErrorLike {
  status: number;
  message: string;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

function isRequestError(err: unknown): err is RequestErrorLike {
  return err instanceof Error && err.name === 'HttpError' && typeof (err as { status?: unknown }).status === 'number';
}

function header(err: RequestErrorLike, name: string): string | undefined {
  const value = err.response?.headers?.[name];
  return value === undefined ? undefined : String(value);
}

/** GitHub's `message` from the error body, bounded, on one line. */
function githubMessageOf(err: RequestErrorLike): string {
  const data = err.response?.data as { message?: unknown } | undefined;
  const text = typeof data?.message === 'string' ? data.message : err.message;
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

export function isSecondaryRateLimit(status: number, message: string): boolean {
  return (status === 403 || status === 429) && /secondary rate limit|abuse detection/i.test(message);
}

const ACCESS_HINT: Record<GithubAccessReason, string> = {
  unauthorized:
    "Check GITHUB_APP_ID and the private key (regenerate it on the App's settings page if it was revoked) and that this host's clock is right.",
  forbidden:
    'Grant the App the permissions labgrader needs (checks: write, contents: read, pull requests: write, metadata: read), have the organisation accept them, and make sure the installation is not suspended.',
  'not-found':
    'Install the GitHub App on the course organisation and give it access to the repository (or all repositories).',
  rejected: 'GitHub rejected the request; the message says why.',
};

/** Turns whatever a GitHub call threw into one of the errors above (anything unrecognised is rethrown as is). */
export function toGithubError(err: unknown, route: string, context = ''): Error {
  if (err instanceof GithubAccessError || err instanceof GithubUnavailableError) return err;
  const where = context ? ` (${context})` : '';
  if (!isRequestError(err)) {
    if (err instanceof Error && /fetch failed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|socket/i.test(err.message)) {
      return new GithubUnavailableError(`GitHub did not answer ${route}${where}: ${err.message}`, {
        httpStatus: 0,
        route,
        rateLimited: false,
        hint: 'Check the network and GITHUB_API_URL; the job is retried.',
      });
    }
    return err instanceof Error ? err : new Error(String(err));
  }
  const status = err.status;
  const message = githubMessageOf(err);
  const retryAfter = Number(header(err, 'retry-after'));
  const remaining = header(err, 'x-ratelimit-remaining');
  const reset = Number(header(err, 'x-ratelimit-reset'));
  const secondary = isSecondaryRateLimit(status, message);
  const primary = (status === 403 || status === 429) && remaining === '0';
  if (secondary || primary || status === 429) {
    const seconds = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined;
    const resetIn = Number.isFinite(reset) && reset > 0 ? Math.max(0, Math.ceil(reset - Date.now() / 1000)) : undefined;
    const after = seconds ?? (primary ? resetIn : undefined);
    return new GithubUnavailableError(
      `GitHub's ${secondary ? 'secondary ' : ''}rate limit was hit on ${route}${where}${after !== undefined ? `; retry after ${after} s` : ''}`,
      {
        httpStatus: status,
        route,
        rateLimited: true,
        ...(after !== undefined ? { retryAfterSeconds: after } : {}),
        hint: 'The job is retried with backoff.',
      },
    );
  }
  // A network failure inside octokit's fetch arrives as status 500 without a response.
  if (status >= 500 || err.response === undefined) {
    return new GithubUnavailableError(`GitHub answered ${status} on ${route}${where}: ${message}`, {
      httpStatus: err.response === undefined ? 0 : status,
      route,
      rateLimited: false,
      hint: 'GitHub is having trouble (https://www.githubstatus.com); the job is retried.',
    });
  }
  // Asking for a permission the installation did not grant is a 422 of the token route.
  const permissionRefused = status === 422 && /permissions requested are not granted/i.test(message);
  const reason: GithubAccessReason =
    status === 401
      ? 'unauthorized'
      : status === 403 || permissionRefused
        ? 'forbidden'
        : status === 404
          ? 'not-found'
          : 'rejected';
  const meaning: Record<GithubAccessReason, string> = {
    unauthorized: "the App's credentials were refused",
    forbidden: 'the App lacks a permission or the installation is suspended',
    'not-found': 'the App is not installed there, or the repository is not granted to it',
    rejected: 'the request was rejected',
  };
  return new GithubAccessError(`GitHub refused ${route}${where} with ${status}: ${meaning[reason]} (${message})`, {
    httpStatus: status,
    route,
    reason,
    githubMessage: message,
    hint: ACCESS_HINT[reason],
  });
}

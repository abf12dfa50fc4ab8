/**
 * The octokit every GitHub call goes through: `octokit`'s Octokit (REST
 * methods, pagination, retry, throttling) on the configured API base and
 * fetch, with
 *
 *  - retries of 5xx answers kept short (the job itself is retried with
 *    backoff by the queue), and rate limits waited out in-process only when
 *    GitHub asks for at most a minute, once;
 *  - GitHub's advice of one second between writes (a process-wide queue per
 *    App), configurable;
 *  - an `onRequest` event after every call: method, route template, status,
 *    remaining rate limit (never a header, URL or body);
 *  - octokit's own log lines sent to our logger.
 */
import Bottleneck from 'bottleneck';
import { Octokit } from 'octokit';
import type { Logger } from '@labgrader/core';
import type { GithubRequestEvent } from './contracts.js';

export type GithubOctokit = InstanceType<typeof Octokit>;
export type GithubOctokitClass = typeof Octokit;

/** Routes this package pages through, to name the follow-up requests (whose URLs are concrete) by their template. */
const ROUTES: ReadonlyArray<[method: string, pattern: RegExp, template: string]> = [
  ['GET', /^\/app\/hook\/deliveries$/, '/app/hook/deliveries'],
  ['POST', /^\/app\/hook\/deliveries\/[^/]+\/attempts$/, '/app/hook/deliveries/{delivery_id}/attempts'],
  ['POST', /^\/app\/installations\/[^/]+\/access_tokens$/, '/app/installations/{installation_id}/access_tokens'],
  ['GET', /^\/repos\/[^/]+\/[^/]+\/commits\/[^/]+\/check-runs$/, '/repos/{owner}/{repo}/commits/{ref}/check-runs'],
  [
    'GET',
    /^\/repos\/[^/]+\/[^/]+\/check-runs\/[^/]+\/annotations$/,
    '/repos/{owner}/{repo}/check-runs/{check_run_id}/annotations',
  ],
  ['GET', /^\/repos\/[^/]+\/[^/]+\/issues\/[^/]+\/comments$/, '/repos/{owner}/{repo}/issues/{issue_number}/comments'],
];

/** `POST /repos/{owner}/{repo}/check-runs`: the template when octokit still has it, else a known route or `other`. */
export function routeName(method: string | undefined, url: string | undefined, baseUrl: string): string {
  const verb = (method ?? 'GET').toUpperCase();
  let path = (url ?? '').split('?')[0]!;
  // A relative URL is still octokit's template (`/repos/{owner}/{repo}/check-runs`, `/app`).
  if (!/^https?:\/\//i.test(path)) return `${verb} ${path}`;
  try {
    const base = new URL(baseUrl).pathname.replace(/\/+$/, '');
    path = new URL(path).pathname;
    if (base && path.startsWith(`${base}/`)) path = path.slice(base.length);
  } catch {
    return `${verb} other`;
  }
  const known = ROUTES.find(([m, pattern]) => m === verb && pattern.test(path));
  return `${verb} ${known ? known[2] : 'other'}`;
}

function numberHeader(headers: Record<string, unknown> | undefined, name: string): number | undefined {
  const value = headers?.[name];
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : NaN;
  return Number.isFinite(n) ? n : undefined;
}

interface ClientOptions {
  apiUrl: string;
  fetch?: typeof fetch;
  logger: Logger;
  onRequest?: (event: GithubRequestEvent) => void;
  writeIntervalMs: number;
  retries: number;
  retryUnitMs: number;
}

interface HookOptions {
  method?: string;
  url?: string;
  baseUrl?: string;
}

type RequestFn = (options: HookOptions) => Promise<{ status: number; headers: Record<string, unknown> }>;

/** The Octokit class for one App: every instance (the App's JWT client and the installation clients) shares these settings. */
export function githubOctokitClass(options: ClientOptions): GithubOctokitClass {
  const log = options.logger.child({ component: 'octokit' });
  const writes = new Bottleneck.Group({ maxConcurrent: 1, minTime: options.writeIntervalMs });

  // Applied after octokit's own plugins, so its hook sees one call with its retries, not each attempt.
  function requestEvents(octokit: Pick<InstanceType<typeof Octokit>, 'hook'>) {
    octokit.hook.wrap('request', async (sendRequest, endpointOptions) => {
      const request = sendRequest as unknown as RequestFn;
      const endpoint = endpointOptions as HookOptions;
      const started = performance.now();
      const route = routeName(endpoint.method, endpoint.url, endpoint.baseUrl ?? options.apiUrl);
      const report = (status: number, headers: Record<string, unknown> | undefined) => {
        const event: GithubRequestEvent = {
          method: (endpoint.method ?? 'GET').toUpperCase(),
          route,
          status,
          durationMs: Math.round(performance.now() - started),
        };
        const remaining = numberHeader(headers, 'x-ratelimit-remaining');
        const limit = numberHeader(headers, 'x-ratelimit-limit');
        if (remaining !== undefined) event.remaining = remaining;
        if (limit !== undefined) event.limit = limit;
        log.debug('github request', { route, status, remaining, durationMs: event.durationMs });
        try {
          options.onRequest?.(event);
        } catch (err) {
          log.warn('onRequest callback failed', { error: err });
        }
      };
      try {
        const response = await request(endpoint);
        report(response.status, response.headers);
        return response as unknown as Awaited<ReturnType<typeof sendRequest>>;
      } catch (err) {
        const e = err as {
          status?: unknown;
          httpStatus?: unknown;
          response?: { status?: number; headers?: Record<string, unknown> };
        };
        // Minting the token for this request failed: that call was reported itself; this one never went out.
        if (e.httpStatus !== undefined && e.response === undefined) throw err;
        report(e.response ? Number(e.response.status ?? e.status) || 0 : 0, e.response?.headers);
        throw err;
      }
    });
    return {};
  }

  const retryUnitMs = options.retryUnitMs;
  const wantRetry =
    (kind: string) => (retryAfter: number, request: HookOptions & { request?: { retryCount?: number } }) => {
      const first = (request.request?.retryCount ?? 0) === 0;
      const retry = first && retryAfter <= 60;
      log.warn(`GitHub ${kind} rate limit`, {
        route: routeName(request.method, request.url, options.apiUrl),
        retryAfterSeconds: retryAfter,
        retrying: retry,
      });
      return retry;
    };

  return Octokit.plugin(requestEvents).defaults((given: Record<string, unknown>) => ({
    ...given,
    baseUrl: options.apiUrl,
    request: { ...(given.request as object | undefined), ...(options.fetch ? { fetch: options.fetch } : {}) },
    log: {
      debug: () => {},
      info: (message: string) => log.info(String(message)),
      warn: (message: string) => log.warn(String(message)),
      error: (message: string) => log.error(String(message)),
    },
    retry: { retries: options.retries, retryAfterBaseValue: retryUnitMs },
    throttle: {
      id: 'labgrader',
      write: writes,
      retryAfterBaseValue: retryUnitMs,
      onRateLimit: wantRetry('primary'),
      onSecondaryRateLimit: wantRetry('secondary'),
    },
  })) as unknown as GithubOctokitClass;
}

/** An octokit auth strategy that asks `getToken` for the token on every request (so each one checks its expiry). */
export function tokenSourceAuth(options: { getToken: () => Promise<string> }) {
  const auth = async () => ({ type: 'token', tokenType: 'installation', token: await options.getToken() });
  return Object.assign(auth, {
    hook: async (
      request: ((endpoint: unknown) => Promise<unknown>) & {
        endpoint: { merge: (route: unknown, parameters?: unknown) => { headers: Record<string, string> } };
      },
      route: unknown,
      parameters?: unknown,
    ) => {
      const endpoint = request.endpoint.merge(route, parameters);
      endpoint.headers.authorization = `token ${await options.getToken()}`;
      return request(endpoint);
    },
  });
}

/**
 * `createGithubApp`: the octokit implementation of contracts.ts, built on
 * `octokit`'s App (JWT auth through @octokit/auth-app) for the App-level
 * calls (installation tokens, webhook deliveries), and on installation
 * clients with repository-scoped tokens (tokens.ts) for everything done in a
 * repository.
 */
import { silentLogger, throwIfAborted, type Logger } from '@labgrader/core';
import { checkCloneUrl, type GradeJob } from '@labgrader/queue';
import { App } from 'octokit';
import { githubCall } from './call.js';
import { CheckRuns } from './checks.js';
import { githubOctokitClass, tokenSourceAuth, type GithubOctokit } from './client.js';
import { PullRequestComments } from './comments.js';
import { githubCloneUrlRoot } from './config.js';
import type { CloneTokens, GithubApp, GithubAppConfig, GithubAppDeps } from './contracts.js';
import { AppWebhookDeliveries } from './deliveries.js';
import { GithubAccessError } from './errors.js';
import { InstallationTokens, type InstallationAuth, type TokenPurpose, type TokenRepository } from './tokens.js';
import { ConfigError } from '@labgrader/core';

export const DEFAULT_TOKEN_REFRESH_MARGIN_MS = 10 * 60_000;
export const DEFAULT_WRITE_INTERVAL_MS = 1000;
export const DEFAULT_MAX_ANNOTATIONS = 1000;

const TOKEN_ROUTE = 'POST /app/installations/{installation_id}/access_tokens';

function tokenRepository(job: GradeJob): TokenRepository {
  const name = job.repository.fullName.split('/')[1]!;
  return job.repository.id !== undefined ? { id: job.repository.id, name } : { name };
}

/** GithubApp plus what tests and the service's metrics may look at. */
export interface GithubAppImpl extends GithubApp {
  /** Installation tokens minted so far, by purpose. */
  readonly tokensMinted: Readonly<Record<TokenPurpose, number>>;
}

export function createGithubApp(config: GithubAppConfig, deps: GithubAppDeps = {}): GithubAppImpl {
  const logger: Logger = (deps.logger ?? silentLogger).child({ component: 'github' });
  const now = deps.now ?? (() => new Date());
  const appId = Number(config.appId);
  const Octokit = githubOctokitClass({
    apiUrl: config.apiUrl,
    ...(deps.fetch ? { fetch: deps.fetch } : {}),
    logger,
    ...(deps.onRequest ? { onRequest: deps.onRequest } : {}),
    writeIntervalMs: deps.writeIntervalMs ?? DEFAULT_WRITE_INTERVAL_MS,
    retries: deps.retries ?? 2,
    retryUnitMs: deps.retryUnitMs ?? 1000,
  });
  const app = new App({ appId: config.appId, privateKey: config.privateKey, Octokit });
  const appClient = app.octokit as unknown as GithubOctokit;
  const cloneRoot = githubCloneUrlRoot(config);

  const tokens = new InstallationTokens({
    auth: appClient.auth as unknown as InstallationAuth,
    now,
    refreshMarginMs: deps.tokenRefreshMarginMs ?? DEFAULT_TOKEN_REFRESH_MARGIN_MS,
    logger,
  });

  const mintLogged = (job: GradeJob, purpose: TokenPurpose, fresh: boolean) =>
    githubCall(
      logger.child({ repository: job.repository.fullName, installationId: job.installationId, purpose }),
      TOKEN_ROUTE,
      () =>
        fresh
          ? tokens.mint(job.installationId!, tokenRepository(job), purpose)
          : tokens.get(job.installationId!, tokenRepository(job), purpose),
      `installation ${job.installationId}, ${job.repository.fullName}`,
    );

  // One client per installation, repository and purpose; every request asks the token cache again.
  const clients = new Map<string, GithubOctokit>();
  const clientFor = (purpose: 'checks' | 'comments') => (job: GradeJob) => {
    if (job.installationId === undefined) return undefined;
    const key = `${job.installationId}|${job.repository.id ?? job.repository.fullName.toLowerCase()}|${purpose}`;
    let client = clients.get(key);
    if (!client) {
      client = new Octokit({
        authStrategy: tokenSourceAuth,
        auth: { getToken: async () => (await mintLogged(job, purpose, false)).token },
      }) as GithubOctokit;
      clients.set(key, client);
      while (clients.size > 500) clients.delete(clients.keys().next().value!);
    }
    return client;
  };

  let botLogin: Promise<string | undefined> | undefined;
  const readBotLogin = () => {
    botLogin ??= githubCall(logger, 'GET /app', () => appClient.request('GET /app'))
      .then(({ data }) => (data?.slug ? `${data.slug}[bot]` : undefined))
      .catch(() => {
        botLogin = undefined; // try again next time; comments are still matched by performed_via_github_app
        return undefined;
      });
    return botLogin;
  };

  const cloneTokens: CloneTokens = {
    async tokenFor(job, signal) {
      if (job.installationId === undefined) return undefined;
      throwIfAborted(signal);
      // The token goes only to the configured git host, and only for the repository's own URL.
      const decision = checkCloneUrl(job.repository.cloneUrl, job.repository.fullName, [cloneRoot]);
      if (!decision.allowed) {
        throw new ConfigError(
          `no installation token for this job: ${decision.problem.replace('CLONE_URL_ALLOW', 'GITHUB_URL')}`,
          {
            hint: 'The clone URL must be the repository’s own on GITHUB_URL’s host; the token is never sent anywhere else.',
          },
        );
      }
      try {
        const { token } = await mintLogged(job, 'clone', true);
        throwIfAborted(signal);
        return token;
      } catch (err) {
        // Uninstalled, or the repository not granted: clone anonymously (public repositories still grade).
        if (err instanceof GithubAccessError) return undefined;
        throw err;
      }
    },
    async release(token) {
      // The clone is done: the token (which left the process, for git) stops working now rather than in an hour.
      // A failure is logged and otherwise ignored: the token still expires on its own.
      const client = new Octokit({ auth: token }) as GithubOctokit;
      try {
        await githubCall(logger, 'DELETE /installation/token', () => client.request('DELETE /installation/token'));
      } catch (err) {
        logger.warn('could not revoke a clone token (it expires within the hour)', { error: err });
      }
    },
  };

  return {
    config,
    tokens: cloneTokens,
    checks: new CheckRuns({
      appId,
      webUrl: config.webUrl,
      logger,
      now,
      maxAnnotations: deps.maxAnnotations ?? DEFAULT_MAX_ANNOTATIONS,
      clientFor: clientFor('checks'),
    }),
    comments: new PullRequestComments({
      appId,
      webUrl: config.webUrl,
      logger,
      botLogin: readBotLogin,
      clientFor: clientFor('comments'),
    }),
    deliveries: new AppWebhookDeliveries(appClient, logger),
    get tokensMinted() {
      return { ...tokens.minted };
    },
  };
}

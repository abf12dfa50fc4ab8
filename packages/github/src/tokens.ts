/**
 * Installation access tokens, minted by @octokit/auth-app (through the App's
 * JWT client), each scoped to one repository and one purpose:
 *
 *  | purpose  | permissions            | for                                   |
 *  | -------- | ---------------------- | ------------------------------------- |
 *  | clone    | contents: read         | git, in the worker (it leaves the process) |
 *  | checks   | checks: write          | the check run, its annotations        |
 *  | comments | pull_requests: write   | the PR comment                        |
 *
 * (metadata: read comes with every token.) So the token handed to git can
 * read that one repository and nothing else, and a missing pull-requests
 * permission breaks only the PR comment, not the check run.
 *
 * Clone tokens are minted per call. Checks and comment tokens are cached per
 * installation, repository and purpose, and every API request asks the cache
 * again: a token with less than the refresh margin left (by the injected
 * clock) is re-minted first, so a call made after an hour-long cluster run
 * never goes out with a stale token.
 */
import type { Logger } from '@labgrader/core';

export type TokenPurpose = 'clone' | 'checks' | 'comments';

export const TOKEN_PERMISSIONS: Readonly<Record<TokenPurpose, Readonly<Record<string, 'read' | 'write'>>>> = {
  clone: { contents: 'read' },
  checks: { checks: 'write' },
  comments: { pull_requests: 'write' },
};

export interface TokenRepository {
  /** GitHub's numeric id, preferred when known (stable across renames). */
  id?: number;
  /** The repository's name without the owner. */
  name: string;
}

export interface MintedToken {
  token: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

/** What @octokit/auth-app's `auth({ type: 'installation', … })` takes and gives (the part we use). */
export type InstallationAuth = (options: {
  type: 'installation';
  installationId: number;
  repositoryIds?: number[];
  repositoryNames?: string[];
  permissions?: Record<string, string>;
  refresh?: boolean;
}) => Promise<{ token: string; expiresAt: string }>;

export interface InstallationTokensOptions {
  auth: InstallationAuth;
  now: () => Date;
  refreshMarginMs: number;
  logger: Logger;
  /** Bound on cached tokens (oldest dropped first). */
  maxCached?: number;
}

export class InstallationTokens {
  private readonly cache = new Map<string, MintedToken>();
  private readonly pending = new Map<string, Promise<MintedToken>>();
  /** Tokens minted so far, by purpose (for tests and metrics). */
  readonly minted: Record<TokenPurpose, number> = { clone: 0, checks: 0, comments: 0 };

  constructor(private readonly options: InstallationTokensOptions) {}

  /** A new token, never cached. */
  async mint(installationId: number, repo: TokenRepository, purpose: TokenPurpose): Promise<MintedToken> {
    const result = await this.options.auth({
      type: 'installation',
      installationId,
      ...(repo.id !== undefined ? { repositoryIds: [repo.id] } : { repositoryNames: [repo.name] }),
      permissions: { ...TOKEN_PERMISSIONS[purpose] },
      refresh: true,
    });
    const expiresAt = Date.parse(result.expiresAt);
    this.minted[purpose] += 1;
    this.options.logger.debug('minted an installation token', {
      installationId,
      repository: repo.id ?? repo.name,
      purpose,
      expiresAt: result.expiresAt,
    });
    return { token: result.token, expiresAt: Number.isFinite(expiresAt) ? expiresAt : this.options.now().getTime() };
  }

  /** A cached token with at least the refresh margin left, or a new one. Concurrent callers share one mint. */
  async get(installationId: number, repo: TokenRepository, purpose: TokenPurpose): Promise<MintedToken> {
    const key = `${installationId}|${repo.id ?? `name:${repo.name.toLowerCase()}`}|${purpose}`;
    const cached = this.cache.get(key);
    if (cached && cached.expiresAt - this.options.now().getTime() > this.options.refreshMarginMs) return cached;
    const inFlight = this.pending.get(key);
    if (inFlight) return inFlight;
    const minting = this.mint(installationId, repo, purpose)
      .then((token) => {
        this.cache.delete(key);
        this.cache.set(key, token);
        const max = this.options.maxCached ?? 1000;
        while (this.cache.size > max) this.cache.delete(this.cache.keys().next().value!);
        return token;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, minting);
    return minting;
  }

  /** Forget a cached token (GitHub answered 401 with it: revoked, or the installation was re-created). */
  forget(installationId: number, repo: TokenRepository, purpose: TokenPurpose): void {
    this.cache.delete(`${installationId}|${repo.id ?? `name:${repo.name.toLowerCase()}`}|${purpose}`);
  }
}

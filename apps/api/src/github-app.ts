/**
 * The GitHub App at the API's edge: only the check run's `queued` call. Its
 * configuration (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY or _FILE,
 * GITHUB_API_URL, GITHUB_URL) is @labgrader/github's; without it nothing is
 * reported back and everything else works as before.
 */
import type { Logger } from '@labgrader/core';
import { createGithubApp, loadGithubAppConfig, type GithubAppConfig } from '@labgrader/github';
import { observeGithubRequests, type ServiceMetrics } from '@labgrader/queue';
import { queuedCheckRuns, type QueuedCheckRuns } from './checks.js';

export interface GithubEdge {
  /** Literal values the logger must mask (the private key). */
  secrets: string[];
  configured: boolean;
  create(deps: { logger: Logger; metrics: ServiceMetrics }): { queuedCheckRuns: QueuedCheckRuns } | undefined;
}

export async function githubEdge(env: Record<string, string | undefined>): Promise<GithubEdge> {
  const config: GithubAppConfig | undefined = loadGithubAppConfig(env);
  return {
    secrets: config ? [config.privateKey] : [],
    configured: config !== undefined,
    create({ logger, metrics }) {
      if (!config) return undefined;
      const app = createGithubApp(config, { logger, onRequest: observeGithubRequests(metrics) });
      return { queuedCheckRuns: queuedCheckRuns({ checks: app.checks, logger, metrics }) };
    },
  };
}

/**
 * The GitHub App's configuration, from the environment. Messages name the
 * variable and never echo its value (the private key!).
 *
 *  - GITHUB_APP_ID: the App's numeric id (its settings page; not the client id).
 *  - GITHUB_APP_PRIVATE_KEY: the PEM itself (line breaks may be written `\n`),
 *    or GITHUB_APP_PRIVATE_KEY_FILE: a file holding it (a mounted secret).
 *  - GITHUB_API_URL: REST API base, default https://api.github.com
 *    (GitHub Enterprise Server: https://<host>/api/v3).
 *  - GITHUB_URL: web and git host, default https://github.com.
 *  - LABGRADER_PUBLIC_URL: where labgrader's own pages are served, if anywhere (links).
 *
 * Neither the id nor a key: `undefined` (no App; public repositories only,
 * nothing reported back). One without the other: a ConfigError.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '@labgrader/core';
import { describeIssues, parseCloneUrlRoot, type CloneUrlRoot } from '@labgrader/queue';
import type { GithubAppConfig } from './contracts.js';

export const DEFAULT_GITHUB_API_URL = 'https://api.github.com';
export const DEFAULT_GITHUB_URL = 'https://github.com';

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** http(s), no credentials, query or fragment; plain http only on loopback (tests, a local proxy). */
function baseUrl(what: string) {
  return z.string().transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `must be an absolute URL (${what})` });
      return z.NEVER;
    }
    const problem =
      url.protocol !== 'https:' && url.protocol !== 'http:'
        ? 'must be an https:// URL'
        : url.protocol === 'http:' && !LOOPBACK.has(url.hostname)
          ? 'must use https:// (plain http is accepted on localhost only)'
          : url.username || url.password
            ? 'must not contain credentials'
            : url.search || url.hash || value.includes('?') || value.includes('#')
              ? 'must not have a query or a fragment'
              : undefined;
    if (problem) {
      ctx.addIssue({ code: 'custom', message: problem });
      return z.NEVER;
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  });
}

const envSchema = z.object({
  GITHUB_APP_ID: z
    .string()
    .regex(/^[1-9][0-9]{0,18}$/, "must be the App's numeric id (shown on its settings page; not the client id)")
    .optional(),
  GITHUB_APP_PRIVATE_KEY: z.string().optional(),
  GITHUB_APP_PRIVATE_KEY_FILE: z.string().optional(),
  GITHUB_API_URL: baseUrl('such as https://api.github.com or https://github.example.edu/api/v3').default(
    DEFAULT_GITHUB_API_URL,
  ),
  GITHUB_URL: baseUrl('such as https://github.com or https://github.example.edu').default(DEFAULT_GITHUB_URL),
  LABGRADER_PUBLIC_URL: baseUrl('where labgrader serves its pages, such as https://grader.example.edu').optional(),
});

/** GitHub's download is PKCS#1 (`BEGIN RSA PRIVATE KEY`); PKCS#8 works too. `\n` escapes (one-line .env values) are undone. */
function privateKeyProblem(pem: string): string | undefined {
  if (!/-----BEGIN (RSA )?PRIVATE KEY-----/.test(pem)) {
    return 'must be a PEM private key (-----BEGIN RSA PRIVATE KEY----- …), as downloaded from the App settings';
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType !== 'rsa') return 'must be an RSA private key (GitHub App keys are RSA)';
  } catch {
    return 'is not a readable PEM private key (line breaks lost? write them as \\n on one line, or use GITHUB_APP_PRIVATE_KEY_FILE)';
  }
  return undefined;
}

function fail(problems: string[]): never {
  throw new ConfigError(`invalid GitHub App configuration:\n  ${problems.join('\n  ')}`, {
    problems,
    hint: 'Set GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_FILE) from the GitHub App settings, or unset both to run without an App (public repositories only).',
  });
}

export interface LoadGithubAppConfigOptions {
  /** Reads GITHUB_APP_PRIVATE_KEY_FILE (tests inject it). */
  readFile?: (path: string) => string;
}

/**
 * The App's configuration, `undefined` when no App is configured (neither
 * GITHUB_APP_ID nor a private key), or a ConfigError naming every problem.
 * Empty variables count as unset.
 */
export function loadGithubAppConfig(
  env: Record<string, string | undefined>,
  options: LoadGithubAppConfigOptions = {},
): GithubAppConfig | undefined {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(present);
  const problems = parsed.success ? [] : describeIssues(parsed.error);
  const e = parsed.success ? parsed.data : undefined;

  const hasId = present.GITHUB_APP_ID !== undefined;
  const hasKey = present.GITHUB_APP_PRIVATE_KEY !== undefined;
  const hasKeyFile = present.GITHUB_APP_PRIVATE_KEY_FILE !== undefined;
  if (!hasId && !hasKey && !hasKeyFile) {
    if (problems.length > 0) fail(problems);
    return undefined;
  }
  if (!hasId) problems.push('GITHUB_APP_ID: is required when a private key is set (the App is half-configured)');
  if (hasKey && hasKeyFile) {
    problems.push('GITHUB_APP_PRIVATE_KEY, GITHUB_APP_PRIVATE_KEY_FILE: set one of them, not both');
  } else if (!hasKey && !hasKeyFile) {
    problems.push(
      'GITHUB_APP_PRIVATE_KEY: is required when GITHUB_APP_ID is set (or GITHUB_APP_PRIVATE_KEY_FILE; the App is half-configured)',
    );
  }

  let privateKey: string | undefined;
  if (hasKey && !hasKeyFile) {
    privateKey = present.GITHUB_APP_PRIVATE_KEY!.replace(/\\n/g, '\n').trim();
    const problem = privateKeyProblem(privateKey);
    if (problem) problems.push(`GITHUB_APP_PRIVATE_KEY: ${problem}`);
  } else if (hasKeyFile && !hasKey) {
    const read = options.readFile ?? ((path: string) => readFileSync(path, 'utf8'));
    try {
      privateKey = read(present.GITHUB_APP_PRIVATE_KEY_FILE!).replace(/\\n/g, '\n').trim();
      const problem = privateKeyProblem(privateKey);
      if (problem) problems.push(`GITHUB_APP_PRIVATE_KEY_FILE: the file's content ${problem}`);
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      problems.push(
        `GITHUB_APP_PRIVATE_KEY_FILE: cannot be read${typeof code === 'string' ? ` (${code})` : ''}; mount the App's private key there`,
      );
    }
  }

  if (problems.length > 0 || !e || !e.GITHUB_APP_ID || !privateKey) fail(problems);
  return {
    appId: e.GITHUB_APP_ID,
    privateKey,
    apiUrl: e.GITHUB_API_URL,
    webUrl: e.GITHUB_URL,
    ...(e.LABGRADER_PUBLIC_URL ? { publicUrl: e.LABGRADER_PUBLIC_URL } : {}),
  };
}

/** The clone URL root of the configured git host (`https://github.com/`), for CLONE_URL_ALLOW and token checks. */
export function githubCloneUrlRoot(config: Pick<GithubAppConfig, 'webUrl'>): CloneUrlRoot {
  const parsed = parseCloneUrlRoot(`${config.webUrl}/`);
  if ('problem' in parsed) throw new ConfigError(`GITHUB_URL: ${parsed.problem}`);
  return parsed.root;
}

/** One line for the start-up log: what this process can do with GitHub. Safe to log (no key). */
export function describeGithubApp(config: GithubAppConfig | undefined): string {
  if (!config) {
    return 'no GitHub App configured (GITHUB_APP_ID, GITHUB_APP_PRIVATE_KEY): public repositories only, and nothing is reported to GitHub (no check runs, no PR comments, no webhook redelivery)';
  }
  return `GitHub App ${config.appId} on ${config.apiUrl} (git and links on ${config.webUrl}): private clones with installation tokens, check runs, PR comments`;
}

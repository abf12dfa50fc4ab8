/**
 * Cloning a student's repository over the CommandRunner port.
 *
 * Cloning is handling untrusted input, so:
 *  - every git command goes through safe-git.ts (no inherited configuration,
 *    no hooks, no `ext::`, no prompts) into a repository we just created;
 *  - the ref and the URL are checked before git runs and passed after
 *    `--end-of-options`, so neither can become an option;
 *  - shallow (depth 1) at the requested ref, no tags, no submodules;
 *  - a watchdog aborts the fetch once the tree grows past the size limit;
 *  - credentials never appear on the command line or in messages: they are
 *    passed as an `http.extraHeader` through GIT_CONFIG_* environment
 *    variables of the fetch only, and every message is redacted.
 */
import { readdir, lstat } from 'node:fs/promises';
import path from 'node:path';
import {
  AbortedError,
  InfrastructureError,
  NotGradableError,
  redactSecrets,
  type CommandResult,
  type CommandRunner,
  type Logger,
  silentLogger,
} from '@labgrader/core';
import { FULL_SHA, assertCloneRef, assertCloneUrl } from './git-input.js';
import { AUTHOR_FORMAT, parseAuthorLine } from './local-git.js';
import { withSafeGit, type GitRepository, type SafeGitOptions } from './safe-git.js';

export interface GitCredentials {
  /** A token (e.g. a GitHub App installation token); sent as HTTP Basic `x-access-token:<token>`. */
  token: string;
  username?: string;
}

export interface CloneRequest {
  url: string;
  /** Branch, tag or full commit SHA; the remote's default branch when absent. */
  ref?: string;
  dest: string;
  credentials?: GitCredentials;
}

export interface CloneDeps {
  runner: CommandRunner;
  logger?: Logger;
  signal?: AbortSignal;
  maxBytes: number;
  timeoutMs: number;
  /** Parent of git's private HOME (default: the OS temp dir). */
  tempRoot?: string;
}

export interface CloneResult {
  commit: string;
  /** Author name and date of the graded commit. */
  author?: string;
  committedAt?: string;
  /** The URL without credentials, safe to show and store. */
  displayUrl: string;
}

/** Not about safety (safe-git.ts does that): how a fresh clone should behave. */
const CLONE_CONFIG = [
  'advice.detachedHead=false',
  'init.defaultBranch=main',
  // Lets a local or self-hosted remote serve a commit by SHA, as GitHub does.
  'uploadpack.allowAnySHA1InWant=true',
];

/** Splits credentials out of an https URL; returns the clean URL and the Basic auth pair, if any. */
export function splitCredentials(url: string): { url: string; basic?: { username: string; password: string } } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url }; // scp-like (git@host:owner/repo) or a local path
  }
  if (!parsed.username && !parsed.password) return { url };
  const basic = { username: decodeURIComponent(parsed.username), password: decodeURIComponent(parsed.password) };
  parsed.username = '';
  parsed.password = '';
  return { url: parsed.toString(), basic };
}

function authConfig(basic: { username: string; password: string } | undefined): Record<string, string> {
  if (!basic) return {};
  const header = `Authorization: Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  return { 'http.extraHeader': header };
}

const TRANSIENT = [
  /could not resolve host/i,
  /connection (refused|reset|timed out)/i,
  /operation timed out/i,
  /the requested url returned error: 5\d\d/i,
  /rpc failed/i,
  /early eof/i,
  /temporary failure/i,
];

async function treeSize(dir: string, stopAt: number): Promise<number> {
  let total = 0;
  const pending = [dir];
  while (pending.length > 0) {
    const current = pending.pop()!;
    let entries;
    try {
      entries = await readdir(current, { withFileTypes: true });
    } catch {
      continue; // git is moving files around; next tick will see them
    }
    for (const entry of entries) {
      const abs = path.join(current, entry.name);
      if (entry.isDirectory()) pending.push(abs);
      else {
        try {
          total += (await lstat(abs)).size;
        } catch {
          /* vanished */
        }
      }
      if (total > stopAt) return total;
    }
  }
  return total;
}

export async function cloneRepository(request: CloneRequest, deps: CloneDeps): Promise<CloneResult> {
  // Refused before anything runs: these would otherwise reach git's argv.
  assertCloneUrl(request.url);
  if (request.ref !== undefined) assertCloneRef(request.ref);
  const logger = deps.logger ?? silentLogger;
  const { url, basic: urlBasic } = splitCredentials(request.url);
  const displayUrl = redactSecrets(url);
  const basic = request.credentials
    ? { username: request.credentials.username ?? 'x-access-token', password: request.credentials.token }
    : urlBasic;
  const auth = authConfig(basic);
  const repository: GitRepository = { gitDir: path.join(request.dest, '.git'), workTree: request.dest };

  // One controller for: caller's signal, overall timeout, size watchdog.
  const controller = new AbortController();
  const onCallerAbort = () => controller.abort(deps.signal?.reason);
  deps.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(
    () =>
      controller.abort(
        new NotGradableError(
          'fetch-failed',
          `cloning ${displayUrl} took longer than ${Math.round(deps.timeoutMs / 1000)} s`,
        ),
      ),
    deps.timeoutMs,
  );
  let watching = true;
  const watchdog = (async () => {
    while (watching && !controller.signal.aborted) {
      await new Promise((r) => setTimeout(r, 300));
      if (!watching) break;
      if ((await treeSize(request.dest, deps.maxBytes)) > deps.maxBytes) {
        controller.abort(
          new NotGradableError(
            'too-large',
            `the repository at ${displayUrl} is larger than ${Math.round(deps.maxBytes / (1024 * 1024))} MiB`,
            {
              hint: 'Remove build outputs, vendored dependencies and large binaries from the lab repository.',
            },
          ),
        );
      }
    }
  })();

  const fail = (what: string, result: CommandResult): never => {
    const stderr = redactSecrets(result.stderr.trim());
    const last = stderr.split('\n').filter(Boolean).slice(-2).join(' / ') || `exit code ${result.exitCode}`;
    logger.warn('git failed', { step: what, url: displayUrl, exitCode: result.exitCode });
    if (TRANSIENT.some((re) => re.test(stderr))) {
      throw new InfrastructureError(`could not reach ${displayUrl}: ${last}`, {
        hint: 'Check the network and try again.',
      });
    }
    throw new NotGradableError('fetch-failed', `could not clone ${displayUrl}: ${last}`, {
      hint: 'Check that the URL is right, that the repository exists and is readable, and that the ref (branch, tag or SHA) exists.',
    });
  };

  try {
    return await withSafeGit(deps.runner, deps.tempRoot ? { tempRoot: deps.tempRoot } : {}, async (safeGit) => {
      const git = async (args: string[], options: SafeGitOptions = {}): Promise<CommandResult> => {
        try {
          return await safeGit.run(args, { config: CLONE_CONFIG, signal: controller.signal, ...options });
        } catch (err) {
          if (err instanceof AbortedError && controller.signal.reason instanceof Error) throw controller.signal.reason;
          throw err;
        }
      };
      const inRepo = { repository };
      const fetching = { repository, secretConfig: auth };

      // No templates: nothing (hooks included) is copied into the new repository.
      let r = await git(['init', '-q', '--template=', request.dest]);
      if (r.exitCode !== 0) fail('init', r);
      r = await git(['remote', 'add', '--end-of-options', 'origin', url], inRepo);
      if (r.exitCode !== 0) fail('remote add', r);

      const ref = request.ref ?? 'HEAD';
      const shallow = ['fetch', '-q', '--depth', '1', '--no-tags', '--no-recurse-submodules'];
      r = await git([...shallow, '--end-of-options', 'origin', ref], fetching);
      let checkoutTarget = 'FETCH_HEAD';
      if (r.exitCode !== 0 && request.ref && FULL_SHA.test(request.ref)) {
        // The server refuses fetching by SHA: fetch its branches and look for the commit there.
        logger.debug('fetch by SHA refused; fetching branches', { url: displayUrl });
        const branches = ['fetch', '-q', '--no-tags', '--no-recurse-submodules', '--end-of-options'];
        r = await git([...branches, 'origin', '+refs/heads/*:refs/remotes/origin/*'], fetching);
        checkoutTarget = request.ref;
      }
      if (r.exitCode !== 0) fail('fetch', r);

      // git checkout (2.39) has no --end-of-options; the target is FETCH_HEAD or a checked full SHA.
      r = await git(['checkout', '-q', '--detach', checkoutTarget, '--'], inRepo);
      if (r.exitCode !== 0) fail('checkout', r);
      r = await git(['rev-parse', '--verify', 'HEAD^{commit}'], inRepo);
      if (r.exitCode !== 0) fail('rev-parse', r);
      const commit = r.stdout.trim();
      const meta = parseAuthorLine(
        (await git(['log', '-1', `--format=${AUTHOR_FORMAT}`, commit, '--'], inRepo)).stdout,
      );
      return { commit, displayUrl, ...meta };
    });
  } finally {
    watching = false;
    clearTimeout(timer);
    deps.signal?.removeEventListener('abort', onCallerAbort);
    await watchdog;
  }
}

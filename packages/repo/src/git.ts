/**
 * Git adapter over the CommandRunner port.
 *
 * Cloning a student's repository is cloning untrusted input, so:
 *  - shallow (depth 1) at the requested ref, no tags, no submodules, no LFS
 *    smudge, no hooks, no `ext::` transport, no terminal prompts;
 *  - a watchdog aborts the fetch once the tree grows past the size limit;
 *  - credentials never appear on the command line or in messages: they are
 *    passed as an `http.extraHeader` through GIT_CONFIG_* environment
 *    variables, and every message is redacted.
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
}

export interface CloneResult {
  commit: string;
  /** Author name and date of the graded commit. */
  author?: string;
  committedAt?: string;
  /** The URL without credentials, safe to show and store. */
  displayUrl: string;
}

const HARDENING = [
  'core.hooksPath=/dev/null',
  'core.fsmonitor=false',
  'protocol.ext.allow=never',
  'fetch.recurseSubmodules=false',
  'submodule.recurse=false',
  'filter.lfs.smudge=',
  'filter.lfs.process=',
  'filter.lfs.required=false',
  'advice.detachedHead=false',
  'init.defaultBranch=main',
  // Lets a local or self-hosted remote serve a commit by SHA, as GitHub does.
  'uploadpack.allowAnySHA1InWant=true',
].flatMap((kv) => ['-c', kv]);

const FULL_SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/i;

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

function authEnv(basic: { username: string; password: string } | undefined): Record<string, string> {
  if (!basic) return {};
  const header = `Authorization: Basic ${Buffer.from(`${basic.username}:${basic.password}`).toString('base64')}`;
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: header };
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
  const logger = deps.logger ?? silentLogger;
  const { url, basic: urlBasic } = splitCredentials(request.url);
  const displayUrl = redactSecrets(url);
  const basic = request.credentials
    ? { username: request.credentials.username ?? 'x-access-token', password: request.credentials.token }
    : urlBasic;
  const env = {
    ...authEnv(basic),
    GIT_TERMINAL_PROMPT: '0',
    GIT_LFS_SKIP_SMUDGE: '1',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
  };

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

  const git = async (args: string[], cwd?: string): Promise<CommandResult> => {
    try {
      return await deps.runner.run('git', [...HARDENING, ...args], {
        ...(cwd ? { cwd } : {}),
        env,
        signal: controller.signal,
      });
    } catch (err) {
      if (err instanceof AbortedError && controller.signal.reason instanceof Error) throw controller.signal.reason;
      throw err;
    }
  };

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
    let r = await git(['init', '-q', request.dest]);
    if (r.exitCode !== 0) fail('init', r);
    r = await git(['remote', 'add', 'origin', url], request.dest);
    if (r.exitCode !== 0) fail('remote add', r);

    const ref = request.ref ?? 'HEAD';
    r = await git(['fetch', '-q', '--depth', '1', '--no-tags', '--no-recurse-submodules', 'origin', ref], request.dest);
    let checkoutTarget = 'FETCH_HEAD';
    if (r.exitCode !== 0 && request.ref && FULL_SHA.test(request.ref)) {
      // The server refuses fetching by SHA: fetch its branches and look for the commit there.
      logger.debug('fetch by SHA refused; fetching branches', { url: displayUrl });
      r = await git(
        ['fetch', '-q', '--no-tags', '--no-recurse-submodules', 'origin', '+refs/heads/*:refs/remotes/origin/*'],
        request.dest,
      );
      checkoutTarget = request.ref;
    }
    if (r.exitCode !== 0) fail('fetch', r);

    r = await git(['checkout', '-q', '--detach', checkoutTarget], request.dest);
    if (r.exitCode !== 0) fail('checkout', r);
    r = await git(['rev-parse', 'HEAD'], request.dest);
    if (r.exitCode !== 0) fail('rev-parse', r);
    const commit = r.stdout.trim();
    const meta = parseAuthorLine((await git(['log', '-1', `--format=${AUTHOR_FORMAT}`], request.dest)).stdout);
    return { commit, displayUrl, ...meta };
  } finally {
    watching = false;
    clearTimeout(timer);
    deps.signal?.removeEventListener('abort', onCallerAbort);
    await watchdog;
  }
}

export interface LocalGitInfo {
  commit?: string;
  branch?: string;
  dirty: boolean;
  author?: string;
  committedAt?: string;
}

const AUTHOR_FORMAT = '%an%x1f%aI';

function parseAuthorLine(line: string): { author?: string; committedAt?: string } {
  const [author, date] = line.trim().split('\x1f');
  return { ...(author ? { author } : {}), ...(date ? { committedAt: new Date(date).toISOString() } : {}) };
}

/** Commit, branch and dirtiness of a local directory, when it is in a git work tree. */
export async function describeLocalGit(dir: string, runner: CommandRunner): Promise<LocalGitInfo> {
  const cwd = (await lstat(dir)).isDirectory() ? dir : path.dirname(dir);
  try {
    const head = await runner.run('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd });
    if (head.exitCode !== 0) return { dirty: false };
    const branch = await runner.run('git', ['symbolic-ref', '-q', '--short', 'HEAD'], { cwd });
    const status = await runner.run('git', ['status', '--porcelain', '--', '.'], { cwd });
    const log = await runner.run('git', ['log', '-1', `--format=${AUTHOR_FORMAT}`], { cwd });
    return {
      ...(log.exitCode === 0 ? parseAuthorLine(log.stdout) : {}),
      commit: head.stdout.trim(),
      ...(branch.exitCode === 0 && branch.stdout.trim() ? { branch: branch.stdout.trim() } : {}),
      dirty: status.stdout.trim().length > 0,
    };
  } catch {
    return { dirty: false }; // git not installed: grade without commit metadata
  }
}

/**
 * The one way this package runs git.
 *
 * Git executes programs named in its configuration (core.fsmonitor, filter
 * drivers, hooks, pagers, gpg.program, credential helpers, …) and students
 * control both the repositories we clone and the `.git` of folders we are
 * handed. So every invocation:
 *  - reads no system, global or HOME-based configuration: HOME is a private,
 *    empty directory, GIT_CONFIG_NOSYSTEM/GIT_CONFIG_GLOBAL point nowhere;
 *  - names its repository explicitly (GIT_DIR), or runs in that empty
 *    directory with discovery fenced in, so git never picks up a `.git` it
 *    happens to find;
 *  - inherits no GIT_* variable from our own environment (a stray GIT_DIR or
 *    GIT_CONFIG_PARAMETERS from a hook we were started in must not leak in);
 *  - may only use the network protocols listed in GIT_ALLOW_PROTOCOL (no
 *    `ext::`, `fd::` or remote helpers), never prompts, never pages;
 *  - carries `-c` overrides for the program-running keys that matter to the
 *    commands we run, as a second line of defence.
 * Reading a student's own `.git` goes one step further (see local-git.ts):
 * git is pointed at a private git directory and only borrows the objects.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CommandResult, CommandRunner } from '@labgrader/core';

/** Protocols a clone may use. `ext::`, `fd::` and other remote helpers are refused by git itself. */
export const ALLOWED_PROTOCOLS = ['https', 'http', 'ssh', 'git', 'file'] as const;

/** `-c` overrides on every invocation; see the module comment. */
export const HARDENING_CONFIG: readonly string[] = [
  'core.fsmonitor=false',
  'core.hooksPath=/dev/null',
  'core.untrackedCache=false',
  'core.pager=cat',
  // An empty value resets the list of helpers.
  'credential.helper=',
  'log.showSignature=false',
  'submodule.recurse=false',
  'fetch.recurseSubmodules=false',
  'core.protectNTFS=true',
  'core.protectHFS=true',
  // No background `gc --auto` / maintenance processes.
  'gc.auto=0',
  'maintenance.auto=false',
];

/** Inherited GIT_* variables that only describe the operator's network (custom CA bundles). */
const INHERITED_GIT_VARIABLES = new Set(['GIT_SSL_CAINFO', 'GIT_SSL_CAPATH']);

/** Where a command's repository is. Nothing is discovered: what is not named here does not exist for git. */
export interface GitRepository {
  gitDir: string;
  workTree?: string;
  /** Objects read from elsewhere (a student's `.git/objects`) while config and refs stay ours. */
  objectDirectory?: string;
  indexFile?: string;
}

export interface SafeGitOptions {
  repository?: GitRepository;
  /** Working directory; only meaningful inside `repository.workTree` (default: the work tree, else the private home). */
  cwd?: string;
  /** Extra `-c key=value` for this command (not secrets: they are visible in the process list). */
  config?: readonly string[];
  /** Configuration passed through the environment (GIT_CONFIG_COUNT…), for secrets such as an auth header. */
  secretConfig?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  timeoutMs?: number;
}

export interface GitInvocation {
  args: string[];
  env: Record<string, string | undefined>;
  cwd: string;
}

/** Pure: the argv, environment and directory for one hardened git command. */
export function safeGitInvocation(
  args: readonly string[],
  options: SafeGitOptions,
  home: string,
  inherited: Readonly<Record<string, string | undefined>> = process.env,
): GitInvocation {
  const env: Record<string, string | undefined> = {};
  for (const key of Object.keys(inherited)) {
    if (key.startsWith('GIT_') && !INHERITED_GIT_VARIABLES.has(key)) env[key] = undefined;
  }
  Object.assign(env, {
    HOME: home,
    XDG_CONFIG_HOME: home,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_SYSTEM: '/dev/null',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ATTR_NOSYSTEM: '1',
    // Discovery may look at `home` only, never above it (it is only used when no repository is named).
    GIT_CEILING_DIRECTORIES: path.dirname(home),
    GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS.join(':'),
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: 'true',
    SSH_ASKPASS: 'true',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
    GIT_LFS_SKIP_SMUDGE: '1',
    // Never take the index lock (or rewrite the index) just to refresh stat data.
    GIT_OPTIONAL_LOCKS: '0',
    // refs/replace/* could make a commit read as another one.
    GIT_NO_REPLACE_OBJECTS: '1',
    // Paths we pass are paths, never pathspec magic or globs.
    GIT_LITERAL_PATHSPECS: '1',
  });
  const repo = options.repository;
  if (repo) {
    env.GIT_DIR = repo.gitDir;
    if (repo.workTree) env.GIT_WORK_TREE = repo.workTree;
    if (repo.objectDirectory) env.GIT_OBJECT_DIRECTORY = repo.objectDirectory;
    if (repo.indexFile) env.GIT_INDEX_FILE = repo.indexFile;
  }
  const secrets = Object.entries(options.secretConfig ?? {});
  if (secrets.length > 0) {
    env.GIT_CONFIG_COUNT = String(secrets.length);
    secrets.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
  }
  const config = [...HARDENING_CONFIG, ...(options.config ?? [])].flatMap((kv) => ['-c', kv]);
  return {
    args: ['--no-pager', ...config, ...args],
    env,
    cwd: repo?.workTree ? (options.cwd ?? repo.workTree) : home,
  };
}

export interface SafeGit {
  /** The private, empty HOME of every command. */
  readonly home: string;
  /** A private directory for the caller's own files (removed with the home). */
  readonly scratch: string;
  run(args: readonly string[], options?: SafeGitOptions): Promise<CommandResult>;
}

/** Runs `fn` with a SafeGit whose private directories are removed afterwards, whatever happens. */
export async function withSafeGit<T>(
  runner: CommandRunner,
  options: { tempRoot?: string },
  fn: (git: SafeGit) => Promise<T>,
): Promise<T> {
  const sandbox = await mkdtemp(path.join(options.tempRoot ?? os.tmpdir(), 'labgrader-git-'));
  try {
    const home = path.join(sandbox, 'home');
    const scratch = path.join(sandbox, 'scratch');
    await mkdir(home, { mode: 0o700 });
    await mkdir(scratch, { mode: 0o700 });
    return await fn({
      home,
      scratch,
      run(args, runOptions = {}) {
        const call = safeGitInvocation(args, runOptions, home);
        return runner.run('git', call.args, {
          cwd: call.cwd,
          env: call.env,
          ...(runOptions.signal ? { signal: runOptions.signal } : {}),
          ...(runOptions.timeoutMs !== undefined ? { timeoutMs: runOptions.timeoutMs } : {}),
        });
      },
    });
  } finally {
    await rm(sandbox, { recursive: true, force: true, maxRetries: 3 });
  }
}

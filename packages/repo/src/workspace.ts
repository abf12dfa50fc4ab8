/**
 * A Workspace is a private copy of the submission in a temporary directory
 * that labgrader owns: every stage and every external tool (kustomize, helm,
 * kubectl apply) works on it, never on the student's or the user's files.
 *
 * Making it is where hostile trees are neutralised: symlinks that point
 * outside the repository are not reproduced (they are listed as blocked, so
 * checks can report them), special files are dropped, and size and file-count
 * limits stop a runaway copy or clone.
 */
import { copyFile, lstat, mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  NotGradableError,
  UsageError,
  type CommandRunner,
  type Logger,
  type RepoEntry,
  type RepoFiles,
  type Submission,
  silentLogger,
} from '@labgrader/core';
import { cloneRepository, type GitCredentials } from './git.js';
import { describeLocalGit } from './local-git.js';
import { formatBytes, openRepoFiles } from './repo-files.js';

export type SubmissionSource =
  | { kind: 'directory'; path: string; /** How the user wrote it, for messages and the report. */ displayPath?: string }
  | { kind: 'git'; url: string; ref?: string; credentials?: GitCredentials };

export interface WorkspaceLimits {
  /** Total bytes of the working tree (default 100 MiB). */
  maxBytes: number;
  /** Number of files (default 20,000). */
  maxFiles: number;
  /** Per-file read limit for stages (default 10 MiB). */
  maxFileBytes: number;
  /** Clone timeout (default 120 s). */
  cloneTimeoutMs: number;
}

export const DEFAULT_LIMITS: WorkspaceLimits = {
  maxBytes: 100 * 1024 * 1024,
  maxFiles: 20_000,
  maxFileBytes: 10 * 1024 * 1024,
  cloneTimeoutMs: 120_000,
};

export interface Workspace {
  root: string;
  files: RepoFiles;
  submission: Submission;
  /** Entries not reproduced in the workspace (symlinks out of the repository). */
  blocked: readonly RepoEntry[];
  /** Removes the temporary directory. Safe to call twice. */
  dispose(): Promise<void>;
}

export interface WorkspaceDeps {
  runner: CommandRunner;
  logger?: Logger;
  signal?: AbortSignal;
  limits?: Partial<WorkspaceLimits>;
  /** Parent of the temporary directory (default: the OS temp dir). */
  tempRoot?: string;
  progress?: (message: string) => void;
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(root, candidate);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

function tooLarge(what: string): NotGradableError {
  return new NotGradableError('too-large', `the submission is too large: ${what}`, {
    hint: 'A lab repository should hold sources, manifests and docs only; remove build outputs, vendored dependencies and large binaries.',
  });
}

/**
 * Copies `source` (a directory or a single file) into `dest`, reproducing
 * only what is safe. Returns the blocked symlinks.
 */
async function copyTree(
  source: string,
  dest: string,
  limits: WorkspaceLimits,
  signal?: AbortSignal,
): Promise<RepoEntry[]> {
  const sourceRoot = await realpath(source);
  const blocked: RepoEntry[] = [];
  let files = 0;
  let bytes = 0;

  const account = (size: number) => {
    files += 1;
    bytes += size;
    if (files > limits.maxFiles) throw tooLarge(`more than ${limits.maxFiles} files`);
    if (bytes > limits.maxBytes) throw tooLarge(`more than ${formatBytes(limits.maxBytes)}`);
  };

  const info = await lstat(sourceRoot);
  if (info.isFile()) {
    account(info.size);
    await copyFile(sourceRoot, path.join(dest, path.basename(sourceRoot)));
    return blocked;
  }

  const pending: string[] = [''];
  while (pending.length > 0) {
    if (signal?.aborted) throw signal.reason;
    const rel = pending.pop()!;
    const entries = await readdir(path.join(sourceRoot, rel), { withFileTypes: true });
    for (const entry of entries) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const from = path.join(sourceRoot, relPath);
      const to = path.join(dest, relPath);
      if (entry.isDirectory()) {
        if (entry.name === '.git') continue;
        await mkdir(to, { recursive: true });
        pending.push(relPath);
      } else if (entry.isFile()) {
        const { size } = await lstat(from);
        account(size);
        await copyFile(from, to);
      } else if (entry.isSymbolicLink()) {
        const linkTarget = await readlink(from);
        const lexical = path.resolve(path.dirname(from), linkTarget);
        let real: string | undefined;
        try {
          real = await realpath(from);
        } catch {
          real = undefined;
        }
        const landsInside = real !== undefined ? isInside(sourceRoot, real) : isInside(sourceRoot, lexical);
        if (!landsInside) {
          blocked.push({ path: relPath, kind: 'symlink-outside', size: 0, linkTarget });
          continue;
        }
        account(0);
        // Re-point absolute links at the same place inside the copy.
        const target = path.isAbsolute(linkTarget) ? path.relative(path.dirname(from), real ?? lexical) : linkTarget;
        await symlink(target, to);
      }
      // Sockets, FIFOs and devices are never copied.
    }
  }
  return blocked;
}

/** Removes symlinks that escape `root` from a tree we own (a fresh clone). */
async function neutraliseSymlinks(root: string, limits: WorkspaceLimits): Promise<RepoEntry[]> {
  const realRoot = await realpath(root);
  const blocked: RepoEntry[] = [];
  const pending: string[] = [''];
  let files = 0;
  let bytes = 0;
  while (pending.length > 0) {
    const rel = pending.pop()!;
    for (const entry of await readdir(path.join(realRoot, rel), { withFileTypes: true })) {
      const relPath = rel ? `${rel}/${entry.name}` : entry.name;
      const abs = path.join(realRoot, relPath);
      if (entry.isDirectory()) {
        if (rel === '' && entry.name === '.git') continue;
        pending.push(relPath);
      } else if (entry.isSymbolicLink()) {
        const linkTarget = await readlink(abs);
        let real: string | undefined;
        try {
          real = await realpath(abs);
        } catch {
          real = undefined;
        }
        const inside = isInside(realRoot, real ?? path.resolve(path.dirname(abs), linkTarget));
        if (!inside) {
          blocked.push({ path: relPath, kind: 'symlink-outside', size: 0, linkTarget });
          await rm(abs);
        }
      } else if (entry.isFile()) {
        files += 1;
        bytes += (await lstat(abs)).size;
        if (files > limits.maxFiles) throw tooLarge(`more than ${limits.maxFiles} files`);
        if (bytes > limits.maxBytes) throw tooLarge(`more than ${formatBytes(limits.maxBytes)}`);
      } else {
        await rm(abs);
      }
    }
  }
  return blocked;
}

export async function prepareWorkspace(source: SubmissionSource, deps: WorkspaceDeps): Promise<Workspace> {
  const limits: WorkspaceLimits = { ...DEFAULT_LIMITS, ...deps.limits };
  const logger = deps.logger ?? silentLogger;
  const progress = deps.progress ?? (() => {});
  const tempRoot = deps.tempRoot ?? os.tmpdir();
  const dir = await mkdtemp(path.join(tempRoot, 'labgrader-'));
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };

  try {
    const root = path.join(dir, 'repo');
    let submission: Submission;
    let blocked: RepoEntry[];

    if (source.kind === 'directory') {
      let info;
      try {
        info = await lstat(source.path);
      } catch {
        throw new UsageError(`'${source.displayPath ?? source.path}' does not exist`, {
          hint: 'Pass the path of a lab repository (a directory) or a git URL.',
        });
      }
      if (!info.isDirectory() && !info.isFile() && !info.isSymbolicLink()) {
        throw new UsageError(`'${source.displayPath ?? source.path}' is not a directory or a file`);
      }
      progress(`copying ${source.displayPath ?? source.path}`);
      await mkdir(root);
      blocked = await copyTree(source.path, root, limits, deps.signal);
      const git = await describeLocalGit(source.path, deps.runner, { tempRoot: dir });
      submission = {
        source: 'directory',
        repository: source.displayPath ?? path.basename(path.resolve(source.path)),
        ...(git.commit ? { commit: git.commit } : {}),
        ...(git.branch ? { ref: git.branch } : {}),
        ...(git.commit && git.dirty !== undefined ? { dirty: git.dirty } : {}),
        ...(git.author ? { author: git.author } : {}),
        ...(git.committedAt ? { submittedAt: git.committedAt } : {}),
      };
    } else {
      progress(`cloning ${source.url}${source.ref ? ` at ${source.ref}` : ''}`);
      const cloned = await cloneRepository(
        {
          url: source.url,
          dest: root,
          ...(source.ref ? { ref: source.ref } : {}),
          ...(source.credentials ? { credentials: source.credentials } : {}),
        },
        {
          runner: deps.runner,
          logger,
          maxBytes: limits.maxBytes,
          timeoutMs: limits.cloneTimeoutMs,
          tempRoot: dir,
          ...(deps.signal ? { signal: deps.signal } : {}),
        },
      );
      blocked = await neutraliseSymlinks(root, limits);
      // The clone's .git is ours and no stage needs it: drop it so tools never see it.
      await rm(path.join(root, '.git'), { recursive: true, force: true });
      submission = {
        source: 'git',
        repository: cloned.displayUrl,
        commit: cloned.commit,
        ...(source.ref ? { ref: source.ref } : {}),
        ...(cloned.author ? { author: cloned.author } : {}),
        ...(cloned.committedAt ? { submittedAt: cloned.committedAt } : {}),
      };
    }

    const files = await openRepoFiles(root, {
      maxFileBytes: limits.maxFileBytes,
      maxEntries: limits.maxFiles,
      blocked,
    });
    logger.debug('workspace ready', { root, blocked: blocked.length });
    return { root, files, submission, blocked, dispose };
  } catch (err) {
    await dispose();
    throw err;
  }
}

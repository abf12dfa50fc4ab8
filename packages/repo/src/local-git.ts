/**
 * Commit metadata of a folder we are asked to grade, read from its own `.git`
 * without trusting it.
 *
 * That `.git` is the student's. Its config can name programs git runs during
 * ordinary reads (core.fsmonitor and clean filters in `status`, gpg.program
 * through log.showSignature in `log`, hooks, pagers…) and `include.path` can
 * pull in more, so overriding keys one by one with `-c` is never complete.
 * Git therefore never reads that config:
 *  - we find the git directory and resolve HEAD to a commit ourselves, from
 *    plain files (HEAD, loose refs, packed-refs) under strict ref-name rules;
 *  - git runs in a private git directory of ours (our config, HEAD = that
 *    commit, a copy of info/exclude) and borrows only the student's objects
 *    (GIT_OBJECT_DIRECTORY) and index (GIT_INDEX_FILE), read-only;
 *  - a few data-only settings (core.filemode, core.autocrlf, …) are copied
 *    from the student's config through `git config --file --no-includes`,
 *    each value checked against what it may be, so `dirty` agrees with the
 *    student's own git. With no filter, hook or fsmonitor in our config,
 *    `status` runs no program; submodules are not looked into (that would
 *    read their config).
 * Anything unexpected (a reftable repository, a HEAD we cannot resolve, git
 * missing, a timeout) means "no commit metadata", never an error: the folder
 * is graded all the same. safe.directory does not come into it: git never
 * opens the student's repository, so a folder owned by another user is read
 * like any other file we were asked to grade, and nothing is marked safe.
 */
import { constants } from 'node:fs';
import { mkdir, open, realpath, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandRunner } from '@labgrader/core';
import { refNameProblem } from './git-input.js';
import { withSafeGit, type GitRepository, type SafeGit } from './safe-git.js';

export interface LocalGitInfo {
  commit?: string;
  branch?: string;
  /** Uncommitted changes in the graded folder; absent when they could not be determined. */
  dirty?: boolean;
  author?: string;
  committedAt?: string;
}

export const AUTHOR_FORMAT = '%an%x1f%aI';

export function parseAuthorLine(line: string): { author?: string; committedAt?: string } {
  const [author, date] = line.trim().split('\x1f');
  return { ...(author ? { author } : {}), ...(date ? { committedAt: new Date(date).toISOString() } : {}) };
}

const OID = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
const SMALL_FILE_BYTES = 64 * 1024;
const MAX_PACKED_REFS_BYTES = 32 * 1024 * 1024;
const MAX_CONFIG_BYTES = 1024 * 1024;
const MAX_SYMREF_DEPTH = 5;
const GIT_TIMEOUT_MS = 15_000;

/** Settings that change how git compares files and never name a program, with the values they may take. */
const BOOL = /^(?:true|false|yes|no|on|off|1|0)$/i;
const INERT_SETTINGS: Readonly<Record<string, RegExp>> = {
  'core.filemode': BOOL,
  'core.symlinks': BOOL,
  'core.ignorecase': BOOL,
  'core.trustctime': BOOL,
  'core.checkstat': /^(?:default|minimal)$/i,
  'core.autocrlf': /^(?:true|false|input|yes|no|on|off|1|0)$/i,
  'core.eol': /^(?:lf|crlf|native)$/i,
};

interface GitLayout {
  workTree: string;
  /** Holds HEAD and the index (a linked worktree's own directory). */
  gitDir: string;
  /** Holds objects, refs and config (the main `.git`). */
  commonDir: string;
}

/** Opens without following symlinks and without blocking, so a FIFO or device planted in `.git` cannot hang us. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** A regular file's text when it is at most `maxBytes`; undefined for anything else. */
async function readRegularFile(file: string, maxBytes: number): Promise<string | undefined> {
  const handle = await open(file, OPEN_FLAGS).catch(() => undefined);
  try {
    const info = await handle?.stat();
    return info?.isFile() && info.size <= maxBytes ? await handle?.readFile('utf8') : undefined;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

async function isRegularFile(file: string): Promise<boolean> {
  const handle = await open(file, OPEN_FLAGS).catch(() => undefined);
  try {
    return (await handle?.stat())?.isFile() ?? false;
  } finally {
    await handle?.close();
  }
}

/** The git directory that owns `dir`, looking upwards as git does; undefined when there is none we can use. */
async function findGitLayout(dir: string): Promise<GitLayout | undefined> {
  for (let current = dir; ; current = path.dirname(current)) {
    const dotGit = path.join(current, '.git');
    const info = await stat(dotGit).catch(() => undefined);
    if (info?.isDirectory()) return withCommonDir(current, dotGit);
    if (info?.isFile()) {
      // A linked worktree or a submodule: `.git` is a file naming the git directory.
      const gitDir = /^gitdir: (.+)$/m.exec((await readRegularFile(dotGit, SMALL_FILE_BYTES)) ?? '')?.[1];
      return gitDir ? withCommonDir(current, path.resolve(current, gitDir.trim())) : undefined;
    }
    if (info) return undefined; // a `.git` that is neither: git would refuse it too
    if (path.dirname(current) === current) return undefined;
  }
}

async function withCommonDir(workTree: string, gitDir: string): Promise<GitLayout> {
  const common = (await readRegularFile(path.join(gitDir, 'commondir'), SMALL_FILE_BYTES))?.trim();
  return { workTree, gitDir, commonDir: common ? path.resolve(gitDir, common) : gitDir };
}

/** The object id a ref names, following symbolic refs; loose refs first, then packed-refs, as git does. */
async function resolveRef(layout: GitLayout, name: string, depth = 0): Promise<string | undefined> {
  // The name becomes a path below the git directory: only well-formed refs/… names are looked up.
  if (depth > MAX_SYMREF_DEPTH || !name.startsWith('refs/') || refNameProblem(name)) return undefined;
  for (const dir of new Set([layout.gitDir, layout.commonDir])) {
    const text = (await readRegularFile(path.join(dir, ...name.split('/')), SMALL_FILE_BYTES))?.trim();
    if (text === undefined) continue;
    if (OID.test(text)) return text;
    const target = /^ref: (\S+)$/.exec(text)?.[1];
    return target ? resolveRef(layout, target, depth + 1) : undefined;
  }
  const packed = await readRegularFile(path.join(layout.commonDir, 'packed-refs'), MAX_PACKED_REFS_BYTES);
  for (const line of packed?.split('\n') ?? []) {
    const [oid, ref] = line.split(' ');
    if (ref === name && oid !== undefined && OID.test(oid)) return oid;
  }
  return undefined;
}

async function readHead(layout: GitLayout): Promise<{ oid: string; branch?: string } | undefined> {
  const head = (await readRegularFile(path.join(layout.gitDir, 'HEAD'), SMALL_FILE_BYTES))?.trim();
  if (head === undefined) return undefined;
  if (OID.test(head)) return { oid: head };
  const ref = /^ref: (\S+)$/.exec(head)?.[1];
  const oid = ref ? await resolveRef(layout, ref) : undefined; // undefined too for a branch with no commit yet
  if (!ref || !oid) return undefined;
  return { oid, ...(ref.startsWith('refs/heads/') ? { branch: ref.slice('refs/heads/'.length) } : {}) };
}

/** The student's data-only settings as `key = value` lines for our config; everything else is dropped. */
async function inertSettings(git: SafeGit, layout: GitLayout): Promise<string[]> {
  const text = await readRegularFile(path.join(layout.commonDir, 'config'), MAX_CONFIG_BYTES);
  if (text === undefined) return [];
  // git reads a copy: the original could be swapped for a FIFO between our check and git's open.
  const copy = path.join(git.scratch, 'student-config');
  await writeFile(copy, text);
  const keys = Object.keys(INERT_SETTINGS).map((k) => k.slice('core.'.length));
  const r = await git.run(
    ['config', '--file', copy, '--no-includes', '-z', '--get-regexp', `^core\\.(${keys.join('|')})$`],
    { timeoutMs: GIT_TIMEOUT_MS },
  );
  if (r.exitCode !== 0) return [];
  const lines: string[] = [];
  for (const record of r.stdout.split('\0')) {
    const [key = '', value = 'true'] = record.split('\n');
    if (INERT_SETTINGS[key]?.test(value)) lines.push(`\t${key.slice('core.'.length)} = ${value}`);
  }
  return lines;
}

/** A git directory of ours whose HEAD is `oid`; objects come from the student's repository. */
async function privateGitDir(git: SafeGit, layout: GitLayout, oid: string): Promise<GitRepository> {
  const gitDir = path.join(git.scratch, 'git');
  await mkdir(path.join(gitDir, 'refs'), { recursive: true });
  await mkdir(path.join(gitDir, 'info'));
  const sha256 = oid.length === 64;
  const config = [
    '[core]',
    `\trepositoryformatversion = ${sha256 ? 1 : 0}`,
    ...(await inertSettings(git, layout)),
    ...(sha256 ? ['[extensions]', '\tobjectformat = sha256'] : []),
  ];
  await writeFile(path.join(gitDir, 'config'), `${config.join('\n')}\n`);
  await writeFile(path.join(gitDir, 'HEAD'), `${oid}\n`);
  // Untracked files the student excluded are not changes.
  const exclude = await readRegularFile(path.join(layout.commonDir, 'info', 'exclude'), MAX_CONFIG_BYTES);
  if (exclude !== undefined) await writeFile(path.join(gitDir, 'info', 'exclude'), exclude);
  return { gitDir, objectDirectory: path.join(layout.commonDir, 'objects') };
}

/** Uncommitted changes under `target`; undefined when git cannot tell. */
async function isDirty(
  git: SafeGit,
  repository: GitRepository,
  layout: GitLayout,
  target: { cwd: string; pathspec: string },
): Promise<boolean | undefined> {
  const indexFile = path.join(layout.gitDir, 'index');
  if (!(await isRegularFile(indexFile))) return undefined;
  const r = await git.run(
    [
      'status',
      '--porcelain',
      '-z',
      '--no-renames',
      '--untracked-files=normal',
      '--ignore-submodules=all',
      '--',
      target.pathspec,
    ],
    {
      repository: { ...repository, workTree: layout.workTree, indexFile },
      cwd: target.cwd,
      timeoutMs: GIT_TIMEOUT_MS,
    },
  );
  return r.exitCode === 0 ? r.stdout.length > 0 : undefined;
}

/** Commit, branch, author and dirtiness of a local directory or file, when it is in a git work tree. */
export async function describeLocalGit(
  target: string,
  runner: CommandRunner,
  options: { tempRoot?: string } = {},
): Promise<LocalGitInfo> {
  try {
    const real = await realpath(target);
    const isDir = (await stat(real)).isDirectory();
    const where = isDir ? { cwd: real, pathspec: '.' } : { cwd: path.dirname(real), pathspec: path.basename(real) };
    const layout = await findGitLayout(where.cwd);
    const head = layout ? await readHead(layout) : undefined;
    if (!layout || !head) return {};
    return await withSafeGit(runner, options, async (git) => {
      const repository = await privateGitDir(git, layout, head.oid);
      const verified = await git.run(['rev-parse', '--verify', '-q', `${head.oid}^{commit}`], {
        repository,
        timeoutMs: GIT_TIMEOUT_MS,
      });
      const commit = verified.stdout.trim();
      if (verified.exitCode !== 0 || !OID.test(commit)) return {};
      await writeFile(path.join(repository.gitDir, 'HEAD'), `${commit}\n`); // HEAD may have named a tag object
      const log = await git.run(['log', '-1', `--format=${AUTHOR_FORMAT}`, commit, '--'], {
        repository,
        timeoutMs: GIT_TIMEOUT_MS,
      });
      const dirty = await isDirty(git, repository, layout, where);
      return {
        commit,
        ...(head.branch ? { branch: head.branch } : {}),
        ...(dirty !== undefined ? { dirty } : {}),
        ...(log.exitCode === 0 ? parseAuthorLine(log.stdout) : {}),
      };
    });
  } catch {
    return {}; // git missing, a timeout, an unreadable file: grade without commit metadata
  }
}

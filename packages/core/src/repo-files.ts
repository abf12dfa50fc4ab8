/**
 * Read access to a submission's files. Stages never touch the filesystem
 * directly: they go through this port, which guarantees that nothing outside
 * the repository is read (symlinks pointing out are listed but never
 * followed), that files are size-limited, and that text is valid UTF-8.
 */

export type RepoEntryKind =
  | 'file'
  /** A symlink whose target resolves inside the repository (read through it). */
  | 'symlink'
  /** A symlink pointing outside the repository: never followed. */
  | 'symlink-outside'
  /** A symlink whose target does not exist. */
  | 'symlink-broken';

export interface RepoEntry {
  /** Repository-relative POSIX path. */
  path: string;
  kind: RepoEntryKind;
  /** Size in bytes of the file (or of the symlink target when inside). 0 otherwise. */
  size: number;
  /** For symlinks, the link text as stored. */
  linkTarget?: string;
}

export type ReadProblem = 'not-found' | 'not-a-file' | 'symlink-outside' | 'symlink-broken' | 'too-large' | 'not-utf8';

export type ReadResult<T> =
  { ok: true; value: T; size: number } | { ok: false; problem: ReadProblem; message: string; size?: number };

export interface ReadOptions {
  /** Refuse files larger than this many bytes (default: the repo's limit). */
  maxBytes?: number;
}

export interface RepoFiles {
  /** Directory on disk, for tools that need one (kubectl kustomize, helm). */
  readonly root: string;
  /** Every entry under the root except `.git/`, sorted by path. */
  list(): Promise<readonly RepoEntry[]>;
  /** Look one path up (case-sensitive, exact). */
  stat(path: string): Promise<RepoEntry | undefined>;
  readBytes(path: string, options?: ReadOptions): Promise<ReadResult<Uint8Array>>;
  /** UTF-8 text; a leading BOM is removed. Invalid UTF-8 is a `not-utf8` problem. */
  readText(path: string, options?: ReadOptions): Promise<ReadResult<string>>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decode strictly; returns undefined when the bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Normalise a user- or document-supplied relative path; undefined if it escapes the root. */
export function normalizeRepoPath(path: string, fromDir = ''): string | undefined {
  const parts = fromDir ? fromDir.split('/').filter(Boolean) : [];
  for (const segment of path.replace(/\\/g, '/').split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else {
      parts.push(segment);
    }
  }
  return parts.join('/');
}

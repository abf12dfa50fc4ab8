/** An in-memory RepoFiles for unit tests (same contract as @labgrader/repo's openRepoFiles). */
import { decodeUtf8, normalizeRepoPath, type ReadResult, type RepoEntry, type RepoFiles } from '@labgrader/core';

export type MemoryFile = string | Uint8Array | { symlinkOutside: string } | { symlinkBroken: string };

export interface MemoryRepo extends RepoFiles {
  /** Paths whose bytes were read, in order (to prove what was never read). */
  readonly reads: string[];
}

export function memoryRepo(files: Record<string, MemoryFile>, options: { maxFileBytes?: number } = {}): MemoryRepo {
  const limit = options.maxFileBytes ?? 10 * 1024 * 1024;
  const reads: string[] = [];
  const entries: RepoEntry[] = Object.entries(files)
    .map(([path, content]): RepoEntry => {
      if (typeof content === 'object' && 'symlinkOutside' in content) {
        return { path, kind: 'symlink-outside', size: 0, linkTarget: content.symlinkOutside };
      }
      if (typeof content === 'object' && 'symlinkBroken' in content) {
        return { path, kind: 'symlink-broken', size: 0, linkTarget: content.symlinkBroken };
      }
      return { path, kind: 'file', size: typeof content === 'string' ? Buffer.byteLength(content) : content.length };
    })
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));

  const readBytes = async (path: string, readOptions: { maxBytes?: number } = {}): Promise<ReadResult<Uint8Array>> => {
    const normal = normalizeRepoPath(path);
    const entry = entries.find((e) => e.path === normal);
    if (!entry || normal === undefined) return { ok: false, problem: 'not-found', message: `'${path}' does not exist` };
    if (entry.kind === 'symlink-outside') {
      return {
        ok: false,
        problem: 'symlink-outside',
        message: `'${normal}' is a symlink to '${entry.linkTarget}', outside the repository; it is never read`,
      };
    }
    if (entry.kind === 'symlink-broken') {
      return {
        ok: false,
        problem: 'symlink-broken',
        message: `'${normal}' is a symlink to '${entry.linkTarget}', which does not exist`,
      };
    }
    const max = readOptions.maxBytes ?? limit;
    if (entry.size > max)
      return {
        ok: false,
        problem: 'too-large',
        size: entry.size,
        message: `'${normal}' is ${entry.size} bytes, over the ${max}-byte limit`,
      };
    const content = files[normal] as string | Uint8Array;
    reads.push(normal);
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
    return { ok: true, value: bytes, size: bytes.length };
  };

  return {
    root: '/memory',
    reads,
    list: async () => entries,
    stat: async (path) => {
      const normal = normalizeRepoPath(path);
      return entries.find((e) => e.path === normal);
    },
    readBytes,
    readText: async (path, readOptions) => {
      const result = await readBytes(path, readOptions);
      if (!result.ok) return result;
      const text = decodeUtf8(result.value);
      if (text === undefined)
        return { ok: false, problem: 'not-utf8', size: result.size, message: `'${path}' is not valid UTF-8 text` };
      return { ok: true, value: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, size: result.size };
    },
  };
}

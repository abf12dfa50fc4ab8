/** An in-memory RepoFiles for unit tests (same contract as @labgrader/repo's openRepoFiles). */
import { decodeUtf8, normalizeRepoPath, type ReadResult, type RepoEntry, type RepoFiles } from '@labgrader/core';

export type MemoryFile = string | Uint8Array | { symlinkOutside: string };

export function memoryRepo(
  files: Record<string, MemoryFile>,
  options: { maxFileBytes?: number; root?: string } = {},
): RepoFiles {
  const limit = options.maxFileBytes ?? 10 * 1024 * 1024;
  const entries: RepoEntry[] = Object.entries(files)
    .map(([path, content]): RepoEntry => {
      if (typeof content === 'object' && 'symlinkOutside' in content) {
        return { path, kind: 'symlink-outside', size: 0, linkTarget: content.symlinkOutside };
      }
      return { path, kind: 'file', size: typeof content === 'string' ? Buffer.byteLength(content) : content.length };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  const bytesOf = (path: string): ReadResult<Uint8Array> => {
    const normal = normalizeRepoPath(path);
    const entry = entries.find((e) => e.path === normal);
    const content = normal === undefined ? undefined : files[normal];
    if (!entry || content === undefined)
      return { ok: false, problem: 'not-found', message: `'${path}' does not exist` };
    if (entry.kind === 'symlink-outside')
      return { ok: false, problem: 'symlink-outside', message: `'${path}' points outside the repository` };
    const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : (content as Uint8Array);
    return { ok: true, value: bytes, size: bytes.length };
  };
  return {
    root: options.root ?? '/nonexistent-memory-repo',
    list: async () => entries,
    stat: async (path) => entries.find((e) => e.path === normalizeRepoPath(path)),
    readBytes: async (path, readOptions) => {
      const entry = entries.find((e) => e.path === normalizeRepoPath(path));
      const max = readOptions?.maxBytes ?? limit;
      if (entry && entry.size > max)
        return { ok: false, problem: 'too-large', size: entry.size, message: `'${path}' is too large` };
      return bytesOf(path);
    },
    readText: async (path, readOptions) => {
      const entry = entries.find((e) => e.path === normalizeRepoPath(path));
      const max = readOptions?.maxBytes ?? limit;
      if (entry && entry.size > max)
        return { ok: false, problem: 'too-large', size: entry.size, message: `'${path}' is too large` };
      const result = bytesOf(path);
      if (!result.ok) return result;
      const text = decodeUtf8(result.value);
      if (text === undefined)
        return { ok: false, problem: 'not-utf8', size: result.size, message: `'${path}' is not UTF-8` };
      return { ok: true, value: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, size: result.size };
    },
  };
}

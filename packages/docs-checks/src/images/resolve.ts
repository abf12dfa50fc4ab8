/**
 * Resolving an image or link target from the notes to a path inside the
 * repository, the way GitHub renders Markdown: relative to the notes'
 * directory, `/` meaning the repository root, `%20`-style escapes decoded,
 * query and fragment ignored, and nothing allowed to climb out of the root.
 */
import { normalizeRepoPath } from '@labgrader/core';

export type ResolvedTarget =
  | { kind: 'local'; path: string }
  | { kind: 'remote'; url: string; host: string }
  | { kind: 'data'; mediaType: string; bytes: Uint8Array }
  | { kind: 'invalid'; reason: string };

/** Decode a `data:` URI (base64 or percent-encoded); undefined when malformed or over `maxBytes`. */
function decodeDataUri(url: string, maxBytes: number): ResolvedTarget {
  const m = /^data:([^,;]*)((?:;[^,;]*)*),(.*)$/is.exec(url);
  if (!m) return { kind: 'invalid', reason: 'a malformed data: URI' };
  const mediaType = m[1]!.toLowerCase() || 'text/plain';
  const base64 = /;base64/i.test(m[2]!);
  const payload = m[3]!;
  if ((base64 ? (payload.length * 3) / 4 : payload.length) > maxBytes) {
    return { kind: 'invalid', reason: `a data: URI larger than the ${maxBytes}-byte image limit` };
  }
  try {
    const bytes = base64
      ? new Uint8Array(Buffer.from(payload.replace(/\s+/g, ''), 'base64'))
      : new TextEncoder().encode(decodeURIComponent(payload));
    return { kind: 'data', mediaType, bytes };
  } catch {
    return { kind: 'invalid', reason: 'a data: URI whose content cannot be decoded' };
  }
}

export function resolveTarget(url: string, fromDir: string, maxDataBytes = 10 * 1024 * 1024): ResolvedTarget {
  const target = url.trim();
  if (target === '') return { kind: 'invalid', reason: 'an empty path' };
  if (/^data:/i.test(target)) return decodeDataUri(target, maxDataBytes);
  if (/^[a-z]:[\\/]/i.test(target))
    return { kind: 'invalid', reason: 'an absolute Windows path (it only exists on your computer)' };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(target)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https' || target.startsWith('//')) {
    let host: string;
    try {
      host = new URL(target.startsWith('//') ? `https:${target}` : target).hostname;
    } catch {
      return { kind: 'invalid', reason: 'a malformed URL' };
    }
    return { kind: 'remote', url: target, host };
  }
  if (scheme === 'file') return { kind: 'invalid', reason: 'a file: URL (it only exists on your computer)' };
  if (scheme) return { kind: 'invalid', reason: `a ${scheme}: URL, which is not an image file` };
  const pathPart = target.split(/[?#]/, 1)[0]!;
  if (pathPart === '') return { kind: 'invalid', reason: 'only a query or fragment, no path' };
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathPart);
  } catch {
    return { kind: 'invalid', reason: 'a path with malformed %-escapes' };
  }
  if (decoded.includes('\\'))
    return { kind: 'invalid', reason: 'a path with backslashes (use forward slashes: a/b.png)' };
  const path = decoded.startsWith('/') ? normalizeRepoPath(decoded.slice(1)) : normalizeRepoPath(decoded, fromDir);
  if (path === undefined) return { kind: 'invalid', reason: 'a path that leads outside the repository' };
  if (path === '') return { kind: 'invalid', reason: 'a directory, not a file' };
  return { kind: 'local', path };
}

/** Lower-case extension of a path or URL path ('' when none). */
export function extensionOf(pathOrUrl: string): string {
  const path = pathOrUrl.split(/[?#]/, 1)[0]!;
  const base = path.slice(path.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot + 1).toLowerCase();
}

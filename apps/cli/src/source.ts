import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { SubmissionSource } from '@labgrader/repo';

const URL_LIKE = /^(?:https?|ssh|git|file):\/\//i;
const SCP_LIKE = /^[\w.-]+@[\w.-]+:(?!\/\/)/;

/**
 * A bare git repository on disk (HEAD, objects/ and refs/, no work tree): what a git server or a
 * mirror holds. Its files are git's own, not the submission's, so it is cloned like a file:// URL.
 */
export function isBareRepository(dir: string): boolean {
  try {
    return (
      statSync(path.join(dir, 'HEAD')).isFile() &&
      statSync(path.join(dir, 'objects')).isDirectory() &&
      statSync(path.join(dir, 'refs')).isDirectory() &&
      !existsSync(path.join(dir, '.git'))
    );
  } catch {
    return false;
  }
}

/** A git URL (https://, ssh://, git@host:owner/repo, file://, a bare repository's path) or a local path. */
export function parseSource(target: string, ref: string | undefined, cwd = process.cwd()): SubmissionSource {
  if (URL_LIKE.test(target) || SCP_LIKE.test(target)) return { kind: 'git', url: target, ...(ref ? { ref } : {}) };
  const dir = path.resolve(cwd, target);
  if (isBareRepository(dir)) return { kind: 'git', url: pathToFileURL(dir).href, ...(ref ? { ref } : {}) };
  return { kind: 'directory', path: target };
}

import type { SubmissionSource } from '@labgrader/repo';

const URL_LIKE = /^(?:https?|ssh|git|file):\/\//i;
const SCP_LIKE = /^[\w.-]+@[\w.-]+:(?!\/\/)/;

/** A git URL (https://, ssh://, git@host:owner/repo, file://) or a local path. */
export function parseSource(target: string, ref: string | undefined): SubmissionSource {
  if (URL_LIKE.test(target) || SCP_LIKE.test(target)) return { kind: 'git', url: target, ...(ref ? { ref } : {}) };
  return { kind: 'directory', path: target };
}

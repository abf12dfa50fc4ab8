/**
 * What a user (or a job) may hand to git as a ref or a remote URL. A value
 * starting with '-' would be read as an option (`--upload-pack=<command>`
 * runs the command), so such values are refused before git is started, and
 * every such value is also placed after `--end-of-options`.
 */
import { UsageError, redactSecrets } from '@labgrader/core';

export const FULL_SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i;

export const VALID_REF_HINT =
  "A ref is a branch or tag name (e.g. main, v1.2, feature/probes, refs/heads/main) or a full 40- or 64-digit commit SHA; it cannot start with '-' or '.', nor contain spaces, '..', '~', '^', ':', '?', '*', '[', '\\' or '@{'.";

/** Why `name` is not a ref name by git's rules (git check-ref-format, one-level names allowed), if it is not. */
export function refNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'it is empty';
  if (name.startsWith('-')) return "it starts with '-', which git would read as an option";
  if (name.length > 255) return 'it is longer than 255 characters';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return 'it contains a space, a control character or one of ~ ^ : ? * [ \\';
  if (name.includes('..')) return "it contains '..'";
  if (name.includes('@{') || name === '@') return "it contains '@{' or is '@'";
  if (name.startsWith('/') || name.endsWith('/') || name.includes('//')) return "it has an empty '/'-separated part";
  if (name.endsWith('.')) return "it ends with '.'";
  for (const part of name.split('/')) {
    if (part.startsWith('.')) return "a '/'-separated part starts with '.'";
    if (part.endsWith('.lock')) return "a '/'-separated part ends with '.lock'";
  }
  return undefined;
}

/** Refuses a ref to clone that is neither a full commit SHA nor a valid ref name. */
export function assertCloneRef(ref: string): void {
  if (FULL_SHA.test(ref)) return;
  const problem = refNameProblem(ref);
  if (problem) {
    throw new UsageError(`the ref ${quote(ref)} is not a branch, tag or commit SHA: ${problem}`, {
      hint: VALID_REF_HINT,
    });
  }
}

/** Refuses a remote URL git could mistake for an option or that carries control characters. */
export function assertCloneUrl(url: string): void {
  if (url.startsWith('-')) {
    throw new UsageError(
      `the repository URL ${redactSecrets(quote(url))} starts with '-', which git would read as an option`,
      {
        hint: 'Pass a git URL such as https://github.com/owner/repo.git, git@github.com:owner/repo.git or file:///path/to/repo.git.',
      },
    );
  }
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\x00-\x1f\x7f]/.test(url)) {
    throw new UsageError(`the repository URL ${redactSecrets(quote(url))} contains control characters`, {
      hint: 'Pass the URL exactly as the git host shows it.',
    });
  }
}

/** For messages: quoted, control characters escaped, bounded. */
function quote(value: string): string {
  return JSON.stringify(value.length > 120 ? `${value.slice(0, 120)}…` : value);
}

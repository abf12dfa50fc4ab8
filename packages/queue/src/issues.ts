import type { z } from 'zod';

/**
 * One line per zod issue, naming the field: `repository.clone_url: expected string, received undefined`.
 * Never echoes the offending value, so it is safe for secrets and for untrusted payloads.
 */
export function describeIssues(error: z.ZodError, options: { prefix?: string } = {}): string[] {
  return error.issues.map((issue) => {
    const path = [...(options.prefix ? [options.prefix] : []), ...issue.path.map(String)].join('.');
    const message = issue.message.replace(/^Invalid input: /, '');
    return path ? `${path}: ${message}` : message;
  });
}

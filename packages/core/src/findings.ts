/**
 * Findings: what a check reports about one place in a submission.
 * Every stage (docs, lint, cluster) produces the same shape, so the report,
 * SARIF and GitHub annotations treat them alike.
 *
 * The zod schemas are the source of truth: the TypeScript types are inferred
 * from them and the published JSON Schema of the report is generated from them.
 */
import { z } from 'zod';

export const severitySchema = z.enum(['error', 'warning', 'info']);
export type Severity = z.infer<typeof severitySchema>;
export const SEVERITIES: readonly Severity[] = severitySchema.options;

/** A position in a repository file. Lines and columns are 1-based. */
export const sourceLocationSchema = z.object({
  /** Repository-relative POSIX path, e.g. `k8s/deployment.yaml`. */
  file: z.string().describe('Repository-relative POSIX path'),
  line: z.number().int().min(1),
  column: z.number().int().min(1),
  endLine: z.number().int().min(1).optional(),
  endColumn: z.number().int().min(1).optional(),
});
export type SourceLocation = z.infer<typeof sourceLocationSchema>;

export const findingSchema = z.object({
  /** Id of the check that produced it, e.g. `lint/container-resources`. */
  checkId: z.string(),
  severity: severitySchema,
  /** One sentence a student can act on: what is wrong, where. */
  message: z.string(),
  location: sourceLocationSchema.optional(),
  /** How to fix it; may contain a Markdown code block (e.g. a YAML snippet). */
  fixHint: z.string().optional(),
  docsUrl: z.string().optional(),
  /**
   * The thing the finding is about (e.g. `Deployment lab85/web, container web`).
   * Lets a reader group findings; checks count subjects for partial credit.
   */
  subject: z.string().optional(),
  /**
   * Set when the grader is unsure of this grade (e.g. a failure analysis found
   * by its content under a heading that does not name it): why an instructor
   * should look. Added in schemaVersion 1 as an optional field.
   */
  review: z.string().optional(),
});
export type Finding = z.infer<typeof findingSchema>;

/** Something a stage observed that supports a grade (not a problem). */
export const evidenceSchema = z.object({
  checkId: z.string(),
  /** Short label, e.g. `diagram`, `recovery-time`. */
  label: z.string(),
  /** Human-readable value, e.g. `docs/architecture.svg (SVG, 4.1 kB)`. */
  detail: z.string(),
  location: sourceLocationSchema.optional(),
});
export type Evidence = z.infer<typeof evidenceSchema>;

export function formatLocation(loc: SourceLocation | undefined): string {
  if (!loc) return '';
  return `${loc.file}:${loc.line}:${loc.column}`;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Stable ordering: by file, line, column, then check id and message. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    compareStrings(a.location?.file ?? '', b.location?.file ?? '') ||
    (a.location?.line ?? 0) - (b.location?.line ?? 0) ||
    (a.location?.column ?? 0) - (b.location?.column ?? 0) ||
    compareStrings(a.checkId, b.checkId) ||
    compareStrings(a.message, b.message)
  );
}

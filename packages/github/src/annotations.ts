/**
 * Findings as check-run annotations: one per finding that has a file, at its
 * line (line 1 when it has none), in a stable order. Findings without a file
 * (cluster-level) are in the summary only. The lint stage already points
 * findings in kustomize or Helm output at the source file that produced them,
 * so a location is used as given.
 *
 * Annotations are plain text on GitHub (no Markdown), but still student text:
 * every string goes through toDisplayText, so no control or bidi character
 * reaches the page.
 */
import { compareFindings, toDisplayText, type ReportFinding, type Severity } from '@labgrader/core';

/** GitHub appends annotations and takes at most 50 per request. */
export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub's limits: title 255 characters, message and raw details 64 KB. */
export const ANNOTATION_TITLE_MAX = 255;
export const ANNOTATION_MESSAGE_MAX_BYTES = 64 * 1024;

export type AnnotationLevel = 'notice' | 'warning' | 'failure';

export interface CheckRunAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: AnnotationLevel;
  title: string;
  message: string;
}

const LEVEL: Record<Severity, AnnotationLevel> = { error: 'failure', warning: 'warning', info: 'notice' };

/** A repository-relative POSIX path GitHub can place: no absolute path, no `.`/`..`/empty segment, no backslash. */
export function isAnnotatablePath(file: string): boolean {
  return (
    file.length > 0 &&
    file.length <= 4096 &&
    !file.includes('\\') &&
    file.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..')
  );
}

/** At most `max` code points, with an ellipsis when cut. */
export function truncateChars(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
}

/** At most `maxBytes` of UTF-8, cut on a code point boundary, with an ellipsis when cut. */
export function truncateBytes(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text, 'utf8') <= maxBytes) return text;
  let out = '';
  let bytes = 0;
  const budget = maxBytes - 3; // the ellipsis
  for (const point of text) {
    const size = Buffer.byteLength(point, 'utf8');
    if (bytes + size > budget) break;
    out += point;
    bytes += size;
  }
  return `${out}…`;
}

function positiveInt(value: number | undefined): number | undefined {
  return value !== undefined && Number.isInteger(value) && value >= 1 ? value : undefined;
}

export function findingAnnotation(finding: ReportFinding): CheckRunAnnotation | undefined {
  const location = finding.location;
  if (!location || !isAnnotatablePath(location.file)) return undefined;
  const startLine = positiveInt(location.line) ?? 1;
  const endLine = Math.max(startLine, positiveInt(location.endLine) ?? startLine);
  const annotation: CheckRunAnnotation = {
    path: location.file,
    start_line: startLine,
    end_line: endLine,
    annotation_level: LEVEL[finding.severity] ?? 'warning',
    title: '',
    message: '',
  };
  // GitHub takes columns only for an annotation on one line.
  const startColumn = positiveInt(location.column);
  if (startLine === endLine && startColumn !== undefined && positiveInt(location.line) !== undefined) {
    annotation.start_column = startColumn;
    annotation.end_column = Math.max(startColumn, positiveInt(location.endColumn) ?? startColumn);
  }
  const subject = finding.subject ? ` · ${finding.subject}` : '';
  annotation.title = truncateChars(toDisplayText(`${finding.checkId}${subject}`), ANNOTATION_TITLE_MAX);
  const parts = [toDisplayText(finding.message)];
  if (finding.fixHint) parts.push(`How to fix: ${toDisplayText(finding.fixHint, { multiline: true })}`);
  if (finding.docsUrl) parts.push(`Docs: ${toDisplayText(finding.docsUrl)}`);
  if (finding.review) parts.push(`Instructor review: ${toDisplayText(finding.review)}`);
  annotation.message = truncateBytes(parts.join('\n\n'), ANNOTATION_MESSAGE_MAX_BYTES - 1024);
  return annotation;
}

/** Every finding with a file, as an annotation, in the report's stable order (file, line, column, check). */
export function reportAnnotations(findings: readonly ReportFinding[]): CheckRunAnnotation[] {
  return [...findings]
    .sort(compareFindings)
    .map(findingAnnotation)
    .filter((a): a is CheckRunAnnotation => a !== undefined);
}

/** Identity of an annotation as GitHub lists it back, to skip those a previous attempt already sent. */
export function annotationKey(a: {
  path: string;
  start_line: number;
  end_line: number;
  annotation_level: string | null;
  title?: string | null;
  message: string | null;
}): string {
  return JSON.stringify([a.path, a.start_line, a.end_line, a.annotation_level, a.title ?? '', a.message ?? '']);
}

/** `annotations` without those already on the check run (as a multiset: duplicates count). */
export function missingAnnotations(
  annotations: readonly CheckRunAnnotation[],
  existing: readonly Parameters<typeof annotationKey>[0][],
): CheckRunAnnotation[] {
  const present = new Map<string, number>();
  for (const a of existing) present.set(annotationKey(a), (present.get(annotationKey(a)) ?? 0) + 1);
  return annotations.filter((a) => {
    const key = annotationKey(a);
    const left = present.get(key) ?? 0;
    if (left === 0) return true;
    present.set(key, left - 1);
    return false;
  });
}

export function batches<T>(items: readonly T[], size = ANNOTATIONS_PER_REQUEST): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

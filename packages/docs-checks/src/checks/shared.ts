/** Helpers shared by the docs checks (written with core's `defineCheck`). */
import type { CheckReporter, SourceLocation } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import type { NotesDocument } from '../markdown/document.js';

/** The notes' location at line 1, or where they were expected when there are none. */
export function notesLocation(context: DocsContext, line = 1): SourceLocation {
  const notes = context.notes;
  const file =
    notes.status === 'missing' ? (notes.location.expected[0] ?? 'architecture-notes.md') : notes.candidate.path;
  return { file, line, column: 1 };
}

export function expectedList(context: DocsContext): string {
  const expected = context.notes.location.expected;
  return expected.length <= 2
    ? expected.join(' or ')
    : `${expected.slice(0, -1).join(', ')} or ${expected[expected.length - 1]}`;
}

const NOTES_HINT =
  'Commit your notes as `architecture-notes.md` at the repository root (or where the lab says), as UTF-8 Markdown; see docs/notes-present.';

/**
 * Reports a content check when there are no readable notes: a graded zero
 * over `subjects` (at least one), with one finding that says why.
 */
export function notesUnavailable(
  context: DocsContext,
  reporter: CheckReporter,
  subjects: readonly string[],
  what: string,
): void {
  const notes = context.notes;
  let message: string;
  if (notes.status === 'missing') {
    message = `No notes file was found (expected ${expectedList(context)}), so ${what} could not be graded.`;
  } else if (notes.status === 'unreadable') {
    message = `${notes.candidate.path} could not be used (${notes.message}), so ${what} could not be graded.`;
  } else {
    throw new Error('notesUnavailable called with readable notes');
  }
  const line = notes.status === 'unreadable' ? (notes.line ?? 1) : 1;
  const examined = subjects.length > 0 ? subjects : ['notes'];
  for (const s of examined) reporter.examine(s);
  reporter.report({
    message,
    location: notesLocation(context, line),
    fixHint: NOTES_HINT,
    subject: 'notes',
    alsoFails: examined,
  });
}

export function documentOf(context: DocsContext): NotesDocument | undefined {
  return context.notes.status === 'ok' ? context.notes.document : undefined;
}

/** Line of the `index`-th character of a text that starts at `line`. */
export function lineWithin(value: string, index: number, line: number): number {
  let n = line;
  for (let i = 0; i < index && i < value.length; i++) if (value.charCodeAt(i) === 10) n++;
  return n;
}

export function quote(text: string, max = 60): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n} ${n === 1 ? word : pluralWord}`;
}

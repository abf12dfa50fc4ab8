import { z } from 'zod';
import { defineCheck } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import type { NotesCandidate } from '../notes/locate.js';
import { expectedList, notesLocation, plural } from './shared.js';

export const notesPresentOptions = z.strictObject({
  /** Fewer words than this (headings included) counts as an empty file. */
  minWords: z.number().int().min(0).default(1),
});
export type NotesPresentOptions = z.infer<typeof notesPresentOptions>;

const PROBLEM_HINTS: Record<string, string> = {
  'symlink-outside': 'Commit the notes file itself, not a symbolic link to a file outside the repository.',
  'symlink-broken': 'The symbolic link points to a file that does not exist: commit the notes file itself.',
  'too-large': 'Keep the notes to the point (a few pages); move long logs to separate files and link them.',
  'not-utf8': 'Save the file as UTF-8 (most editors: "Save with encoding" → UTF-8).',
  'too-deep': 'Flatten the deeply nested lists or blockquotes: a few levels are enough for notes.',
  timeout: 'Simplify the Markdown structure (deeply nested lists, blockquotes or emphasis) so that it can be parsed.',
};

export const notesPresent = defineCheck<DocsContext, NotesPresentOptions>({
  id: 'docs/notes-present',
  stage: 'docs',
  title: 'The architecture notes are committed where the lab asks for them',
  rationale:
    'Operators find a service’s architecture notes by convention; notes under another name or path are notes nobody reads during an incident.',
  severity: 'error',
  fixHint: [
    'Commit the notes as `architecture-notes.md` at the repository root (or in `docs/` if the lab allows it). File names are case-sensitive:',
    '',
    '```text',
    'architecture-notes.md        ✓',
    'docs/architecture-notes.md   ✓ (if allowed)',
    'Architecture-Notes.md        ✗',
    '```',
  ].join('\n'),
  docsUrl:
    'https://docs.github.com/en/get-started/writing-on-github/getting-started-with-writing-and-formatting-on-github/basic-writing-and-formatting-syntax',
  options: notesPresentOptions,
  run(context, options, reporter) {
    reporter.examine('notes');
    const notes = context.notes;
    const { settings } = context;
    const describe = (c: NotesCandidate): string =>
      c.match === 'case-variant'
        ? `${c.path}, whose name differs from ${expectedList(context)} only in letter case`
        : `${c.path}, outside the accepted locations (${expectedList(context)})`;
    const rejected = notes.location.others.filter((c) => !c.accepted);

    if (notes.status === 'missing') {
      if (rejected.length === 0) {
        reporter.report({
          message: `No architecture notes found: expected ${expectedList(context)}.`,
          location: notesLocation(context),
          subject: 'notes',
        });
      }
      for (const c of rejected) {
        reporter.report({
          message: `Found ${describe(c)}; the rubric does not accept it, so the notes count as missing: rename or move it to ${notes.location.expected[0]}.`,
          location: { file: c.path, line: 1, column: 1 },
          subject: 'notes',
        });
      }
      return;
    }

    if (notes.status === 'unreadable') {
      const hint = PROBLEM_HINTS[notes.problem];
      reporter.report({
        message: `The notes file ${notes.candidate.path} could not be used: ${notes.message}.`,
        location: notesLocation(context, notes.line ?? 1),
        subject: 'notes',
        ...(hint ? { fixHint: hint } : {}),
      });
      return;
    }

    const { candidate, document } = notes;
    if (candidate.match !== 'exact') {
      const policy = candidate.match === 'case-variant' ? settings.notes.caseVariants : settings.notes.otherLocations;
      if (policy === 'report') {
        reporter.report({
          message: `The notes were found at ${describe(candidate)}: rename or move the file to ${notes.location.expected[0]} (its content is still graded).`,
          location: { file: candidate.path, line: 1, column: 1 },
          subject: 'notes',
        });
      } else {
        reporter.evidence('placement', `${candidate.path} accepted by the rubric (${candidate.match})`);
      }
    }
    if (document.words < options.minWords) {
      reporter.report({
        message:
          document.words === 0
            ? `${candidate.path} is empty.`
            : `${candidate.path} has only ${plural(document.words, 'word')}; write your notes in it (at least ${options.minWords}).`,
        location: { file: candidate.path, line: 1, column: 1 },
        subject: 'notes',
        fixHint: 'Write the notes: the sections the lab asks for, each with a few paragraphs of your own.',
      });
    }
    for (const other of notes.location.others) {
      if (!other.accepted) continue;
      reporter.report({
        severity: 'info',
        message: `${other.path} is also a notes file; only ${candidate.path} was graded.`,
        location: { file: other.path, line: 1, column: 1 },
        subject: 'duplicate notes',
        fixHint: 'Keep one notes file so readers (and the grader) see the same thing.',
      });
    }
    for (const other of rejected) {
      reporter.report({
        severity: 'info',
        message: `${describe(other)} was ignored; only ${candidate.path} was graded.`,
        location: { file: other.path, line: 1, column: 1 },
        subject: 'duplicate notes',
        fixHint: 'Keep one notes file so readers (and the grader) see the same thing.',
      });
    }
    const bytes = Buffer.byteLength(document.text);
    reporter.evidence(
      'notes',
      `${candidate.path} (${bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KiB`}, ${plural(document.words, 'word')}, ${plural(document.headings.length, 'heading')})`,
      { file: candidate.path, line: 1, column: 1 },
    );
  },
});

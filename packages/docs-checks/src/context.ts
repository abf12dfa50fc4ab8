import type { ManifestInventory, RepoFiles } from '@labgrader/core';
import type { NotesDocument } from './markdown/document.js';
import type { NotesCandidate, NotesLocation } from './notes/locate.js';
import type { DocsSettings } from './settings.js';

export type NotesProblem =
  | 'not-found'
  | 'not-a-file'
  | 'symlink-outside'
  | 'symlink-broken'
  | 'too-large'
  | 'not-utf8'
  | 'too-deep'
  | 'timeout'
  | 'failed';

/** What `prepare` found of the notes. */
export type NotesState =
  | { status: 'missing'; location: NotesLocation }
  | {
      status: 'unreadable';
      location: NotesLocation;
      candidate: NotesCandidate;
      problem: NotesProblem;
      message: string;
      /** Where the problem is, when it is at a line (too deep nesting). */
      line?: number;
    }
  | { status: 'ok'; location: NotesLocation; candidate: NotesCandidate; document: NotesDocument };

/** What every docs check receives. */
export interface DocsContext {
  repo: RepoFiles;
  settings: DocsSettings;
  /** Kubernetes objects found by the lint stage (empty when it has not run). */
  inventory: ManifestInventory;
  notes: NotesState;
}

import type { ManifestInventory, RepoFiles } from '@labgrader/core';
import type { DiagramParse } from './diagrams/types.js';
import type { Lexicon } from './language/lexicon.js';
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
  | {
      status: 'ok';
      location: NotesLocation;
      candidate: NotesCandidate;
      document: NotesDocument;
      /** Mermaid blocks parsed by mermaid itself, by the block's start offset in the notes. */
      mermaid: ReadonlyMap<number, DiagramParse>;
    };

/** What every docs check receives. */
export interface DocsContext {
  repo: RepoFiles;
  settings: DocsSettings;
  /** Kubernetes objects found by the lint stage (empty when it has not run). */
  inventory: ManifestInventory;
  notes: NotesState;
  /** The words the checks recognise (languages and the rubric's terms). */
  lexicon: Lexicon;
  /** The stage's abort signal, for checks that use the parsing worker (images). */
  signal?: AbortSignal;
}

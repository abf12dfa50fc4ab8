export { DOCS_CHECKS } from './checks/index.js';
export { diagramEmbedded, diagramEmbeddedOptions, type DiagramEmbeddedOptions } from './checks/diagram-embedded.js';
export {
  DEFAULT_EVIDENCE_PATTERNS,
  DEFAULT_FAILURE_PARTS,
  failureAnalysis,
  failureAnalysisOptions,
  type FailureAnalysisOptions,
  type FailurePart,
} from './checks/failure-analysis.js';
export {
  manifestConsistency,
  manifestConsistencyOptions,
  type ManifestConsistencyOptions,
} from './checks/manifest-consistency.js';
export { notesPresent, notesPresentOptions, type NotesPresentOptions } from './checks/notes-present.js';
export {
  DEFAULT_PLACEHOLDERS,
  DEFAULT_SECTIONS,
  requiredSections,
  requiredSectionsOptions,
  type RequiredSectionsOptions,
  type SectionSpec,
} from './checks/required-sections.js';
export type { DocsContext, NotesProblem, NotesState } from './context.js';
export { MERMAID_VALIDATED_TYPES, parseMermaid } from './diagrams/mermaid.js';
export { parsePlantUml } from './diagrams/plantuml.js';
export type { DiagramComponent, DiagramError, DiagramParse } from './diagrams/types.js';
export { sniffImage, type ImageFormat, type ImageInfo, type SniffResult } from './images/sniff.js';
export type { NotesDocument } from './markdown/document.js';
export {
  DEFAULT_PARSE_LIMITS,
  parseMarkdown,
  scanNesting,
  type ParseLimits,
  type ParseOutcome,
} from './markdown/parse.js';
export { locateNotes, type NotesCandidate, type NotesLocation, type NotesMatch } from './notes/locate.js';
export { defaultDocsSettings, docsSettingsSchema, type DocsSettings } from './settings.js';
export { docsRegistry, docsStage, prepareDocs, type DocsStageInput } from './stage.js';

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
export { judgeFiller, type FillerVerdict } from './language/filler.js';
export { Lexicon } from './language/lexicon.js';
export { FAILURE_PARTS, foldText, TOPICS, type Topic } from './language/vocabulary.js';
export { analyseTables, type TableVerdict } from './kube/output.js';
export { nameForms, namesObject } from './kube/names.js';
export { explainSelection, selectSection, type Candidate, type Selection } from './markdown/sections.js';
export { MERMAID_VALIDATED_TYPES, parseMermaidBlocks } from './diagrams/mermaid.js';
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
export { defaultDocsSettings, docsSettingsSchema, vocabularySettingsSchema, type DocsSettings } from './settings.js';
export { docsRegistry, docsStage, prepareDocs, type DocsStageInput } from './stage.js';

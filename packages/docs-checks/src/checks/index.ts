/**
 * Every docs check, one module each in this folder. A test asserts that this
 * list and the folder's contents match, so a new check cannot be forgotten.
 */
import type { AnyCheck } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import { diagramEmbedded } from './diagram-embedded.js';
import { failureAnalysis } from './failure-analysis.js';
import { manifestConsistency } from './manifest-consistency.js';
import { notesPresent } from './notes-present.js';
import { requiredSections } from './required-sections.js';

export const DOCS_CHECKS: readonly AnyCheck<DocsContext>[] = [
  notesPresent,
  requiredSections,
  diagramEmbedded,
  failureAnalysis,
  manifestConsistency,
];

export { diagramEmbedded, failureAnalysis, manifestConsistency, notesPresent, requiredSections };

/**
 * The docs stage as the pipeline sees it: settings, the registry of checks,
 * and `prepare`, which finds the notes through the RepoFiles port, reads them
 * within the size limit and parses them with remark (bounded, see
 * markdown/parse.ts). Missing or unreadable notes are not a stage failure:
 * the context says so and every check grades a zero with a hint.
 */
import {
  CheckRegistry,
  emptyInventory,
  throwIfAborted,
  type GradingStage,
  type StageInput,
  type StagePreparation,
} from '@labgrader/core';
import { DOCS_CHECKS } from './checks/index.js';
import type { DocsContext, NotesState } from './context.js';
import { blockKey, mermaidBlocks } from './diagrams/collect.js';
import { parseMermaidBlocks } from './diagrams/mermaid.js';
import type { DiagramParse } from './diagrams/types.js';
import { Lexicon } from './language/lexicon.js';
import { buildDocument } from './markdown/document.js';
import { DEFAULT_PARSE_LIMITS, parseMarkdown } from './markdown/parse.js';
import { locateNotes } from './notes/locate.js';
import { docsSettingsSchema, type DocsSettings } from './settings.js';

export const docsRegistry = new CheckRegistry<DocsContext>('docs', DOCS_CHECKS);

export type DocsStageInput = Pick<StageInput<DocsSettings>, 'repo' | 'settings' | 'signal'> &
  Partial<Pick<StageInput<DocsSettings>, 'inventory' | 'progress'>>;

export async function prepareDocs(input: DocsStageInput): Promise<StagePreparation<DocsContext>> {
  // Idempotent: the pipeline normally passes parsed settings already.
  const settings = docsSettingsSchema.parse(input.settings ?? {});
  const { repo, signal } = input;
  throwIfAborted(signal);
  const location = await locateNotes(repo, settings.notes);
  const lexicon = new Lexicon(settings.vocabulary);
  const context = (notes: NotesState): StagePreparation<DocsContext> => ({
    context: { repo, settings, inventory: input.inventory ?? emptyInventory, notes, lexicon, signal },
  });
  const candidate = location.chosen;
  if (!candidate) return context({ status: 'missing', location });

  const read = await repo.readText(candidate.path, { maxBytes: settings.notes.maxBytes });
  if (!read.ok) {
    return context({ status: 'unreadable', location, candidate, problem: read.problem, message: read.message });
  }
  throwIfAborted(signal);
  input.progress?.(`parsing ${candidate.path}`);
  const parsed = await parseMarkdown(
    read.value,
    {
      ...DEFAULT_PARSE_LIMITS,
      timeoutMs: settings.parsing.timeoutMs,
      maxNestingDepth: settings.parsing.maxNestingDepth,
    },
    signal,
  );
  if (!parsed.ok) {
    const state: NotesState = {
      status: 'unreadable',
      location,
      candidate,
      problem: parsed.problem,
      message: parsed.message,
    };
    if (parsed.line !== undefined) state.line = parsed.line;
    return context(state);
  }
  const document = buildDocument(candidate.path, read.value, parsed.tree);
  const blocks = mermaidBlocks(document);
  const mermaid = new Map<number, DiagramParse>();
  if (blocks.length > 0) {
    input.progress?.(`checking ${blocks.length} mermaid diagram${blocks.length === 1 ? '' : 's'}`);
    const parses = await parseMermaidBlocks(
      blocks.map((b) => b.value),
      { timeoutMs: settings.parsing.diagramTimeoutMs },
      signal,
    );
    blocks.forEach((b, i) => mermaid.set(blockKey(b), parses[i]!));
  }
  return context({ status: 'ok', location, candidate, document, mermaid });
}

export const docsStage: GradingStage<DocsSettings, DocsContext> = {
  name: 'docs',
  settingsSchema: docsSettingsSchema,
  registry: docsRegistry,
  prepare: (input) => prepareDocs(input),
};

/**
 * The docs stage's settings (`stages.docs.settings` in a rubric): where the
 * notes may live and the limits that keep hostile input cheap. Every field
 * has a default, so `{}` is valid. Grading choices (sections, word counts,
 * remote images…) are options of the individual checks instead.
 */
import { z } from 'zod';
import { normalizeRepoPath } from '@labgrader/core';
import { FAILURE_PARTS, isValidPattern, TOPICS } from './language/vocabulary.js';

/** How to treat a notes file that is not exactly where the rubric says. */
export const placementPolicySchema = z
  .enum(['accept', 'report', 'reject'])
  .describe(
    'accept: grade it silently (evidence only); report: grade its content but docs/notes-present fails with a finding; reject: treat the notes as missing (the finding says where the file was found)',
  );
export type PlacementPolicy = z.infer<typeof placementPolicySchema>;

const fileName = z
  .string()
  .min(1)
  .refine((s) => !s.includes('/') && !s.includes('\\') && s !== '.' && s !== '..', 'a file name, without directories');

const directory = z
  .string()
  .refine((s) => normalizeRepoPath(s) !== undefined && !s.startsWith('/'), 'a directory inside the repository');

export const notesSettingsSchema = z.strictObject({
  /** Accepted file names, in order of preference. */
  names: z.array(fileName).min(1).default(['architecture-notes.md']),
  /** Directories searched, in order of preference (`.` is the repository root). */
  directories: z.array(directory).min(1).default(['.', 'docs']),
  /** A file whose name or directory differs only in letter case (`Architecture-Notes.md`, `Docs/`). */
  caseVariants: placementPolicySchema.default('report'),
  /** A file with an accepted name in another directory (`notes/architecture-notes.md`). */
  otherLocations: placementPolicySchema.default('report'),
  /** Larger notes are not read (a real notes file is a few kilobytes). */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(256 * 1024),
});

export const parsingSettingsSchema = z.strictObject({
  /** Wall-clock budget for parsing the notes (the parse runs in a worker that is stopped after it). */
  timeoutMs: z.number().int().positive().default(8_000),
  /** Lists/blockquotes nested deeper than this are refused before parsing. */
  maxNestingDepth: z.number().int().positive().default(32),
  /** Budget for checking every Mermaid block with mermaid's own parser (in the worker; includes loading it). */
  diagramTimeoutMs: z.number().int().positive().default(20_000),
});

export const imageSettingsSchema = z.strictObject({
  /** Images checked per notes file (each file is read once); the rest are reported as not checked. */
  maxCount: z.number().int().positive().default(50),
  /** Images larger than this are not read (and reported). */
  maxBytes: z
    .number()
    .int()
    .positive()
    .default(10 * 1024 * 1024),
  /** Raster images with more pixels than this are not decoded (their content is reported as not inspected). */
  maxPixels: z.number().int().positive().default(16_000_000),
});

const term = z.string().min(1).refine(isValidPattern, 'a valid regular expression');
const language = z.string().regex(/^[a-z]{2,3}(-[a-z0-9]+)?$/, 'a language code such as en, fr, de');
const termsByLanguage = z.record(language, z.array(term));

/**
 * The words the checks recognise (see language/vocabulary.ts): which built-in
 * languages are on, and a rubric's own terms per topic and language (whole
 * words, regular expressions, matched on text in lower case without accents).
 * A language added here needs its own terms: e.g.
 * `{ languages: [en, fr, de], headings: { failure: { de: [ausfall\\p{L}*] } } }`.
 */
export const vocabularySettingsSchema = z.strictObject({
  languages: z.array(language).min(1).default(['en', 'fr']),
  /** Section headings and part labels, by topic. */
  headings: z.partialRecord(z.enum(TOPICS), termsByLanguage).default({}),
  /** Words that tell each part of a failure story in prose. */
  story: z.partialRecord(z.enum(FAILURE_PARTS), termsByLanguage).default({}),
  /** Template text (matched case-insensitively on the prose as written). */
  placeholders: termsByLanguage.default({}),
});

export const docsSettingsSchema = z.strictObject({
  notes: notesSettingsSchema.prefault({}),
  parsing: parsingSettingsSchema.prefault({}),
  images: imageSettingsSchema.prefault({}),
  vocabulary: vocabularySettingsSchema.prefault({}),
});

export type DocsSettings = z.infer<typeof docsSettingsSchema>;
export type NotesSettings = z.infer<typeof notesSettingsSchema>;
export type VocabularySettings = z.infer<typeof vocabularySettingsSchema>;

export const defaultDocsSettings: DocsSettings = docsSettingsSchema.parse({});

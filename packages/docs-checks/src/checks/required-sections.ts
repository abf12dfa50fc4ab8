import { z } from 'zod';
import { defineCheck, type CheckReporter } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import { FailureReader } from '../failure/parts.js';
import { DEFAULT_FILLER, judgeFiller } from '../language/filler.js';
import {
  HEADING_TERMS,
  PLACEHOLDER_TERMS,
  TermMatcher,
  foldText,
  isValidPattern,
  type Topic,
} from '../language/vocabulary.js';
import { compilePatterns, countWords, proseSegments, sectionBody, type HeadingInfo } from '../markdown/document.js';
import { explainSelection, selectSection, type Selection } from '../markdown/sections.js';
import { documentOf, lineWithin, notesLocation, notesUnavailable, plural, quote } from './shared.js';

export const patternSchema = z.string().min(1).refine(isValidPattern, 'a valid regular expression');

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The topics a required section can be about (the built-in vocabulary of headings). */
export const SECTION_TOPICS = [
  'architecture',
  'components',
  'configuration',
  'resources',
  'failure',
  'rollback',
] as const;

/** The topic a section title names ("Controlled failure analysis" → failure), when exactly one is named most. */
export function topicOfTitle(title: string): Topic | undefined {
  const folded = foldText(title);
  const counts = SECTION_TOPICS.map((topic) => ({
    topic,
    hits: new TermMatcher(HEADING_TERMS[topic], Object.keys(HEADING_TERMS[topic])).all(folded).length,
  })).sort((a, b) => b.hits - a.hits);
  const [best, second] = counts;
  return best && best.hits > 0 && best.hits > (second?.hits ?? 0) ? best.topic : undefined;
}

export const sectionSpecSchema = z
  .strictObject({
    /** Shown in findings ("Rollback plan"). */
    title: z.string().min(1),
    /**
     * The built-in vocabulary of headings to recognise the section by, in
     * every configured language (default: the topic the title names, e.g.
     * "Rollback plan" → rollback). `false`: only `patterns`.
     */
    topic: z.union([z.enum(SECTION_TOPICS), z.literal(false)]).optional(),
    /**
     * More headings, as case-insensitive regular expressions that must start
     * at a word ("fail" matches "Failure", never "default"). Default: none
     * when there is a topic, else the title itself.
     */
    patterns: z.array(patternSchema).min(1).optional(),
    /** Words of prose (code blocks, HTML, template text and filler excluded) the section needs. */
    minWords: z.number().int().min(0).default(30),
  })
  .transform((s) => {
    const topic = s.topic === false ? undefined : (s.topic ?? topicOfTitle(s.title));
    return {
      title: s.title,
      ...(topic ? { topic } : {}),
      patterns: s.patterns ?? (topic ? [] : [escapeRegExp(s.title)]),
      minWords: s.minWords,
    };
  });
export type SectionSpec = z.infer<typeof sectionSpecSchema>;

export const DEFAULT_SECTIONS: z.input<typeof sectionSpecSchema>[] = [
  { title: 'Architecture', minWords: 40 },
  { title: 'Components', minWords: 30 },
  { title: 'Configuration and secrets', minWords: 30 },
  { title: 'Resource limits and probes', minWords: 30 },
  { title: 'Controlled failure analysis', minWords: 60 },
  { title: 'Rollback plan', minWords: 30 },
];

/** The built-in template text in English (the vocabulary adds French and a rubric's languages). */
export const DEFAULT_PLACEHOLDERS: readonly string[] = PLACEHOLDER_TERMS.en ?? [];

export const fillerOptions = z.strictObject({
  /** Below this word variety (moving-average type/token ratio, 0–1) the prose is filler. */
  minVariety: z.number().min(0).max(1).default(DEFAULT_FILLER.minVariety),
  /** Above this share of repeated three-word phrases the prose is filler. */
  maxRepetition: z.number().min(0).max(1).default(DEFAULT_FILLER.maxRepetition),
  /** Above this share of lorem ipsum words the prose is filler. */
  maxLoremShare: z.number().min(0).max(1).default(DEFAULT_FILLER.maxLoremShare),
  /** Texts shorter than this are not judged. */
  minWords: z.number().int().min(1).default(DEFAULT_FILLER.minWords),
});

export const requiredSectionsOptions = z.strictObject({
  sections: z
    .array(sectionSpecSchema)
    .min(1)
    .default(DEFAULT_SECTIONS.map((s) => sectionSpecSchema.parse(s))),
  /** Template text besides the built-in one (regular expressions, case-insensitive). */
  placeholders: z.array(patternSchema).default([]),
  filler: fillerOptions.prefault({}),
});
export type RequiredSectionsOptions = z.infer<typeof requiredSectionsOptions>;

export interface PlaceholderHit {
  text: string;
  line: number;
}

/**
 * Placeholder matches in some segments (overlapping matches of different
 * patterns count once); HTML comments are invisible to readers and skipped.
 * Also returns the prose left once the placeholders are removed.
 */
export function findPlaceholders(
  segments: ReturnType<typeof proseSegments>,
  placeholders: readonly RegExp[],
): { hits: PlaceholderHit[]; cleaned: string } {
  const hits: PlaceholderHit[] = [];
  let cleanedText = '';
  for (const segment of segments) {
    const value =
      segment.kind === 'html'
        ? segment.value.replace(/<!--[\s\S]*?-->/g, (m) => m.replace(/[^\n]/g, ' '))
        : segment.value;
    const ranges: { start: number; end: number }[] = [];
    for (const re of placeholders) {
      const global = new RegExp(re.source, `${re.flags.replace('g', '')}g`);
      for (const m of value.matchAll(global)) {
        if (m[0].length > 0) ranges.push({ start: m.index, end: m.index + m[0].length });
      }
    }
    ranges.sort((a, b) => a.start - b.start || b.end - a.end);
    let cleaned = '';
    let last = 0;
    for (const r of ranges) {
      if (r.start < last) continue; // overlaps a previous match
      hits.push({ text: value.slice(r.start, r.end), line: lineWithin(value, r.start, segment.line) });
      cleaned += `${value.slice(last, r.start)} `;
      last = r.end;
    }
    cleaned += value.slice(last);
    if (segment.kind !== 'html') cleanedText += `${cleaned}\n`;
  }
  return { hits, cleaned: cleanedText };
}

/** The finding that says a section was chosen by its content, not its heading. */
export function reviewOfContentSelection(selection: Selection, what: string): string | undefined {
  const chosen = selection.chosen;
  if (!selection.byContent || !chosen) return undefined;
  return `the ${what} was recognised by its content (${chosen.content?.reasons.join(', ') ?? 'its content'}) under the heading '${quote(chosen.heading.text, 50)}', which does not name it: check that this is the section meant.`;
}

function reportReview(
  reporter: CheckReporter,
  file: string,
  selection: Selection,
  title: string,
  review: string,
): void {
  const heading = selection.chosen!.heading;
  reporter.report({
    severity: 'info',
    subject: `${title} (review)`,
    message: `The '${title}' section was taken to be '${quote(heading.text, 50)}' (line ${heading.line}) because of its content; its heading does not say so.`,
    location: { file, line: heading.line, column: heading.column },
    review,
    fixHint: `Give the section a heading that names it, e.g. "## ${title}".`,
  });
}

export const requiredSections = defineCheck<DocsContext, RequiredSectionsOptions>({
  id: 'docs/required-sections',
  stage: 'docs',
  title: 'The notes have every required section, each with real content',
  rationale:
    'An on-call engineer needs the architecture, configuration, limits, failure behaviour and rollback plan written down before the incident, not a template with headings.',
  severity: 'error',
  fixHint: [
    'Give each required topic its own heading and a few paragraphs in your own words (English or French), for example:',
    '',
    '```markdown',
    '## Rollback plan',
    '',
    'Every release is a new image tag. If the new ReplicaSet does not become ready,',
    '`kubectl rollout undo deployment/web -n lab85` returns to the previous revision;',
    'we keep 5 revisions (revisionHistoryLimit) and check `kubectl rollout status` afterwards.',
    '```',
  ].join('\n'),
  docsUrl: 'https://www.markdownguide.org/basic-syntax/#headings',
  options: requiredSectionsOptions,
  run(context, options, reporter) {
    const titles = options.sections.map((s) => s.title);
    const doc = documentOf(context);
    if (!doc) return notesUnavailable(context, reporter, titles, 'the required sections');
    const { lexicon } = context;
    const placeholders = [...lexicon.placeholders, ...compilePatterns(options.placeholders)];
    const reader = new FailureReader(doc, lexicon, context.inventory.objects);
    const selections = options.sections.map((spec) =>
      selectSection(doc, lexicon, {
        ...(spec.topic ? { topic: spec.topic } : {}),
        patterns: spec.patterns,
        ...(spec.topic === 'failure' ? { judge: reader.judge() } : {}),
      }),
    );
    const claimed = new Set(
      selections
        .map((s) => s.chosen?.heading)
        .filter((h): h is HeadingInfo => h !== undefined)
        .map((h) => h.index),
    );
    options.sections.forEach((spec, i) => {
      reporter.examine(spec.title);
      const selection = selections[i]!;
      const heading = selection.chosen?.heading;
      if (!heading) {
        const looked = [
          ...(spec.topic ? [`about ${spec.topic} (${lexicon.languages.join(', ')})`] : []),
          ...(spec.patterns.length > 0 ? [`matching ${spec.patterns.map((p) => `/${p}/`).join(', ')}`] : []),
        ];
        reporter.report({
          message: `The notes have no '${spec.title}' section (no heading ${looked.join(' or ')}).`,
          location: notesLocation(context),
          subject: spec.title,
        });
        return;
      }
      reporter.evidence(spec.title, explainSelection(selection), {
        file: doc.path,
        line: heading.line,
        column: heading.column,
      });
      const review = reviewOfContentSelection(selection, `'${spec.title}' section`);
      const exclude = new Set([...claimed].filter((index) => index !== heading.index));
      const segments = proseSegments(sectionBody(doc, heading, exclude), { includeHtml: true });
      const { hits, cleaned } = findPlaceholders(segments, placeholders);
      const location = { file: doc.path, line: heading.line, column: heading.column };
      const named = heading.text === spec.title ? `'${spec.title}'` : `'${spec.title}' ('${quote(heading.text, 40)}')`;
      let failed = false;
      const byLine = new Map<number, string[]>();
      for (const hit of hits) {
        const texts = byLine.get(hit.line) ?? [];
        if (!texts.some((t) => t.toLowerCase() === hit.text.toLowerCase())) texts.push(hit.text);
        byLine.set(hit.line, texts);
      }
      for (const [line, texts] of byLine) {
        failed = true;
        reporter.report({
          message: `The '${spec.title}' section still contains template text (${texts.map((t) => `'${quote(t, 40)}'`).join(', ')}): replace it with your own notes.`,
          location: { file: doc.path, line, column: 1 },
          subject: spec.title,
        });
      }
      const filler = judgeFiller(cleaned, options.filler);
      const words = filler.filler ? 0 : countWords(cleaned);
      if (filler.filler) {
        failed = true;
        reporter.report({
          message: `The ${named} section is filler, not notes: its text ${filler.reason}. Write what you built and why, in your own words.`,
          location,
          subject: spec.title,
        });
      } else if (words < spec.minWords) {
        failed = true;
        reporter.report({
          message:
            words === 0
              ? `The ${named} section is only a heading: write at least ${plural(spec.minWords, 'word')} of your own.`
              : `The ${named} section has ${plural(words, 'word')} of prose; write at least ${spec.minWords}.`,
          location,
          subject: spec.title,
          ...(review ? { review } : {}),
        });
      }
      if (review && !failed) reportReview(reporter, doc.path, selection, spec.title, review);
    });
  },
});

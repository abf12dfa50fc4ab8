import { z } from 'zod';
import type { CheckDefinition, Finding } from '@labgrader/core';
import type { DocsContext } from '../context.js';
import {
  compilePatterns,
  countWords,
  findSection,
  isValidPattern,
  proseSegments,
  sectionBody,
  type HeadingInfo,
} from '../markdown/document.js';
import { documentOf, lineWithin, makeFinding, notesLocation, notesUnavailable, plural, quote } from './shared.js';

export const patternSchema = z.string().min(1).refine(isValidPattern, 'a valid regular expression');

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export const sectionSpecSchema = z
  .strictObject({
    /** Shown in findings ("Rollback plan"). */
    title: z.string().min(1),
    /**
     * Case-insensitive regular expressions tested against each heading (as
     * written, and normalised: lower case, punctuation → spaces, leading
     * numbering removed). Default: the title itself.
     */
    patterns: z.array(patternSchema).min(1).optional(),
    /** Words of prose (code blocks, HTML and template text excluded) the section needs. */
    minWords: z.number().int().min(0).default(30),
  })
  .transform((s) => ({ ...s, patterns: s.patterns ?? [escapeRegExp(s.title)] }));
export type SectionSpec = z.infer<typeof sectionSpecSchema>;

export const DEFAULT_SECTIONS: z.input<typeof sectionSpecSchema>[] = [
  { title: 'Architecture', patterns: ['architect', 'overview', 'design', 'system context'], minWords: 40 },
  { title: 'Components', patterns: ['component', 'workload', 'building blocks', 'what runs'], minWords: 30 },
  {
    title: 'Configuration and secrets',
    patterns: ['config', 'secret', 'environment variables', 'settings', 'credentials'],
    minWords: 30,
  },
  {
    title: 'Resource limits and probes',
    patterns: [
      'resource',
      'limits',
      'requests',
      'probe',
      'health ?checks?',
      'liveness',
      'readiness',
      'capacity',
      'sizing',
    ],
    minWords: 30,
  },
  {
    title: 'Controlled failure analysis',
    patterns: ['fail', 'chaos', 'incident', 'outage', 'fault', 'post ?mortem', 'drill', 'disaster'],
    minWords: 60,
  },
  {
    title: 'Rollback plan',
    patterns: ['roll ?back', 'revert', 'undo', 'recovery plan', 'rollout strategy'],
    minWords: 30,
  },
];

/**
 * Template text that must not survive into a submission. Tested against the
 * prose of each required section (and inline HTML, where `<fill in>` ends up).
 */
export const DEFAULT_PLACEHOLDERS: string[] = [
  '\\bTODO\\b',
  '\\bTBD\\b',
  '\\bFIXME\\b',
  '\\blorem ipsum\\b',
  '\\b(describe|explain|list|summari[sz]e|document|outline) (your|here)\\b',
  // Instructions left at the start of a sentence: "Describe the failure you injected…"
  '(?:^|(?<=[.!?:]\\s+))(describe|explain|list|summari[sz]e|outline|document) (the|how|what|why|which|any)\\b',
  '\\b(write|add|insert|put) (your|the) [^.\\n]{0,40}\\bhere\\b',
  '\\byour (text|answer|content|description|notes?) (goes )?here\\b',
  '<\\s*(fill[ -]?in|insert|add|your|describe|todo|tbd|placeholder)\\b[^>]{0,200}>',
  '\\[\\s*(fill[ -]?in|insert|your|todo|tbd|placeholder)\\b[^\\]]{0,200}\\]',
  '\\{\\{[^}]{0,200}\\}\\}',
  '\\bfill (this |me )?in\\b',
  '\\bplaceholder\\b',
  '\\bcoming soon\\b',
];

export const requiredSectionsOptions = z.strictObject({
  sections: z
    .array(sectionSpecSchema)
    .min(1)
    .default(DEFAULT_SECTIONS.map((s) => sectionSpecSchema.parse(s))),
  placeholders: z.array(patternSchema).default(DEFAULT_PLACEHOLDERS),
});
export type RequiredSectionsOptions = z.infer<typeof requiredSectionsOptions>;

export interface PlaceholderHit {
  text: string;
  line: number;
}

/**
 * Placeholder matches in some segments (overlapping matches of different
 * patterns count once); HTML comments are invisible to readers and skipped.
 * Also returns the words left once the placeholders are removed.
 */
export function findPlaceholders(
  segments: ReturnType<typeof proseSegments>,
  placeholders: readonly RegExp[],
): { hits: PlaceholderHit[]; cleanedWords: number } {
  const hits: PlaceholderHit[] = [];
  let cleanedWords = 0;
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
    if (segment.kind !== 'html') cleanedWords += countWords(cleaned);
  }
  return { hits, cleanedWords };
}

export const requiredSections: CheckDefinition<DocsContext, RequiredSectionsOptions> = {
  id: 'docs/required-sections',
  stage: 'docs',
  title: 'The notes have every required section, each with real content',
  rationale:
    'An on-call engineer needs the architecture, configuration, limits, failure behaviour and rollback plan written down before the incident, not a template with headings.',
  severity: 'error',
  fixHint: [
    'Give each required topic its own heading and a few paragraphs in your own words, for example:',
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
  check(context, options) {
    const meta = requiredSections;
    const doc = documentOf(context);
    if (!doc) return notesUnavailable(meta, context, options.sections.length, 'the required sections');
    const placeholders = compilePatterns(options.placeholders);
    const matches: (HeadingInfo | undefined)[] = options.sections.map((spec) =>
      findSection(doc, compilePatterns(spec.patterns)),
    );
    const claimed = new Set(matches.filter((h): h is HeadingInfo => h !== undefined).map((h) => h.index));
    const findings: Finding[] = [];
    let passed = 0;
    options.sections.forEach((spec, i) => {
      const heading = matches[i];
      if (!heading) {
        findings.push(
          makeFinding(meta, {
            message: `The notes have no '${spec.title}' section (no heading matching ${spec.patterns.map((p) => `/${p}/`).join(', ')}).`,
            location: notesLocation(context),
            subject: spec.title,
          }),
        );
        return;
      }
      const exclude = new Set([...claimed].filter((index) => index !== heading.index));
      const segments = proseSegments(sectionBody(doc, heading, exclude), { includeHtml: true });
      const { hits, cleanedWords } = findPlaceholders(segments, placeholders);
      const location = { file: doc.path, line: heading.line, column: heading.column };
      let ok = true;
      const byLine = new Map<number, string[]>();
      for (const hit of hits) {
        const texts = byLine.get(hit.line) ?? [];
        if (!texts.some((t) => t.toLowerCase() === hit.text.toLowerCase())) texts.push(hit.text);
        byLine.set(hit.line, texts);
      }
      for (const [line, texts] of byLine) {
        ok = false;
        findings.push(
          makeFinding(meta, {
            message: `The '${spec.title}' section still contains template text (${texts.map((t) => `'${quote(t, 40)}'`).join(', ')}): replace it with your own notes.`,
            location: { file: doc.path, line, column: 1 },
            subject: spec.title,
          }),
        );
      }
      if (cleanedWords < spec.minWords) {
        ok = false;
        const named =
          heading.text === spec.title ? `'${spec.title}'` : `'${spec.title}' ('${quote(heading.text, 40)}')`;
        findings.push(
          makeFinding(meta, {
            message:
              cleanedWords === 0
                ? `The ${named} section is only a heading: write at least ${plural(spec.minWords, 'word')} of your own.`
                : `The ${named} section has ${plural(cleanedWords, 'word')} of prose; write at least ${spec.minWords}.`,
            location,
            subject: spec.title,
          }),
        );
      }
      if (ok) passed += 1;
    });
    return { findings, examined: options.sections.length, passed };
  },
};

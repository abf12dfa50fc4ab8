/**
 * The four parts of a failure story (what was done, what was seen, how it
 * recovered, what was learned), found in a section by a sub-heading, a
 * labelled paragraph ("**Recovery:**", "Ce que j'ai observé :") or, failing
 * both, by the words that tell it in prose; and the failure-analysis judge
 * that section selection uses, shared by docs/required-sections and
 * docs/failure-analysis so that both agree on which section it is.
 */
import type { Nodes } from 'mdast';
import type { KubeObjectRef } from '@labgrader/core';
import type { Lexicon } from '../language/lexicon.js';
import { FAILURE_PARTS, foldHeading, foldText, TermMatcher } from '../language/vocabulary.js';
import {
  countWords,
  plainText,
  proseSegments,
  sectionBody,
  subheadings,
  walk,
  type HeadingInfo,
  type NotesDocument,
} from '../markdown/document.js';
import type { ContentJudge } from '../markdown/sections.js';
import { analyseFailureContent, scoreFailureContent, type FailureContent } from './content.js';

export interface PartSpec {
  id: string;
  title: string;
  /** A rubric's own heading/label patterns (word-start regular expressions). */
  patterns: readonly string[];
  /** A rubric's own story words (whole-word regular expressions on folded text). */
  keywords: readonly string[];
}

export interface PartDetection {
  how: string;
  line: number;
}

export interface PartRules {
  minKeywordHits: number;
  minPartWords: number;
}

export const DEFAULT_PART_RULES: PartRules = { minKeywordHits: 2, minPartWords: 5 };

const CONTAINERS = new Set(['list', 'listItem', 'blockquote']);

export interface LabelledBlock {
  label: string;
  /** The text after the label, up to the next label of the paragraph. */
  rest: string;
  line: number;
}

/**
 * A label where a paragraph, a line or a sentence starts: a few words and a
 * colon ("… une fois prêt. Leçon apprise : avec …"). French puts a space,
 * often a no-break one, before the colon.
 */
const COLON_LABEL = /(?:^|(?<=\n)|(?<=[.!?;]\s))[ \t]*([^:.!?;\n]{1,60}?)\s?:\s/gu;

/** Whether `at` starts the text, a line or a sentence (looking back over blanks only: linear). */
function startsSentence(text: string, at: number): boolean {
  let i = at - 1;
  while (i >= 0 && (text[i] === ' ' || text[i] === '\t' || text[i] === '\u00a0')) i--;
  return i < 0 || text[i] === '\n' || (i < at - 1 && '.!?;'.includes(text[i]!));
}

/**
 * Labelled blocks of a section: paragraphs that start with a label
 * ("**Recovery:**", "Recovery:") and, inside a paragraph, the labels that
 * start a line or a sentence. A label inside a paragraph counts only when
 * `isLabel` accepts it (folded), so that "… at 10:00. Note: …" neither is a
 * part nor ends the text of the label before it.
 */
export function labelledBlocks(
  nodes: readonly Nodes[],
  isLabel: (folded: string) => boolean = () => false,
): LabelledBlock[] {
  const out: LabelledBlock[] = [];
  walk(
    nodes,
    (node) => {
      if (node.type !== 'paragraph') return;
      // The paragraph's text, with where each child starts (for lines and for bold labels).
      let text = '';
      const starts: { at: number; line: number; node: Nodes }[] = [];
      for (const child of node.children) {
        starts.push({
          at: text.length,
          line: child.position?.start.line ?? node.position?.start.line ?? 1,
          node: child,
        });
        text += child.type === 'break' ? '\n' : plainText(child);
      }
      const found: { start: number; end: number; label: string }[] = [];
      starts.forEach(({ at, node: child }, i) => {
        if (child.type !== 'strong' && child.type !== 'emphasis') return;
        if (i > 0 && !startsSentence(text, at)) return;
        const label = plainText(child)
          .replace(/[:\s]+$/, '')
          .trim();
        if (label && countWords(label) <= 7) found.push({ start: at, end: at + plainText(child).length, label });
      });
      for (const m of text.matchAll(COLON_LABEL)) {
        const label = m[1]!.trim();
        if (!label || countWords(label) > 7) continue;
        const start = m.index + m[0].indexOf(m[1]!);
        found.push({ start, end: m.index + m[0].length, label });
      }
      found.sort((a, b) => a.start - b.start || b.end - a.end);
      const first = text.length - text.trimStart().length;
      const kept: typeof found = [];
      for (const f of found) {
        if (kept.length > 0 && f.start < kept[kept.length - 1]!.end) continue;
        if (f.start === first || isLabel(foldText(f.label))) kept.push(f);
      }
      kept.forEach((f, i) => {
        const rest = text
          .slice(f.end, kept[i + 1]?.start ?? text.length)
          .replace(/^[\s:–—-]+/, '')
          .replace(/\s+/g, ' ')
          .trim();
        const from = [...starts].reverse().find((s) => s.at <= f.start) ?? starts[0]!;
        const line = from.line + (text.slice(from.at, f.start).match(/\n/g)?.length ?? 0);
        out.push({ label: f.label, rest, line });
      });
    },
    (node) => !CONTAINERS.has(node.type) && node.type !== 'paragraph' && node.type !== 'root',
  );
  return out;
}

/**
 * The parts a heading or a label names. A term inside a longer term of
 * another part does not count: "Retour d'expérience" is what was learned,
 * not the "expérience" that was performed.
 */
function partsNamed(matchers: readonly TermMatcher[], folded: string): Set<number> {
  const spans = matchers.map((m) => m.all(folded).map((h) => [h.index, h.index + h.text.length] as const));
  const inside = (i: number, [s, e]: readonly [number, number]): boolean =>
    spans.some((other, j) => j !== i && other.some(([os, oe]) => os <= s && oe >= e && oe - os > e - s));
  const out = new Set<number>();
  spans.forEach((own, i) => {
    if (own.some((span) => !inside(i, span))) out.add(i);
  });
  return out;
}

const quote40 = (text: string): string => {
  const one = text.replace(/\s+/g, ' ').trim();
  return one.length > 40 ? `${one.slice(0, 39)}…` : one;
};

export function detectParts(
  doc: NotesDocument,
  section: HeadingInfo,
  parts: readonly PartSpec[],
  lexicon: Lexicon,
  rules: PartRules,
  content: FailureContent,
): Map<string, PartDetection> {
  const found = new Map<string, PartDetection>();
  const subs = subheadings(doc, section);
  // Sub-headings and labels are recognised by the same words, in every configured language.
  const matchers = parts.map((part) =>
    (FAILURE_PARTS as readonly string[]).includes(part.id)
      ? lexicon.heading(part.id as (typeof FAILURE_PARTS)[number], part.patterns)
      : new TermMatcher({}, [], part.patterns),
  );
  const labels = labelledBlocks(sectionBody(doc, section), (folded) => matchers.some((m) => m.test(folded)));
  const subParts = subs.map((sub) => partsNamed(matchers, foldHeading(sub.text)));
  const labelParts = labels.map((block) => partsNamed(matchers, foldText(block.label)));
  // Template text after a heading or a label is not the part ("Leçon apprise : à compléter").
  const placeholders = lexicon.placeholders.map((re) => new RegExp(re.source, 'giu'));
  const realWords = (text: string): number => countWords(placeholders.reduce((t, re) => t.replace(re, ' '), text));
  parts.forEach((part, i) => {
    const builtIn = (FAILURE_PARTS as readonly string[]).includes(part.id);
    let detection: PartDetection | undefined;
    for (const [k, sub] of subs.entries()) {
      if (!subParts[k]!.has(i)) continue;
      const prose = proseSegments(sectionBody(doc, sub)).reduce((n, s) => n + realWords(s.value), 0);
      const hasCode = sectionBody(doc, sub).some((n) => n.type === 'code');
      if (prose >= rules.minPartWords || hasCode) {
        detection = { how: `sub-heading '${quote40(sub.text)}'`, line: sub.line };
        break;
      }
    }
    if (!detection) {
      for (const [k, block] of labels.entries()) {
        if (labelParts[k]!.has(i) && realWords(block.rest) >= rules.minPartWords) {
          detection = { how: `label '${quote40(block.label)}'`, line: block.line };
          break;
        }
      }
    }
    if (!detection && !content.filler.filler) {
      const hits = new Map<string, number>();
      const story = builtIn ? lexicon.story(part.id as (typeof FAILURE_PARTS)[number]).all(content.folded) : [];
      const extra = new TermMatcher({ rubric: part.keywords }, ['rubric']).all(content.folded);
      for (const hit of [...story, ...extra].sort((a, b) => a.index - b.index)) {
        if (!hits.has(hit.text)) hits.set(hit.text, hit.index);
      }
      if (hits.size >= rules.minKeywordHits) {
        const first = [...hits.entries()];
        detection = {
          how: `keywords ${first
            .slice(0, 4)
            .map(([w]) => `'${w}'`)
            .join(', ')}`,
          line: content.foldedLine(first[0]![1]),
        };
      }
    }
    if (detection) found.set(part.id, detection);
  });
  return found;
}

export const STANDARD_PARTS: PartSpec[] = [
  { id: 'performed', title: 'which failure was performed and how', patterns: [], keywords: [] },
  { id: 'observed', title: 'what was observed (pod status, events, errors)', patterns: [], keywords: [] },
  { id: 'recovery', title: 'how the service recovered', patterns: [], keywords: [] },
  { id: 'learned', title: 'what was learned', patterns: [], keywords: [] },
];

/** A section's failure content, computed once per heading. */
export class FailureReader {
  private readonly cache = new Map<number, { content: FailureContent; parts: Map<string, PartDetection> }>();

  constructor(
    private readonly doc: NotesDocument,
    private readonly lexicon: Lexicon,
    private readonly objects: readonly KubeObjectRef[],
  ) {}

  read(heading: HeadingInfo): { content: FailureContent; parts: Map<string, PartDetection> } {
    let entry = this.cache.get(heading.index);
    if (!entry) {
      const content = analyseFailureContent(sectionBody(this.doc, heading), this.lexicon, this.objects, heading.line);
      const parts = detectParts(this.doc, heading, STANDARD_PARTS, this.lexicon, DEFAULT_PART_RULES, content);
      entry = { content, parts };
      this.cache.set(heading.index, entry);
    }
    return entry;
  }

  /** The section-selection judge for the failure analysis. */
  judge(): (heading: HeadingInfo) => ContentJudge {
    return (heading) => {
      const { content, parts } = this.read(heading);
      const scored = scoreFailureContent(content, parts.size);
      return { score: scored.score, reasons: scored.reasons, sufficient: scored.looksLikeFailureAnalysis };
    };
  }
}

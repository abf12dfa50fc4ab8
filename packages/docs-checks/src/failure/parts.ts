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

/** Paragraph-level blocks of a section with their leading label ("**Recovery:**", "Recovery:"), if any. */
export function labelledBlocks(nodes: readonly Nodes[]): { label: string; rest: string; line: number }[] {
  const out: { label: string; rest: string; line: number }[] = [];
  walk(
    nodes,
    (node) => {
      if (node.type !== 'paragraph') return;
      const text = plainText(node).replace(/\s+/g, ' ').trim();
      const first = node.children[0];
      let label: string | undefined;
      if (first && (first.type === 'strong' || first.type === 'emphasis')) label = plainText(first);
      else {
        const colon = /^([^:.!?]{1,60})\s?:\s/.exec(text);
        if (colon && countWords(colon[1]!) <= 7) label = colon[1]!;
      }
      if (label === undefined) return;
      const rest = text.slice(text.indexOf(label) + label.length).replace(/^[\s:–—-]+/, '');
      out.push({ label: label.replace(/[:\s]+$/, ''), rest, line: node.position?.start.line ?? 1 });
    },
    (node) => !CONTAINERS.has(node.type) && node.type !== 'paragraph' && node.type !== 'root',
  );
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
  const labels = labelledBlocks(sectionBody(doc, section));
  for (const part of parts) {
    const builtIn = (FAILURE_PARTS as readonly string[]).includes(part.id);
    const labelsOf = builtIn
      ? lexicon.heading(part.id as (typeof FAILURE_PARTS)[number], part.patterns)
      : new TermMatcher({}, [], part.patterns);
    let detection: PartDetection | undefined;
    for (const sub of subs) {
      if (!labelsOf.test(foldHeading(sub.text))) continue;
      const words = proseSegments(sectionBody(doc, sub)).reduce((n, s) => n + countWords(s.value), 0);
      const hasCode = sectionBody(doc, sub).some((n) => n.type === 'code');
      if (words >= rules.minPartWords || hasCode) {
        detection = { how: `sub-heading '${quote40(sub.text)}'`, line: sub.line };
        break;
      }
    }
    if (!detection) {
      for (const block of labels) {
        if (labelsOf.test(foldText(block.label)) && countWords(block.rest) >= rules.minPartWords) {
          detection = { how: `label '${quote40(block.label)}'`, line: block.line };
          break;
        }
      }
    }
    if (!detection && !content.filler.filler) {
      const words = new Map<string, number>();
      const story = builtIn ? lexicon.story(part.id as (typeof FAILURE_PARTS)[number]).all(content.folded) : [];
      const extra = new TermMatcher({ rubric: part.keywords }, ['rubric']).all(content.folded);
      for (const hit of [...story, ...extra].sort((a, b) => a.index - b.index)) {
        if (!words.has(hit.text)) words.set(hit.text, hit.index);
      }
      if (words.size >= rules.minKeywordHits) {
        const hits = [...words.entries()];
        detection = {
          how: `keywords ${hits
            .slice(0, 4)
            .map(([w]) => `'${w}'`)
            .join(', ')}`,
          line: content.foldedLine(hits[0]![1]),
        };
      }
    }
    if (detection) found.set(part.id, detection);
  }
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

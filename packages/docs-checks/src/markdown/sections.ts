/**
 * Which section of the notes is "the Architecture section" or "the failure
 * analysis"? Not the first heading that contains a word: every heading of the
 * notes is a candidate, scored on
 *
 *  - its heading: a term of the topic in any configured language, as whole
 *    words (`fault` never matches "default"); a heading that is only the
 *    topic ("Architecture", "Analyse de panne") beats one that also names
 *    something else ("Architecture diagram"); a question ("Is a Secret
 *    encrypted by default?", "What would happen if the node failed?") is
 *    not a section title and loses points;
 *  - its length in words of prose (a 300-word section beats a 10-word one);
 *  - for topics that have one, its content (for the failure analysis:
 *    kubectl commands and output, events, timings, the words of the failure
 *    story; a hypothetical text loses points). Content can select a section
 *    whose heading the vocabulary does not know ("Required Break and
 *    Analysis"): the selection then says so, for an instructor to confirm.
 *
 * The best candidate is graded, and `explain` says which and why.
 */
import type { Lexicon } from '../language/lexicon.js';
import { foldHeading, TermMatcher, type Topic } from '../language/vocabulary.js';
import {
  countWords,
  proseSegments,
  sectionBody,
  sectionEnd,
  type HeadingInfo,
  type NotesDocument,
} from './document.js';

export interface ContentJudge {
  score: number;
  reasons: string[];
  /** Content alone makes this section the topic's section. */
  sufficient: boolean;
}

export interface SectionQuery {
  /** Built-in vocabulary (undefined: only `patterns`). */
  topic?: Topic;
  /** A rubric's own patterns (word-start regular expressions). */
  patterns?: readonly string[];
  /** Scores a candidate's content (whole section, subsections included). */
  judge?: (heading: HeadingInfo) => ContentJudge;
}

export interface Candidate {
  heading: HeadingInfo;
  match: 'exact' | 'words' | 'none';
  /** The heading words that matched. */
  term?: string;
  question: boolean;
  words: number;
  content?: ContentJudge;
  score: number;
}

export interface Selection {
  chosen?: Candidate;
  /** True when the chosen section's heading does not name the topic: its content did. */
  byContent: boolean;
  /** Other candidates, best first. */
  others: Candidate[];
}

/** Words a section title may add to its topic and still be "only the topic". */
const TITLE_FILLER = new Set(
  (
    'the a an our my of and for in on with notes note section plan analysis strategy details overview summary ' +
    'controlled required lab my le la les l de du des d et un une notre nos mon ma mes pour sur avec analyse partie ' +
    'section plan strategie details resume controlee controle'
  ).split(' '),
);

function sectionWords(doc: NotesDocument, heading: HeadingInfo): number {
  return proseSegments(sectionBody(doc, heading)).reduce((n, s) => n + countWords(s.value), 0);
}

/**
 * A title names the document, not a section, unless a section's name
 * follows a separator ("LaboTrack — Architecture", "Lab 85: Rollback plan")
 * and a paragraph of its own follows it: then that paragraph is the section.
 */
const TITLE_SEPARATOR = /\s[-–—]+\s|[—–|:]/u;
const TITLE_MIN_WORDS = 30;

function headingMatch(
  text: string,
  lexicon: Lexicon,
  query: SectionQuery,
): { match: Candidate['match']; term?: string } {
  const folded = foldHeading(text);
  const matcher = query.topic
    ? lexicon.heading(query.topic, query.patterns ?? [])
    : new TermMatcher({}, [], query.patterns ?? []);
  const hits = matcher.all(folded);
  if (hits.length === 0) return { match: 'none' };
  let rest = folded;
  for (const h of [...hits].sort((a, b) => b.index - a.index)) {
    rest = `${rest.slice(0, h.index)} ${rest.slice(h.index + h.text.length)}`;
  }
  const leftover = rest.split(/\s+/).filter((w) => w !== '' && !TITLE_FILLER.has(w));
  return { match: leftover.length === 0 ? 'exact' : 'words', term: hits.map((h) => h.text).join(', ') };
}

function isQuestion(heading: HeadingInfo, lexicon: Lexicon): boolean {
  return /\?\s*$/.test(heading.text) || lexicon.question.test(foldHeading(heading.text));
}

/** Scores every heading of the notes (the title only when it names the topic) for a topic and picks the best. */
export function selectSection(doc: NotesDocument, lexicon: Lexicon, query: SectionQuery): Selection {
  const candidates: Candidate[] = [];
  for (const heading of doc.headings) {
    let text = heading.text;
    if (heading === doc.title) {
      const separator = TITLE_SEPARATOR.exec(text);
      if (!separator || sectionWords(doc, heading) < TITLE_MIN_WORDS) continue;
      text = text.slice(separator.index + separator[0].length);
      if (headingMatch(text, lexicon, query).match === 'none') continue;
    }
    const { match, term } = headingMatch(text, lexicon, query);
    const content = query.judge?.(heading);
    if (match === 'none' && !content?.sufficient) continue;
    const words = sectionWords(doc, heading);
    const question = isQuestion(heading, lexicon);
    let score = match === 'exact' ? 4 : match === 'words' ? 3 : 0;
    if (question) score -= 2;
    score += Math.min(2, Math.log10(words + 1));
    score += content?.score ?? 0;
    score -= 0.05 * Math.max(0, heading.depth - 2);
    // A section of the same name is the one meant, not the title.
    if (heading === doc.title) score -= 0.5;
    const candidate: Candidate = { heading, match, question, words, score };
    if (term !== undefined) candidate.term = term;
    if (content) candidate.content = content;
    candidates.push(candidate);
  }
  // A section found only by its content inside a section found by its heading is part of that one.
  const named = candidates.filter((c) => c.match !== 'none');
  const kept = candidates.filter(
    (c) =>
      c.match !== 'none' ||
      !named.some((n) => n.heading.index < c.heading.index && sectionEnd(doc, n.heading) > c.heading.index),
  );
  kept.sort((a, b) => b.score - a.score || a.heading.depth - b.heading.depth || a.heading.index - b.heading.index);
  const [chosen, ...others] = kept;
  const selection: Selection = { byContent: chosen?.match === 'none', others };
  if (chosen) selection.chosen = chosen;
  return selection;
}

const round1 = (n: number): string => (Math.round(n * 10) / 10).toFixed(1);

function describe(c: Candidate): string {
  const parts: string[] = [];
  if (c.match === 'exact') parts.push('its heading names it');
  else if (c.match === 'words') parts.push(`its heading mentions '${c.term}'`);
  else parts.push('its heading does not name it');
  if (c.question) parts.push('but is a question');
  parts.push(`${c.words} words`);
  if (c.content && c.content.reasons.length > 0) parts.push(c.content.reasons.join(', '));
  return parts.join('; ');
}

/** One line for the evidence: which section was graded and why, and what it beat. */
export function explainSelection(selection: Selection): string {
  const chosen = selection.chosen;
  if (!chosen) return 'no section matched';
  let out = `graded '${chosen.heading.text}' (line ${chosen.heading.line}): ${describe(chosen)}`;
  if (selection.others.length > 0) {
    out += `; over ${selection.others
      .slice(0, 2)
      .map(
        (o) =>
          `'${o.heading.text}' (line ${o.heading.line}, ${o.question ? 'a question, ' : ''}${o.words} words, score ${round1(o.score)} < ${round1(chosen.score)})`,
      )
      .join(', ')}`;
  }
  return out;
}

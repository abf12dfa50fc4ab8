/**
 * The vocabulary a docs stage grades with: the built-in terms of the
 * languages the rubric turned on, plus the rubric's own terms. Built once per
 * stage run and shared by every check, so that required-sections and
 * failure-analysis recognise the same section with the same words.
 */
import type { VocabularySettings } from '../settings.js';
import {
  FAILURE_PARTS,
  HEADING_TERMS,
  HYPOTHETICAL_TERMS,
  PLACEHOLDER_TERMS,
  QUESTION_START,
  STORY_TERMS,
  TermMatcher,
  type FailurePartId,
  type TermTable,
  type Topic,
} from './vocabulary.js';

function merged(builtIn: TermTable, extra: TermTable | undefined): TermTable {
  const out: Record<string, readonly string[]> = {};
  for (const [language, terms] of Object.entries(builtIn)) out[language] = [...(terms ?? [])];
  for (const [language, terms] of Object.entries(extra ?? {}))
    out[language] = [...(out[language] ?? []), ...(terms ?? [])];
  return out;
}

export class Lexicon {
  readonly languages: readonly string[];
  private readonly settings: VocabularySettings;
  private readonly headingCache = new Map<string, TermMatcher>();
  private readonly storyCache = new Map<FailurePartId, TermMatcher>();
  readonly hypothetical: TermMatcher;
  readonly question: TermMatcher;
  readonly placeholders: RegExp[];

  constructor(settings: VocabularySettings) {
    this.settings = settings;
    this.languages = settings.languages;
    this.hypothetical = new TermMatcher(HYPOTHETICAL_TERMS, this.languages);
    this.question = new TermMatcher(
      Object.fromEntries(Object.entries(QUESTION_START).map(([l, ts]) => [l, (ts ?? []).map((t) => `^(?:${t})`)])),
      this.languages,
    );
    const table = merged(PLACEHOLDER_TERMS, settings.placeholders);
    this.placeholders = this.languages.flatMap((l) => (table[l] ?? []).map((p) => new RegExp(p, 'iu')));
  }

  /** Heading/label terms of a topic, with extra (rubric) patterns. */
  heading(topic: Topic, extra: readonly string[] = []): TermMatcher {
    const key = `${topic}\u0000${extra.join('\u0000')}`;
    let matcher = this.headingCache.get(key);
    if (!matcher) {
      matcher = new TermMatcher(merged(HEADING_TERMS[topic], this.settings.headings[topic]), this.languages, extra);
      this.headingCache.set(key, matcher);
    }
    return matcher;
  }

  story(part: FailurePartId): TermMatcher {
    let matcher = this.storyCache.get(part);
    if (!matcher) {
      matcher = new TermMatcher(merged(STORY_TERMS[part], this.settings.story[part]), this.languages);
      this.storyCache.set(part, matcher);
    }
    return matcher;
  }

  /** Every story word of a failure analysis, whatever the part. */
  storyParts(): readonly FailurePartId[] {
    return FAILURE_PARTS;
  }
}

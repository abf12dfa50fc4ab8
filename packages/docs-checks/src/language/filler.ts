/**
 * Is this prose written, or only counted? Word counts alone are gamed by
 * filler ("word word word…", one sentence pasted forty times, lorem ipsum),
 * so every text a check counts is first measured:
 *
 *  - word variety: the moving-average type/token ratio (MATTR) over windows
 *    of 50 words, which, unlike a plain type/token ratio, does not fall with
 *    the text's length (written English or French prose: 0.6–0.85; a word
 *    or a sentence repeated: under 0.3);
 *  - repetition: the share of word trigrams that repeat an earlier one
 *    (prose: under 0.15; a pasted sentence: over 0.6);
 *  - lorem ipsum in any of its forms: the share of words from the pseudo-Latin
 *    lorem ipsum vocabulary (a text need not contain "lorem ipsum" itself,
 *    and notes in any language can be padded with it).
 *
 * The thresholds are deliberately far from real prose: a verdict of filler
 * costs the words, so it must be certain. Texts shorter than `minWords` are
 * never judged (the section's word minimum handles them).
 */
import { foldText } from './vocabulary.js';

export interface FillerOptions {
  minWords: number;
  minVariety: number;
  maxRepetition: number;
  maxLoremShare: number;
}

export const DEFAULT_FILLER: FillerOptions = { minWords: 25, minVariety: 0.35, maxRepetition: 0.5, maxLoremShare: 0.3 };

export interface FillerVerdict {
  filler: boolean;
  words: number;
  distinct: number;
  variety: number;
  repetition: number;
  loremShare: number;
  /** Why it is filler, completing "the text …". */
  reason?: string;
}

const LOREM = new Set(
  (
    'lorem ipsum dolor sit amet consectetur consectetuer adipiscing adipisicing elit sed do eiusmod tempor incididunt ut labore et ' +
    'dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip ex ea commodo ' +
    'consequat duis aute irure in reprehenderit voluptate velit esse cillum eu fugiat nulla pariatur excepteur sint ' +
    'occaecat cupidatat non proident sunt culpa qui officia deserunt mollit anim id est laborum perspiciatis unde omnis ' +
    'iste natus error voluptatem accusantium doloremque laudantium totam rem aperiam eaque ipsa quae ab illo inventore ' +
    'veritatis quasi architecto beatae vitae dicta explicabo nemo ipsam quia voluptas aspernatur aut odit fugit ' +
    'consequuntur magni dolores eos ratione sequi nesciunt neque porro quisquam dolorem adipisci numquam eius modi ' +
    'tempora incidunt magnam aliquam quaerat etiam vivamus mauris nunc pellentesque habitant morbi tristique senectus ' +
    'netus malesuada fames ac turpis egestas vestibulum tortor quam feugiat vel sapien donec lacinia nibh vulputate ' +
    'viverra purus faucibus orci luctus ultrices posuere cubilia curae integer praesent mattis suspendisse potenti ' +
    'nullam auctor fusce dapibus tellus cursus commodo mollis elementum nisl arcu pharetra proin gravida hendrerit ' +
    'lectus varius sagittis risus placerat duis semper'
  ).split(' '),
);

/** Words that are both lorem ipsum and ordinary English or French: they do not count as lorem on their own. */
const LOREM_AMBIGUOUS = new Set([
  'do',
  'in',
  'et',
  'ad',
  'id',
  'est',
  'non',
  'qui',
  'ex',
  'ea',
  'error',
  'sit',
  'magna',
  'nulla',
  'sed',
  'ut',
  'eu',
  'ab',
  'rem',
  'ac',
  'vel',
  'quasi',
  'culpa',
  'vitae',
  'modi',
  'nemo',
  'integer',
  'semper',
  'aliquip',
  'sequi',
  'nunc',
]);

export function words(text: string): string[] {
  const folded = foldText(text);
  return folded === '' ? [] : folded.split(' ');
}

/** Moving-average type/token ratio over `window` words (the plain ratio for shorter texts). */
export function mattr(tokens: readonly string[], window = 50): number {
  if (tokens.length === 0) return 1;
  if (tokens.length <= window) return new Set(tokens).size / tokens.length;
  const counts = new Map<string, number>();
  let distinct = 0;
  for (let i = 0; i < window; i++) {
    const n = (counts.get(tokens[i]!) ?? 0) + 1;
    counts.set(tokens[i]!, n);
    if (n === 1) distinct++;
  }
  let sum = distinct;
  let windows = 1;
  for (let i = window; i < tokens.length; i++) {
    const out = tokens[i - window]!;
    const left = counts.get(out)! - 1;
    counts.set(out, left);
    if (left === 0) distinct--;
    const n = (counts.get(tokens[i]!) ?? 0) + 1;
    counts.set(tokens[i]!, n);
    if (n === 1) distinct++;
    sum += distinct;
    windows++;
  }
  return sum / windows / window;
}

/** Share of word trigrams that repeat an earlier trigram. */
export function repetition(tokens: readonly string[]): number {
  if (tokens.length < 3) return 0;
  const seen = new Set<string>();
  let repeated = 0;
  for (let i = 0; i + 2 < tokens.length; i++) {
    const key = `${tokens[i]} ${tokens[i + 1]} ${tokens[i + 2]}`;
    if (seen.has(key)) repeated++;
    else seen.add(key);
  }
  return repeated / (tokens.length - 2);
}

const round = (n: number): number => Math.round(n * 100) / 100;

export function judgeFiller(text: string, options: FillerOptions = DEFAULT_FILLER): FillerVerdict {
  const tokens = words(text);
  const distinct = new Set(tokens).size;
  const variety = round(mattr(tokens));
  const rep = round(repetition(tokens));
  const lorem = tokens.filter((t) => LOREM.has(t) && !LOREM_AMBIGUOUS.has(t)).length;
  const loremShare = round(tokens.length === 0 ? 0 : lorem / tokens.length);
  const verdict: FillerVerdict = {
    filler: false,
    words: tokens.length,
    distinct,
    variety,
    repetition: rep,
    loremShare,
  };
  if (tokens.length < options.minWords) return verdict;
  if (loremShare > options.maxLoremShare && lorem >= 8) {
    verdict.filler = true;
    verdict.reason = `is lorem ipsum (${Math.round(loremShare * 100)}% of its words)`;
  } else if (variety < options.minVariety) {
    verdict.filler = true;
    verdict.reason = `repeats the same few words (${distinct} different ${distinct === 1 ? 'word' : 'words'} in ${tokens.length})`;
  } else if (rep > options.maxRepetition) {
    verdict.filler = true;
    verdict.reason = `repeats the same phrases (${Math.round(rep * 100)}% of its three-word phrases are repeats)`;
  }
  return verdict;
}

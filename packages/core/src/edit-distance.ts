/**
 * "Did you mean": one Levenshtein distance and one closest-match for every
 * package (rubric keys and check ids, Kubernetes kinds and fields, Mermaid
 * diagram types and C4 macros, names in the notes).
 */

/**
 * Levenshtein distance between two strings (UTF-16 code units). With `max`,
 * the computation stops as soon as the distance is certainly above it and
 * returns `max + 1`, so comparing a word with many candidates stays cheap.
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      current.push(value);
      if (value < rowMin) rowMin = value;
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

export interface ClosestMatchOptions {
  /**
   * The largest distance still taken for a typo: a number, or a function of
   * the word (default: 1 up to 4 characters, 2 up to 8, else 3).
   */
  maxDistance?: number | ((word: string) => number);
  /** Prefer a candidate equal to the word but for letter case (`readinessprobe` → `readinessProbe`). Default true. */
  sameLetters?: boolean;
  /** When nothing is close enough, a candidate the word is a prefix of, if the word has at least this many characters. */
  prefixOf?: number;
}

/** Default tolerance: 1 edit for short words, 2 up to 8 characters, 3 beyond. */
export function typoTolerance(word: string): number {
  return word.length <= 4 ? 1 : word.length <= 8 ? 2 : 3;
}

/**
 * The candidate a word most likely meant, compared case-insensitively: the
 * first candidate at the smallest distance within the tolerance, or
 * undefined.
 */
export function closestMatch(
  word: string,
  candidates: Iterable<string>,
  options: ClosestMatchOptions = {},
): string | undefined {
  const list = [...candidates];
  const lower = word.toLowerCase();
  if (options.sameLetters !== false) {
    const same = list.find((c) => c.toLowerCase() === lower);
    if (same !== undefined) return same;
  }
  const limit = options.maxDistance ?? typoTolerance;
  const max = typeof limit === 'function' ? limit(word) : limit;
  let best: string | undefined;
  let bestDistance = max + 1;
  for (const candidate of list) {
    const distance = editDistance(lower, candidate.toLowerCase(), max);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === undefined && options.prefixOf !== undefined && lower.length >= options.prefixOf) {
    best = list.find((c) => c.toLowerCase().startsWith(lower));
  }
  return best;
}

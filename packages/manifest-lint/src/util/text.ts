/** Small text helpers: "did you mean" suggestions and pluralisation. */

import { closestMatch as closestInCore, editDistance } from '@labgrader/core';

export { editDistance };

/**
 * The candidate a typo most likely meant: same letters in another case
 * (`readinessprobe` → `readinessProbe`), within a small edit distance, or a
 * name it is the start of (`limit` for `limits`).
 */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  return closestInCore(word, candidates, { prefixOf: 4 });
}

export function plural(count: number, word: string, pluralWord = `${word}s`): string {
  return `${count} ${count === 1 ? word : pluralWord}`;
}

export function quoteList(items: readonly string[]): string {
  return items.map((i) => `"${i}"`).join(', ');
}

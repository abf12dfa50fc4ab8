/** "Did you mean" for typos in keys and check ids. */

import { closestMatch, editDistance } from '@labgrader/core';

export { editDistance };

/** The closest candidate within a typo's distance (at least 2, a quarter of the word beyond 8 characters), if any. */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  return closestMatch(input, candidates, { maxDistance: (word) => Math.max(2, Math.floor(word.length / 4)) });
}

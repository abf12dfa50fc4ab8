/**
 * The lead's passing example (examples/lab-85-passing) must get full marks
 * from every docs check with default settings and options. If this fails
 * after the example changes, the report says why; the example is not edited
 * to fit the checks.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from '@jest/globals';
import { openRepoFiles } from '@labgrader/repo';
import { inventoryOf, prepare, runAll } from './helpers/grade.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/lab-85-passing', import.meta.url));

describe('examples/lab-85-passing', () => {
  it('gets full marks from every docs check with the defaults', async () => {
    const repo = await openRepoFiles(EXAMPLE);
    const outcomes = await runAll(await prepare(repo, { inventory: await inventoryOf(repo) }));
    const scores = Object.fromEntries(
      Object.entries(outcomes).map(([id, o]) => [id, [o.passed, o.examined, o.findings]]),
    );
    expect(scores).toEqual({
      'docs/notes-present': [1, 1, []],
      'docs/required-sections': [6, 6, []],
      'docs/diagram-embedded': [1, 1, []],
      'docs/failure-analysis': [5, 5, []],
      // The Deployment web is both named in code and a main workload: one subject.
      'docs/manifest-consistency': [7, 7, []],
    });
    expect(outcomes['docs/diagram-embedded']!.evidence?.[0]?.detail).toMatch(/^docs\/architecture\.svg \(SVG, /);
  });
});

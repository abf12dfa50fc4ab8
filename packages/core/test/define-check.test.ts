import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { closestMatch, defineCheck, editDistance, type CheckOutcome } from '../src/index.js';

const meta = {
  id: 'docs/example',
  stage: 'docs' as const,
  title: 'Example',
  rationale: 'Why it matters.',
  severity: 'error' as const,
  fixHint: 'Fix it.',
  docsUrl: 'https://example.com/docs',
  options: z.strictObject({}),
};

describe('defineCheck', () => {
  it('counts examined subjects, fails those a costly finding names, and fills in the metadata', () => {
    const check = defineCheck<null, Record<string, never>>({
      ...meta,
      run(_context, _options, r) {
        r.examine('a');
        r.examine('b');
        r.examine('b');
        r.examine('c');
        r.report({ subject: 'a', message: 'a is wrong', location: { file: 'f', line: 1, column: 1 } });
        r.report({ subject: 'a', message: 'a is wrong', location: { file: 'f', line: 1, column: 1 } });
        r.report({ subject: 'b', message: 'b is only noted', severity: 'info', review: 'look at b' });
        r.evidence('seen', 'c is fine');
      },
    });
    const outcome = check.check(null, {}) as CheckOutcome;
    expect([outcome.examined, outcome.passed]).toEqual([3, 2]);
    expect(outcome.findings).toEqual([
      {
        checkId: 'docs/example',
        severity: 'error',
        message: 'a is wrong',
        location: { file: 'f', line: 1, column: 1 },
        fixHint: 'Fix it.',
        docsUrl: 'https://example.com/docs',
        subject: 'a',
      },
      {
        checkId: 'docs/example',
        severity: 'info',
        message: 'b is only noted',
        fixHint: 'Fix it.',
        docsUrl: 'https://example.com/docs',
        subject: 'b',
        review: 'look at b',
      },
    ]);
    expect(outcome.evidence).toEqual([{ checkId: 'docs/example', label: 'seen', detail: 'c is fine' }]);
  });

  it('lets one finding fail several subjects, gives finer credit, and runs async checks', async () => {
    const check = defineCheck<null, Record<string, never>>({
      ...meta,
      async run(_context, _options, r) {
        await Promise.resolve();
        for (const s of ['x', 'y']) r.examine(s);
        r.report({ subject: 'notes', message: 'no notes', alsoFails: ['x', 'y'] });
        r.credit(0.25);
        r.summary('not graded');
      },
    });
    const outcome = await check.check(null, {});
    expect(outcome).toMatchObject({ examined: 2, passed: 0, score: 0.25, summary: 'not graded' });
    expect(outcome.evidence).toBeUndefined();
  });
});

describe('edit distance', () => {
  it('is Levenshtein, bounded when asked', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('flowchar', 'flowchart')).toBe(1);
    expect(editDistance('abc', 'abcdefgh', 2)).toBe(3);
  });

  it('suggests like every former copy did, with their tolerances as options', () => {
    // manifest-lint: same letters first, a tolerance by length, then a prefix.
    expect(closestMatch('readinessprobe', ['livenessProbe', 'readinessProbe'])).toBe('readinessProbe');
    expect(closestMatch('limit', ['limits', 'requests'], { prefixOf: 4 })).toBe('limits');
    expect(closestMatch('Deploymnt', ['Deployment', 'StatefulSet'])).toBe('Deployment');
    // rubric: at least 2, a quarter of the word's length.
    const rubric = { maxDistance: (w: string) => Math.max(2, Math.floor(w.length / 4)) };
    expect(closestMatch('pionts', ['points', 'title'], rubric)).toBe('points');
    expect(closestMatch('zzz', ['points'], rubric)).toBeUndefined();
    // docs (Mermaid types, C4 macros): within 2.
    expect(closestMatch('Containr', ['Container', 'Component'], { maxDistance: 2 })).toBe('Container');
  });
});

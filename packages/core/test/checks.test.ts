import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CheckRegistry, catalogOf, outcomeFromSubjects, runChecks, type CheckDefinition } from '@labgrader/core';

interface Ctx {
  containers: string[];
}

const limits: CheckDefinition<Ctx, { min: number }> = {
  id: 'lint/example-limits',
  stage: 'lint',
  title: 'example',
  rationale: 'r',
  severity: 'error',
  fixHint: 'f',
  options: z.object({ min: z.number().default(1) }),
  check: (ctx) =>
    outcomeFromSubjects(
      ctx.containers,
      ctx.containers
        .filter((c) => c.startsWith('bad'))
        .map((c) => ({ checkId: 'lint/example-limits', severity: 'error', message: c, subject: c })),
    ),
};

const crashing: CheckDefinition<Ctx> = {
  ...limits,
  id: 'lint/example-crash',
  options: z.object({}),
  check: () => {
    throw new TypeError('boom');
  },
};

describe('CheckRegistry', () => {
  it('rejects malformed, duplicate and mis-staged ids', () => {
    expect(() => new CheckRegistry('lint', [{ ...limits, id: 'lint/Bad_Id' }])).toThrow(/kebab-case/);
    expect(() => new CheckRegistry('lint', [limits, limits])).toThrow(/duplicate/);
    expect(() => new CheckRegistry('docs', [limits])).toThrow(/declares stage 'lint'/);
  });

  it('builds a catalog across registries and refuses duplicates', () => {
    const reg = new CheckRegistry('lint', [limits]);
    expect(catalogOf(reg).get('lint/example-limits')?.title).toBe('example');
    expect(() => catalogOf(reg, reg)).toThrow(/duplicate/);
  });
});

describe('runChecks', () => {
  it('counts subjects, applies severity overrides and isolates a crashing check', async () => {
    const reg = new CheckRegistry('lint', [limits, crashing]);
    const runs = await runChecks(
      reg,
      [
        { id: 'lint/example-limits', options: { min: 1 }, severity: 'warning' },
        { id: 'lint/example-crash', options: {} },
      ],
      { containers: ['good', 'bad-a', 'bad-b', 'bad-a'] },
    );
    expect(runs[0]?.outcome).toMatchObject({ examined: 3, passed: 1 });
    expect(runs[0]?.outcome?.findings.map((f) => f.severity)).toEqual(['warning', 'warning', 'warning']);
    expect(runs[1]?.error).toBe('TypeError: boom');
  });
});

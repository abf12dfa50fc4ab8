/**
 * A rubric's severity override and the tally: a check counts its subjects at
 * its own default severity, so when a rubric raises `info` findings to
 * `warning` (lint/observability-metrics in the production-readiness
 * checklist) or lowers `error` findings to `info`, `passed` must follow, or
 * the report says "1/1 pass" next to a warning about that very subject.
 */
import { describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import { CheckRegistry, outcomeFromSubjects, runChecks, withSeverity, type CheckDefinition } from '@labgrader/core';

const metrics: CheckDefinition<{ workloads: string[]; exposing: string[] }> = {
  id: 'lint/example-metrics',
  stage: 'lint',
  title: 'Workloads expose metrics',
  rationale: 'r',
  severity: 'info',
  fixHint: 'f',
  options: z.object({}),
  check: (ctx) =>
    outcomeFromSubjects(
      ctx.workloads,
      ctx.workloads
        .filter((w) => !ctx.exposing.includes(w))
        .map((w) => ({
          checkId: 'lint/example-metrics',
          severity: 'info',
          message: `${w} exposes no metrics`,
          subject: w,
        })),
    ),
};

describe('severity overrides keep the tally and the findings in agreement', () => {
  const registry = new CheckRegistry('lint', [metrics]);
  const context = { workloads: ['Deployment web', 'Deployment api', 'Deployment db'], exposing: ['Deployment db'] };

  it('raised to warning: the subjects its findings name fail', async () => {
    const [run] = await runChecks(
      registry,
      [{ id: 'lint/example-metrics', options: {}, severity: 'warning' }],
      context,
    );
    expect(run?.outcome).toMatchObject({ examined: 3, passed: 1 });
    expect(run?.outcome?.findings.map((f) => f.severity)).toEqual(['warning', 'warning']);
  });

  it('left at its default (info): nothing fails', async () => {
    const [run] = await runChecks(registry, [{ id: 'lint/example-metrics', options: {} }], context);
    expect(run?.outcome).toMatchObject({ examined: 3, passed: 3 });
  });

  it('lowered to info: subjects that failed only through findings pass again, never above examined', () => {
    const failing = {
      findings: [
        { checkId: 'lint/x', severity: 'error' as const, message: 'a', subject: 'A' },
        { checkId: 'lint/x', severity: 'warning' as const, message: 'a again', subject: 'A' },
        { checkId: 'lint/x', severity: 'error' as const, message: 'not examined', subject: 'Z' },
      ],
      examined: 2,
      passed: 1,
    };
    expect(withSeverity(failing, 'info')).toMatchObject({ examined: 2, passed: 2 });
    // Between counted severities nothing changes.
    expect(withSeverity(failing, 'warning')).toMatchObject({ examined: 2, passed: 1 });
    expect(withSeverity({ ...failing, passed: 0 }, 'error')).toMatchObject({ passed: 0 });
  });
});

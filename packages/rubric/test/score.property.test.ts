/**
 * Property tests of scoring over random check outcomes, including outcomes
 * no well-behaved check would return (findings next to `examined: 0`,
 * `passed` not reduced by failing subjects, full-credit scores next to
 * warnings): whatever the checks say, a finding at a severity the rubric
 * counts always costs the criteria it is tagged with points, and the tally a
 * report shows never disagrees with its findings.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { z } from 'zod';
import {
  CheckRegistry,
  outcomeFromSubjects,
  runChecks,
  type CheckDefinition,
  type CheckOutcome,
  type CheckRun,
  type CheckStage,
  type Finding,
  type ManifestInventory,
  type Severity,
} from '@labgrader/core';
import {
  configKey,
  countsAgainst,
  scoreRubric,
  type Criterion,
  type Requirement,
  type Rubric,
  type RubricCheck,
  type ScoreResult,
  type StageOutcome,
} from '@labgrader/rubric';

const SEVERITIES: Severity[] = ['error', 'warning', 'info'];
const CHECK_IDS = ['lint/a', 'lint/b', 'lint/c'];
const SUBJECTS = ['Deployment web', 'Deployment api', 'container web', 'Secret s'];

const severity = fc.constantFrom(...SEVERITIES);
const finding = (checkId: string) =>
  fc.record(
    {
      checkId: fc.constant(checkId),
      severity,
      message: fc.constantFrom('too open', 'missing', 'wrong port'),
      subject: fc.constantFrom(...SUBJECTS),
    },
    { requiredKeys: ['checkId', 'severity', 'message'] },
  );

/** Anything a check might return, consistent or not. */
const anyOutcome = (checkId: string): fc.Arbitrary<CheckOutcome> =>
  fc.record(
    {
      findings: fc.array(finding(checkId), { maxLength: 5 }),
      examined: fc.oneof(fc.nat(6), fc.constant(0), fc.integer({ min: 1000, max: 100_000 })),
      passed: fc.oneof(fc.nat(8), fc.integer({ min: 1000, max: 100_000 })),
      score: fc.oneof(fc.double({ min: -0.5, max: 1.5 }), fc.constant(1), fc.constant(Number.NaN)),
    },
    { requiredKeys: ['findings', 'examined', 'passed'] },
  );

const requirement: fc.Arbitrary<Requirement> = fc.oneof(
  fc.constant<Requirement>({ mode: 'examined', message: 'nothing to grade' }),
  fc.constant<Requirement>({ mode: 'optional' }),
  fc.constant<Requirement>({ mode: 'objects', anyOf: [{ kind: 'Secret', referenced: true }], message: 'no Secret' }),
);

const check: fc.Arbitrary<RubricCheck> = fc.record(
  {
    id: fc.constantFrom(...CHECK_IDS),
    options: fc.constant({}),
    weight: fc.oneof(fc.constant(1), fc.double({ min: 1e-9, max: 10, noNaN: true, noDefaultInfinity: true })),
    severity,
  },
  { requiredKeys: ['id', 'options', 'weight'] },
);

const criterion = (index: number): fc.Arbitrary<Criterion> =>
  fc.record({
    id: fc.constant(`c${index}`),
    title: fc.constant(`Criterion ${index}`),
    stage: fc.constant<CheckStage>('lint'),
    points: fc.oneof(fc.integer({ min: 0, max: 100 }), fc.double({ min: 0.01, max: 100, noNaN: true })),
    scoring: fc.oneof(
      fc.constant<Criterion['scoring']>('ratio'),
      fc.constant<Criterion['scoring']>('all-or-nothing'),
      fc
        .double({ min: 0.0001, max: 20, noNaN: true, noDefaultInfinity: true })
        .map((perFinding) => ({ mode: 'deduct' as const, perFinding })),
    ),
    requirement,
    checks: fc.array(check, { minLength: 1, maxLength: 4 }),
  });

const rubricArb: fc.Arbitrary<Rubric> = fc
  .integer({ min: 1, max: 4 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => criterion(i))))
  .map((criteria) => ({
    id: 'random',
    title: 'Random',
    source: 'random.yaml',
    digest: 'sha256:0',
    stages: {
      docs: { enabled: false, timeoutMs: 1, settings: {} },
      lint: { enabled: true, timeoutMs: 1, settings: {} },
      cluster: { enabled: false, timeoutMs: 1, settings: {} },
    },
    criteria,
  }));

const inventoryArb: fc.Arbitrary<ManifestInventory | undefined> = fc.option(
  fc.boolean().map((reads) => ({
    objects: [],
    files: [],
    references: reads
      ? [{ kind: 'Secret', name: 's', location: { file: 'k8s/a.yaml', line: 1, column: 1 }, defined: false, from: 'w' }]
      : [],
  })),
  { nil: undefined },
);

/** The invariants every score must keep. */
function assertFair(rubric: Rubric, result: ScoreResult): void {
  for (const c of result.criteria) {
    expect(c.points).toBeGreaterThanOrEqual(0);
    expect(c.points).toBeLessThanOrEqual(c.maxPoints);
    if (c.maxPoints > 0) expect(c.status === 'passed').toBe(c.points >= c.maxPoints);
    for (const s of c.checks) {
      expect(Number.isInteger(s.examined) && Number.isInteger(s.passed)).toBe(true);
      expect(s.passed).toBeLessThanOrEqual(s.examined);
    }
    if (c.status === 'skipped' || c.status === 'not-gradable' || c.maxPoints === 0) continue;
    const counted = result.findings.filter((f) => f.criteria.includes(c.id) && countsAgainst(f));
    // The property: a finding at a severity the rubric counts always costs points.
    if (counted.length > 0) expect(c.points).toBeLessThan(c.maxPoints);
  }
  // Every finding that counts against a criterion is tagged with it, and a check summary agrees.
  for (const criterion of rubric.criteria) {
    const summary = result.criteria.find((c) => c.id === criterion.id)!;
    summary.checks.forEach((s) => {
      if (s.findings > 0) expect(s.passed).toBeLessThan(s.examined);
    });
  }
}

describe('scoring properties', () => {
  it('a finding at a severity the rubric counts always costs points, whatever the checks report', () => {
    fc.assert(
      fc.property(
        rubricArb.chain((rubric) => {
          const keys = new Map(rubric.criteria.flatMap((c) => c.checks.map((k) => [configKey(k), k] as const)));
          return fc.tuple(
            fc.constant(rubric),
            fc.tuple(...[...keys].map(([key, k]) => fc.tuple(fc.constant(key), anyOutcome(k.id)))),
            inventoryArb,
          );
        }),
        ([rubric, outcomes, inventory]) => {
          const runs = new Map<string, CheckRun>(
            outcomes.map(([key, outcome]) => [key, { id: key.split('|')[0]!, outcome, durationMs: 1 }]),
          );
          const stages = new Map<CheckStage, StageOutcome>([['lint', { status: 'ok', runs }]]);
          assertFair(rubric, scoreRubric(rubric, stages, inventory ? { inventory } : {}));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the same holds end to end: checks tallying at their default severity, then the rubric overriding it', async () => {
    // Each random check examines some subjects and reports findings at its own default severity
    // (lint/observability-metrics is `info` by default); the rubric may raise or lower it.
    const scenario = fc.record({
      rubric: rubricArb,
      defaults: fc.tuple(severity, severity, severity),
      subjects: fc.tuple(...CHECK_IDS.map(() => fc.uniqueArray(fc.constantFrom(...SUBJECTS), { maxLength: 4 }))),
      reported: fc.tuple(
        ...CHECK_IDS.map(() =>
          fc.array(fc.record({ subject: fc.constantFrom(...SUBJECTS), severity: fc.option(severity) }), {
            maxLength: 4,
          }),
        ),
      ),
    });
    await fc.assert(
      fc.asyncProperty(scenario, async ({ rubric, defaults, subjects, reported }) => {
        const checks: CheckDefinition<unknown>[] = CHECK_IDS.map((id, i) => ({
          id,
          stage: 'lint',
          title: id,
          rationale: 'r',
          severity: defaults[i]!,
          fixHint: 'f',
          options: z.object({}),
          check: () =>
            outcomeFromSubjects(
              subjects[i]!,
              reported[i]!.map((r): Finding => ({
                checkId: id,
                severity: r.severity ?? defaults[i]!,
                message: `${r.subject} is wrong`,
                subject: r.subject,
              })),
            ),
        }));
        const registry = new CheckRegistry<unknown>('lint', checks);
        const configured = new Map(rubric.criteria.flatMap((c) => c.checks.map((k) => [configKey(k), k] as const)));
        const ran = await runChecks(registry, [...configured.values()], {});
        const keys = [...configured.keys()];
        const runs = new Map(ran.map((run, i) => [keys[i]!, run]));
        const result = scoreRubric(rubric, new Map([['lint', { status: 'ok', runs }]]));
        assertFair(rubric, result);
        // And info never costs: a criterion whose findings are all informational loses nothing to them.
        for (const c of result.criteria) {
          const criterion = rubric.criteria.find((x) => x.id === c.id)!;
          const allInfo = criterion.checks.every((k) =>
            runs.get(configKey(k))!.outcome!.findings.every((f) => f.severity === 'info'),
          );
          const examinedAll = c.checks.every((s) => s.examined > 0);
          if (allInfo && examinedAll) expect(c.checks.every((s) => s.passed === s.examined)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });
});

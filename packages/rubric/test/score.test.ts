import { describe, expect, it } from '@jest/globals';
import type { CheckRun, CheckStage, Finding } from '@labgrader/core';
import { configKey, parseRubric, scoreRubric, type Rubric, type StageOutcome } from '@labgrader/rubric';
import { env } from './helpers.js';

function rubricWith(criteria: string): Rubric {
  return parseRubric(
    `apiVersion: labgrader.dev/v1\nkind: Rubric\nid: r\ntitle: R\ncriteria:\n${criteria}`,
    'r.yaml',
    env,
  );
}

const finding = (checkId: string, line: number, severity: Finding['severity'] = 'error'): Finding => ({
  checkId,
  severity,
  message: `problem at ${line}`,
  location: { file: 'k8s/app.yaml', line, column: 1 },
});

function stageWith(
  rubric: Rubric,
  outcomes: Record<string, Partial<CheckRun>>,
  status: StageOutcome['status'] = 'ok',
): StageOutcome {
  const runs = new Map<string, CheckRun>();
  for (const c of rubric.criteria.flatMap((x) => x.checks)) {
    const o = outcomes[c.id];
    if (o) runs.set(configKey(c), { id: c.id, durationMs: 1, ...o });
  }
  return { status, runs };
}

const twoChecks = `  - id: avail
    title: Availability
    points: 30
    checks:
      - lint/container-resources
      - { id: lint/replicas, weight: 2 }
`;

describe('scoreRubric', () => {
  it('gives weighted partial credit by the share of subjects that pass', () => {
    const rubric = rubricWith(twoChecks);
    const lint = stageWith(rubric, {
      'lint/container-resources': {
        outcome: { findings: [finding('lint/container-resources', 3)], examined: 4, passed: 3 },
      },
      'lint/replicas': { outcome: { findings: [], examined: 2, passed: 1 } },
    });
    const result = scoreRubric(rubric, new Map<CheckStage, StageOutcome>([['lint', lint]]));
    // (1 × 3/4 + 2 × 1/2) / 3 = 0.5833… → 17.5 of 30
    expect(result.criteria[0]).toMatchObject({ points: 17.5, maxPoints: 30, status: 'partial' });
    expect(result.criteria[0]?.summary).toBe('lint/container-resources: 3/4 pass; lint/replicas: 1/2 pass');
    expect(result).toMatchObject({ points: 17.5, maxPoints: 30, percent: 58.3 });
    expect(result.findings).toEqual([{ ...finding('lint/container-resources', 3), criteria: ['avail'] }]);
  });

  it('treats checks with nothing to examine as not applicable', () => {
    const rubric = rubricWith(twoChecks);
    const lint = stageWith(rubric, {
      'lint/container-resources': { outcome: { findings: [], examined: 0, passed: 0 } },
      'lint/replicas': { outcome: { findings: [], examined: 2, passed: 1 } },
    });
    expect(scoreRubric(rubric, new Map([['lint', lint]])).criteria[0]).toMatchObject({ points: 15, status: 'partial' });
    const none = stageWith(rubric, {
      'lint/container-resources': { outcome: { findings: [], examined: 0, passed: 0 } },
      'lint/replicas': { outcome: { findings: [], examined: 0, passed: 0 } },
    });
    expect(scoreRubric(rubric, new Map([['lint', none]])).criteria[0]).toMatchObject({ points: 30, status: 'passed' });
  });

  it("uses a check's own score (e.g. a recovery-time band) instead of passed/examined, with its summary", () => {
    const rubric = rubricWith(twoChecks);
    const lint = stageWith(rubric, {
      // One subject, half credit: passed counts only full-credit subjects.
      'lint/container-resources': {
        outcome: { findings: [], examined: 1, passed: 0, score: 0.5, summary: 'recovered in 45 s: ≤ 90 s band, 50%' },
      },
      'lint/replicas': { outcome: { findings: [], examined: 2, passed: 1 } },
    });
    const result = scoreRubric(rubric, new Map([['lint', lint]]));
    // (1 × 0.5 + 2 × 1/2) / 3 = 0.5 → 15 of 30
    expect(result.criteria[0]).toMatchObject({ points: 15, status: 'partial' });
    expect(result.criteria[0]?.summary).toBe(
      'lint/container-resources: recovered in 45 s: ≤ 90 s band, 50%; lint/replicas: 1/2 pass',
    );
    expect(result.criteria[0]?.checks[0]).toMatchObject({ examined: 1, passed: 0, score: 0.5 });
    expect(result.criteria[0]?.checks[1]).not.toHaveProperty('score');

    // Out-of-range scores are clamped; a score on a check that examined nothing is ignored.
    const odd = stageWith(rubric, {
      'lint/container-resources': { outcome: { findings: [], examined: 1, passed: 1, score: 1.7 } },
      'lint/replicas': { outcome: { findings: [], examined: 0, passed: 0, score: 0 } },
    });
    const oddResult = scoreRubric(rubric, new Map([['lint', odd]]));
    expect(oddResult.criteria[0]).toMatchObject({ points: 30, status: 'passed' });
    expect(oddResult.criteria[0]?.summary).toBe('lint/container-resources: 100% credit; lint/replicas: not applicable');

    // all-or-nothing: partial band credit is not full credit.
    const strict = rubricWith(twoChecks.replace('points: 30', 'points: 10\n    scoring: all-or-nothing'));
    const banded = stageWith(strict, {
      'lint/container-resources': { outcome: { findings: [], examined: 1, passed: 1, score: 0.5 } },
      'lint/replicas': { outcome: { findings: [], examined: 1, passed: 1 } },
    });
    expect(scoreRubric(strict, new Map([['lint', banded]])).criteria[0]).toMatchObject({ points: 0, status: 'failed' });
  });

  it('supports all-or-nothing and deduct scoring; info findings cost nothing', () => {
    const rubric = rubricWith(
      `${twoChecks.replace('id: avail', 'id: strict').replace('points: 30', 'points: 10\n    scoring: all-or-nothing')}  - id: deduct\n    title: D\n    points: 10\n    scoring: { mode: deduct, perFinding: 4 }\n    checks: [lint/container-resources]\n`,
    );
    const lint = stageWith(rubric, {
      'lint/container-resources': {
        outcome: {
          findings: [
            finding('lint/container-resources', 1),
            finding('lint/container-resources', 2, 'warning'),
            finding('lint/container-resources', 3, 'info'),
          ],
          examined: 3,
          passed: 1,
        },
      },
      'lint/replicas': { outcome: { findings: [], examined: 1, passed: 1 } },
    });
    const result = scoreRubric(rubric, new Map([['lint', lint]]));
    expect(result.criteria.map((c) => [c.id, c.points, c.status])).toEqual([
      ['strict', 0, 'failed'],
      ['deduct', 2, 'partial'],
    ]);
    // The same finding feeds two criteria: listed once, tagged with both.
    expect(result.findings.filter((f) => f.location?.line === 1)).toEqual([
      { ...finding('lint/container-resources', 1), criteria: ['strict', 'deduct'] },
    ]);
  });

  it('does not count criteria whose stage was skipped or could not grade, nor a crashed check', () => {
    const rubric = rubricWith(
      `${twoChecks}  - id: notes\n    title: Notes\n    points: 10\n    checks: [docs/notes-present]\n`,
    );
    const crashed = stageWith(rubric, {
      'lint/container-resources': { outcome: { findings: [], examined: 1, passed: 1 } },
      'lint/replicas': { error: 'TypeError: boom' },
    });
    const docsOk: StageOutcome = stageWith(rubric, {
      'docs/notes-present': { outcome: { findings: [], examined: 1, passed: 1 } },
    });
    let result = scoreRubric(
      rubric,
      new Map<CheckStage, StageOutcome>([
        ['lint', crashed],
        ['docs', docsOk],
      ]),
    );
    expect(result.criteria[0]).toMatchObject({
      status: 'not-gradable',
      summary: 'not graded: lint/replicas failed (TypeError: boom)',
    });
    expect(result).toMatchObject({ points: 10, maxPoints: 10, percent: 100 });

    result = scoreRubric(
      rubric,
      new Map<CheckStage, StageOutcome>([
        ['lint', { status: 'skipped', runs: new Map(), message: '--cluster none' }],
        ['docs', docsOk],
      ]),
    );
    expect(result.criteria[0]).toMatchObject({ status: 'skipped', points: 0 });

    result = scoreRubric(
      rubric,
      new Map<CheckStage, StageOutcome>([
        ['lint', { status: 'timed-out', runs: new Map() }],
        ['docs', docsOk],
      ]),
    );
    expect(result.criteria[0]).toMatchObject({
      status: 'not-gradable',
      summary: 'not graded: the lint stage ran out of time',
    });
  });
});

import { describe, expect, it } from '@jest/globals';
import type { CheckOutcome, CheckRun, CheckStage, Finding, ManifestInventory } from '@labgrader/core';
import {
  REQUIREMENT_CHECK_ID,
  configKey,
  parseRubric,
  scoreRubric,
  type Rubric,
  type StageOutcome,
} from '@labgrader/rubric';
import { envWithCluster } from './helpers.js';

function rubricWith(criteria: string): Rubric {
  return parseRubric(
    `apiVersion: labgrader.dev/v1\nkind: Rubric\nid: r\ntitle: R\ncriteria:\n${criteria}`,
    'r.yaml',
    envWithCluster,
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

  it('leaves a check with nothing to examine out of the mean', () => {
    const rubric = rubricWith(twoChecks);
    const lint = stageWith(rubric, {
      'lint/container-resources': { outcome: { findings: [], examined: 0, passed: 0 } },
      'lint/replicas': { outcome: { findings: [], examined: 2, passed: 1 } },
    });
    expect(scoreRubric(rubric, new Map([['lint', lint]])).criteria[0]).toMatchObject({ points: 15, status: 'partial' });
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

const nothing = { findings: [], examined: 0, passed: 0 };
const lintOnly = (stage: StageOutcome) => new Map<CheckStage, StageOutcome>([['lint', stage]]);

describe('nothing examined is not a pass', () => {
  it('scores 0 with a finding that names the checks when every check examined nothing', () => {
    const rubric = rubricWith(twoChecks);
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, { 'lint/container-resources': { outcome: nothing }, 'lint/replicas': { outcome: nothing } }),
      ),
    );
    const message =
      'nothing to grade for "Availability": none of its checks (resources; replicas) found anything in the submission to apply to';
    expect(result.criteria[0]).toMatchObject({ points: 0, status: 'failed', summary: message });
    expect(result.findings).toEqual([
      { checkId: REQUIREMENT_CHECK_ID, severity: 'error', message, subject: 'criterion avail', criteria: ['avail'] },
    ]);
    expect(result).toMatchObject({ points: 0, maxPoints: 30 });
  });

  it("says what the rubric's requires.message says, in every scoring mode", () => {
    for (const scoring of ['ratio', 'all-or-nothing', '{ mode: deduct, perFinding: 5 }']) {
      const rubric = rubricWith(
        twoChecks.replace(
          '    checks:\n',
          `    scoring: ${scoring}\n    requires: { message: "no workload found: Lab 1 asks for a Deployment" }\n    checks:\n`,
        ),
      );
      const result = scoreRubric(
        rubric,
        lintOnly(
          stageWith(rubric, {
            'lint/container-resources': { outcome: nothing },
            'lint/replicas': { outcome: nothing },
          }),
        ),
      );
      expect(result.criteria[0]).toMatchObject({
        points: 0,
        status: 'failed',
        summary: 'no workload found: Lab 1 asks for a Deployment',
      });
      expect(result.findings.map((f) => f.message)).toEqual(['no workload found: Lab 1 asks for a Deployment']);
    }
  });

  it('gives an optional criterion with nothing to grade its points, and says so', () => {
    const rubric = rubricWith(twoChecks.replace('    checks:\n', '    optional: true\n    checks:\n'));
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, { 'lint/container-resources': { outcome: nothing }, 'lint/replicas': { outcome: nothing } }),
      ),
    );
    expect(result.criteria[0]).toMatchObject({
      points: 30,
      status: 'passed',
      summary: 'nothing to grade (optional): lint/container-resources: not applicable; lint/replicas: not applicable',
    });
    expect(result.findings).toEqual([]);
  });

  it('requires.anyOf: looks in the inventory, also when the checks examined something', () => {
    const rubric = rubricWith(
      twoChecks.replace(
        '    checks:\n',
        '    requires:\n      anyOf: [{ kind: Secret, referenced: true }, { kind: SealedSecret }]\n    checks:\n',
      ),
    );
    const lint = lintOnly(
      stageWith(rubric, {
        'lint/container-resources': { outcome: { findings: [], examined: 1, passed: 1 } },
        'lint/replicas': { outcome: nothing },
      }),
    );
    const at = { file: 'k8s/app.yaml', line: 1, column: 1 };
    const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', location: at };
    const none: ManifestInventory = { objects: [deployment], files: ['k8s/app.yaml'], references: [] };
    const message =
      'nothing to grade for "Availability": it needs a workload that refers to a Secret or a SealedSecret in the manifests, and there is none';
    let result = scoreRubric(rubric, lint, { inventory: none });
    expect(result.criteria[0]).toMatchObject({ points: 0, status: 'failed', summary: message });
    expect(result.findings.map((f) => [f.checkId, f.message])).toEqual([[REQUIREMENT_CHECK_ID, message]]);

    // A Secret that is defined but nothing reads is not what `referenced: true` asks for.
    const unread = { ...none, objects: [deployment, { ...deployment, apiVersion: 'v1', kind: 'Secret', name: 's' }] };
    expect(scoreRubric(rubric, lint, { inventory: unread }).criteria[0]?.points).toBe(0);

    const reads: ManifestInventory = {
      ...none,
      references: [{ kind: 'Secret', name: 'web-secrets', location: at, defined: false, from: 'Deployment web' }],
    };
    result = scoreRubric(rubric, lint, { inventory: reads });
    expect(result.criteria[0]).toMatchObject({ points: 30, status: 'passed' });
    expect(result.findings).toEqual([]);

    // Met, and nothing else to examine: full points, and the summary says why.
    const sealed: ManifestInventory = {
      ...none,
      objects: [{ ...deployment, apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret' }],
    };
    const empty = lintOnly(
      stageWith(rubric, { 'lint/container-resources': { outcome: nothing }, 'lint/replicas': { outcome: nothing } }),
    );
    expect(scoreRubric(rubric, empty, { inventory: sealed }).criteria[0]).toMatchObject({
      points: 30,
      status: 'passed',
      summary:
        'nothing to examine besides what it requires, which is there (a SealedSecret): lint/container-resources: not applicable; lint/replicas: not applicable',
    });
    // Without an inventory (the lint stage did not read the manifests) it falls back to "something was examined".
    expect(scoreRubric(rubric, lint).criteria[0]?.points).toBe(30);
    expect(scoreRubric(rubric, empty).criteria[0]).toMatchObject({ points: 0, summary: message });
  });

  it('keeps skipped and not-gradable stages uncounted, and does not grade cluster criteria whose drills could not run', () => {
    const rubric = rubricWith(twoChecks);
    const skipped = scoreRubric(rubric, lintOnly({ status: 'skipped', runs: new Map(), message: '--lint none' }));
    expect(skipped.criteria[0]).toMatchObject({ status: 'skipped', points: 0 });
    expect(skipped.findings).toEqual([]);
    expect(skipped.maxPoints).toBe(0);

    const cluster = parseRubric(
      'apiVersion: labgrader.dev/v1\nkind: Rubric\nid: r\ntitle: R\ncriteria:\n  - id: drills\n    title: Drills\n    points: 15\n    checks: [cluster/pod-kill-recovery]\n',
      'r.yaml',
      envWithCluster,
    );
    const unsupported: Finding = {
      checkId: 'cluster/pod-kill-recovery',
      severity: 'info',
      message:
        'The pod-kill drill cannot run here: no permission to delete pods; cluster/pod-kill-recovery was not graded.',
      subject: 'pod-kill',
    };
    const result = scoreRubric(
      cluster,
      new Map<CheckStage, StageOutcome>([
        [
          'cluster',
          stageWith(cluster, { 'cluster/pod-kill-recovery': { outcome: { ...nothing, findings: [unsupported] } } }),
        ],
      ]),
    );
    expect(result.criteria[0]).toMatchObject({
      status: 'not-gradable',
      points: 0,
      summary: 'not graded: none of its checks could examine anything here (cluster/pod-kill-recovery: not applicable)',
    });
    expect(result).toMatchObject({ points: 0, maxPoints: 0 });
  });
});

describe('the tally agrees with the findings', () => {
  const warning = (subject?: string): Finding => ({
    checkId: 'lint/replicas',
    severity: 'warning',
    message: `${subject ?? 'something'} exposes no metrics`,
    ...(subject ? { subject } : {}),
  });

  it('a counted finding fails its subject even when the check counted it as passing (a raised severity)', () => {
    const rubric = rubricWith(twoChecks.replace('      - lint/container-resources\n', ''));
    // What lint/observability-metrics (info by default) reported under `severity: warning`.
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, {
          'lint/replicas': { outcome: { findings: [warning('Deployment web')], examined: 1, passed: 1 } },
        }),
      ),
    );
    expect(result.criteria[0]).toMatchObject({ points: 0, status: 'failed', summary: 'lint/replicas: 0/1 pass' });
    expect(result.criteria[0]?.checks[0]).toMatchObject({ examined: 1, passed: 0, findings: 1 });
  });

  it('findings of a check that examined nothing make it applicable, failing', () => {
    const rubric = rubricWith(twoChecks);
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, {
          'lint/container-resources': {
            outcome: { findings: [warning('a'), warning('b'), warning('a')], examined: 0, passed: 0 },
          },
          'lint/replicas': { outcome: { findings: [], examined: 2, passed: 2 } },
        }),
      ),
    );
    // container-resources 0/2, replicas (w2) 2/2 → 30 × 2/3
    expect(result.criteria[0]).toMatchObject({ points: 20, status: 'partial' });
    expect(result.criteria[0]?.checks[0]).toMatchObject({ examined: 2, passed: 0, findings: 3 });
    expect(result.findings.some((f) => f.checkId === REQUIREMENT_CHECK_ID)).toBe(false);
  });

  it('a finding without a subject still fails one; info findings fail nothing', () => {
    const rubric = rubricWith(twoChecks.replace('      - lint/container-resources\n', ''));
    const score = (outcome: CheckOutcome) =>
      scoreRubric(rubric, lintOnly(stageWith(rubric, { 'lint/replicas': { outcome } }))).criteria[0]!;
    expect(score({ findings: [warning()], examined: 4, passed: 4 })).toMatchObject({ points: 22.5 });
    expect(score({ findings: [{ ...warning('x'), severity: 'info' }], examined: 4, passed: 4 })).toMatchObject({
      points: 30,
      status: 'passed',
    });
  });

  it("does not trust a check's full-credit score next to a counted finding", () => {
    const rubric = rubricWith(twoChecks.replace('      - lint/container-resources\n', ''));
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, {
          'lint/replicas': { outcome: { findings: [warning('web')], examined: 2, passed: 2, score: 1 } },
        }),
      ),
    );
    expect(result.criteria[0]).toMatchObject({ points: 15, summary: 'lint/replicas: 1/2 pass' });
    expect(result.criteria[0]?.checks[0]).not.toHaveProperty('score');
    // A partial band credit with its warning is kept: it already costs.
    const banded = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, {
          'lint/replicas': { outcome: { findings: [warning('web')], examined: 1, passed: 0, score: 0.5 } },
        }),
      ),
    );
    expect(banded.criteria[0]).toMatchObject({ points: 15 });
  });

  it('never rounds less than full credit up to full points', () => {
    const rubric = rubricWith(twoChecks.replace('      - lint/container-resources\n', ''));
    const result = scoreRubric(
      rubric,
      lintOnly(
        stageWith(rubric, {
          'lint/replicas': { outcome: { findings: [warning('1 of 10000')], examined: 10_000, passed: 10_000 } },
        }),
      ),
    );
    expect(result.criteria[0]).toMatchObject({ points: 29.99, status: 'partial' });
  });

  it('keeps a finding counted in one criterion apart from the same one made informational in another', () => {
    const rubric = rubricWith(`  - id: counted
    title: Counted
    points: 10
    checks: [{ id: lint/replicas, severity: warning }]
  - id: informational
    title: Informational
    points: 10
    checks: [{ id: lint/replicas, severity: info }]
`);
    const runs = new Map<string, CheckRun>();
    for (const check of rubric.criteria.flatMap((c) => c.checks)) {
      const severity = check.severity ?? 'error';
      runs.set(configKey(check), {
        id: check.id,
        durationMs: 1,
        outcome: { findings: [{ ...warning('web'), severity }], examined: 1, passed: severity === 'info' ? 1 : 0 },
      });
    }
    const result = scoreRubric(rubric, lintOnly({ status: 'ok', runs }));
    expect(result.criteria.map((c) => [c.id, c.points])).toEqual([
      ['counted', 0],
      ['informational', 10],
    ]);
    expect(result.findings.map((f) => [f.severity, f.criteria])).toEqual([
      ['warning', ['counted']],
      ['info', ['informational']],
    ]);
  });
});

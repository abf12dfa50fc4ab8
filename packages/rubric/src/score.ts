/**
 * Scoring: pure functions from check outcomes to criterion results.
 *
 *  ratio (default)   points × weighted mean over applicable checks of passed/examined
 *                    (or of the check's own `score` in [0, 1], e.g. a recovery-time band)
 *  all-or-nothing    full points only if every applicable check passed everything
 *  deduct            points − perFinding × (error and warning findings), floored at 0
 *
 * A check that examined nothing is not applicable: it is left out of the
 * mean; a criterion whose checks are all not applicable gets full points.
 * When a criterion's stage did not run (skipped) or could not grade, or one
 * of its checks crashed, the criterion is not scored and not counted in the
 * maximum: the report says why instead of handing out an unfair zero.
 */
import type { CheckRun, CheckStage, CriterionResult, Finding, ReportFinding, StageStatus } from '@labgrader/core';
import { compareFindings } from '@labgrader/core';
import type { Criterion, Rubric, RubricCheck } from './load.js';

export interface StageOutcome {
  status: StageStatus;
  message?: string;
  /** Keyed by `configKey(check)`. */
  runs: ReadonlyMap<string, CheckRun>;
}

/** Identity of a configured check: the same check with other options or severity is another run. */
export function configKey(check: RubricCheck | { id: string; options: unknown; severity?: string }): string {
  return `${check.id}|${check.severity ?? ''}|${stableStringify(check.options)}`;
}

function stableStringify(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableStringify(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const round2 = (n: number) => Math.round(n * 100) / 100;

export interface ScoreResult {
  criteria: CriterionResult[];
  findings: ReportFinding[];
  points: number;
  maxPoints: number;
  percent: number;
}

function countsAgainst(f: Finding): boolean {
  return f.severity !== 'info';
}

function scoreOne(criterion: Criterion, stage: StageOutcome | undefined): CriterionResult {
  const base = {
    id: criterion.id,
    title: criterion.title,
    ...(criterion.description ? { description: criterion.description } : {}),
    stage: criterion.stage,
    maxPoints: criterion.points,
  };
  const summaries = criterion.checks.map((check) => {
    const run = stage?.runs.get(configKey(check));
    const outcome = run?.outcome;
    const examined = outcome?.examined ?? 0;
    const score = outcome?.score;
    return {
      id: check.id,
      examined,
      passed: Math.min(outcome?.passed ?? 0, examined),
      findings: outcome?.findings.filter(countsAgainst).length ?? 0,
      weight: check.weight,
      ...(examined > 0 && score !== undefined && Number.isFinite(score)
        ? { score: Math.min(1, Math.max(0, score)) }
        : {}),
      ...(outcome?.summary ? { summary: outcome.summary } : {}),
      ...(run?.error ? { error: run.error } : !run && stage?.status === 'ok' ? { error: 'check did not run' } : {}),
    };
  });
  /** A check's credit: its own score when it gives one (recovery-time bands), else the share of subjects passing. */
  const credit = (s: (typeof summaries)[number]) => s.score ?? s.passed / s.examined;

  if (!stage || stage.status === 'skipped') {
    return {
      ...base,
      points: 0,
      status: 'skipped',
      checks: summaries,
      summary: `not graded: the ${criterion.stage} stage did not run${stage?.message ? ` (${stage.message})` : ''}`,
    };
  }
  if (stage.status !== 'ok') {
    return {
      ...base,
      points: 0,
      status: 'not-gradable',
      checks: summaries,
      summary: `not graded: the ${criterion.stage} stage ${stage.status === 'timed-out' ? 'ran out of time' : stage.status === 'failed' ? 'failed' : 'could not grade this submission'}${stage.message ? `: ${stage.message}` : ''}`,
    };
  }
  const broken = summaries.filter((s) => s.error);
  if (broken.length > 0) {
    return {
      ...base,
      points: 0,
      status: 'not-gradable',
      checks: summaries,
      summary: `not graded: ${broken.map((b) => `${b.id} failed (${b.error})`).join('; ')}`,
    };
  }

  let fraction: number;
  const applicable = summaries.filter((s) => s.examined > 0);
  const scoring = criterion.scoring;
  if (scoring === 'ratio') {
    const totalWeight = applicable.reduce((sum, s) => sum + s.weight, 0);
    fraction = totalWeight === 0 ? 1 : applicable.reduce((sum, s) => sum + s.weight * credit(s), 0) / totalWeight;
  } else if (scoring === 'all-or-nothing') {
    fraction = applicable.every((s) => credit(s) >= 1) ? 1 : 0;
  } else {
    const findings = summaries.reduce((sum, s) => sum + s.findings, 0);
    fraction =
      criterion.points === 0 ? 1 : Math.max(0, criterion.points - scoring.perFinding * findings) / criterion.points;
  }
  const points = round2(criterion.points * fraction);
  const status = points >= criterion.points ? 'passed' : points <= 0 ? 'failed' : 'partial';
  const parts = summaries.map((s) =>
    s.summary
      ? `${s.id}: ${s.summary}`
      : s.examined === 0
        ? `${s.id}: not applicable`
        : s.score !== undefined
          ? `${s.id}: ${Math.round(s.score * 100)}% credit`
          : `${s.id}: ${s.passed}/${s.examined} pass`,
  );
  return { ...base, points, status, checks: summaries, summary: parts.join('; ') };
}

export function scoreRubric(rubric: Rubric, stages: ReadonlyMap<CheckStage, StageOutcome>): ScoreResult {
  const criteria = rubric.criteria.map((c) => scoreOne(c, stages.get(c.stage)));

  // Findings: each configured run once, tagged with every criterion that used it.
  const byKey = new Map<string, ReportFinding>();
  for (const criterion of rubric.criteria) {
    const stage = stages.get(criterion.stage);
    if (!stage || stage.status !== 'ok') continue;
    for (const check of criterion.checks) {
      for (const finding of stage.runs.get(configKey(check))?.outcome?.findings ?? []) {
        const key = `${finding.checkId}|${finding.location?.file}|${finding.location?.line}|${finding.location?.column}|${finding.message}`;
        const existing = byKey.get(key);
        if (existing) {
          if (!existing.criteria.includes(criterion.id)) existing.criteria.push(criterion.id);
        } else {
          byKey.set(key, { ...finding, criteria: [criterion.id] });
        }
      }
    }
  }
  const findings = [...byKey.values()].sort(compareFindings);
  const graded = criteria.filter((c) => c.status !== 'skipped' && c.status !== 'not-gradable');
  const points = round2(graded.reduce((s, c) => s + c.points, 0));
  const maxPoints = round2(graded.reduce((s, c) => s + c.maxPoints, 0));
  const percent = maxPoints === 0 ? 0 : Math.round((points / maxPoints) * 1000) / 10;
  return { criteria, findings, points, maxPoints, percent };
}
